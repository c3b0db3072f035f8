namespace Fsac.MLNet.Encoders.Onnx;

/// <summary>Where <see cref="OnnxGraphBuilder.Weight"/> puts a network's weight.</summary>
internal enum WeightPlacement
{
    /// <summary>Copied into the model as an initializer: the model stands alone (export).</summary>
    Copied,

    /// <summary>
    /// An initializer whose bytes are read from libtorch's memory when the model is serialised, before the builder is
    /// disposed: one copy fewer while the model is written, and ONNX Runtime may still fold and repack it.
    /// </summary>
    Viewed,

    /// <summary>
    /// A graph input of the weight's fixed shape, bound to libtorch's tensor at every run
    /// (<see cref="OnnxEngineModel.Weights"/>): neither the model nor the session holds a copy.
    /// </summary>
    Bound,
}
