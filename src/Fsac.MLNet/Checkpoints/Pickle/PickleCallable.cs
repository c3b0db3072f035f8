namespace Fsac.MLNet.Checkpoints.Pickle;

/// <summary>The whitelisted callables a checkpoint pickle may invoke with REDUCE.</summary>
internal enum PickleCallable
{
    /// <summary><c>collections.OrderedDict</c>: builds an empty ordered dict.</summary>
    OrderedDict,

    /// <summary><c>torch._utils._rebuild_tensor_v2</c>: a view (offset, size, stride) of a storage.</summary>
    RebuildTensorV2,

    /// <summary><c>torch._utils._rebuild_parameter</c>: wraps a tensor as a parameter (the tensor is kept).</summary>
    RebuildParameter,
}
