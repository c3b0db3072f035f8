using Fsac.MLNet.Checkpoints;
using Fsac.MLNet.Head;
using TorchSharp;
using static TorchSharp.torch;

namespace Fsac.MLNet.Classifiers;

/// <summary>Restores a saved <see cref="FsacHead"/> and its raw anchors, checking every tensor before it is used.</summary>
internal static class FsacHeadFile
{
    /// <summary>
    /// A frozen head of width <paramref name="featureDim"/> built from <paramref name="options"/> with the weights of
    /// <paramref name="data"/>, and the raw anchors stored under <paramref name="anchorsKey"/> (the caller disposes both).
    /// </summary>
    /// <exception cref="CheckpointFormatException">A tensor is missing, unexpected, or of the wrong type or shape.</exception>
    public static FsacHead Load(IReadOnlyDictionary<string, TensorData> data, long featureDim, FsacOptions options, string anchorsKey, string source, out Tensor anchors)
    {
        // The head's size follows from its options: bound them before anything is built.
        if (options.ImageAdapterBlocks > 16)
            throw new CheckpointFormatException(source, $"its image adapter has {options.ImageAdapterBlocks} blocks; at most 16 are accepted.");
        if (featureDim > 8192)
            throw new CheckpointFormatException(source, $"its features are {featureDim}-d; at most 8192 are accepted.");
        var head = new FsacHead(featureDim, options);
        try
        {
            using var scope = NewDisposeScope();
            var expected = head.state_dict();
            Check(data, anchorsKey, [2, featureDim], source);
            foreach (var (name, parameter) in expected) Check(data, name, parameter.shape, source);
            var unknown = data.Keys.Except(expected.Keys).Where(k => k != anchorsKey).ToList();
            if (unknown.Count > 0)
                throw new CheckpointFormatException(source, $"unexpected tensors in the weights: {string.Join(", ", unknown)}.");
            var loaded = expected.Keys.ToDictionary(k => k, k => data[k].ToTensor());
            using (no_grad())
                head.load_state_dict(loaded);
            foreach (var p in head.parameters()) p.requires_grad = false;
            anchors = data[anchorsKey].ToTensor().DetachFromDisposeScope();
            return head;
        }
        catch
        {
            head.Dispose();
            throw;
        }
    }

    private static void Check(IReadOnlyDictionary<string, TensorData> data, string name, long[] shape, string source)
    {
        if (!data.TryGetValue(name, out var t))
            throw new CheckpointFormatException(source, $"the weights lack tensor '{name}'.");
        if (t.DType != ScalarType.Float32 || !t.Shape.SequenceEqual(shape))
            throw new CheckpointFormatException(source, $"tensor '{name}' is {t.DType} [{string.Join(", ", t.Shape)}] but the head needs Float32 [{string.Join(", ", shape)}].");
    }
}
