using TorchSharp;

namespace Fsac.MLNet.Encoders.Onnx;

/// <summary>
/// What an engine's ONNX Runtime session is created from: the serialised model, and the weights it takes as inputs
/// (<see cref="WeightPlacement.Bound"/>), each a handle of its own to a contiguous float32 CPU tensor of the network,
/// so that the storage lives while this does.
/// </summary>
internal sealed class OnnxEngineModel : IDisposable
{
    /// <summary>Takes <paramref name="model"/> and ownership of the <paramref name="weights"/>' handles.</summary>
    public OnnxEngineModel(byte[] model, IReadOnlyList<KeyValuePair<string, torch.Tensor>> weights)
    {
        Model = model;
        Weights = weights;
    }

    /// <summary>The serialised ONNX model.</summary>
    public byte[] Model { get; }

    /// <summary>The graph inputs that are weights, by input name, to pass at every run.</summary>
    public IReadOnlyList<KeyValuePair<string, torch.Tensor>> Weights { get; }

    /// <summary>Releases the handles to the weights (the network keeps its own).</summary>
    public void Dispose()
    {
        foreach (var (_, tensor) in Weights) tensor.Dispose();
    }
}
