using Fsac.MLNet.Encoders.Onnx;
using Fsac.MLNet.Encoders.ResNet;
using Microsoft.ML.OnnxRuntime;
using TorchSharp;

namespace Fsac.MLNet.Encoders;

/// <summary>
/// The frozen forward pass of a <see cref="ResNetBackbone"/> on ONNX Runtime (CPU), for
/// <see cref="EncoderEngine.OnnxRuntime"/>: the network written op for op into an ONNX graph in memory
/// (<see cref="ResNetOnnxGraph.EncoderModel"/>) for any input size, one session per set of outputs and thread count
/// (<see cref="OnnxRuntimeSessions{TKey}"/>); the same input gives the same features bit for bit. Safe to call from
/// several threads.
/// </summary>
internal sealed class OnnxRuntimeResNet : IDisposable
{
    private readonly ResNetBackbone _backbone;
    private readonly OnnxRuntimeSessions<GraphKey> _sessions;

    private OnnxRuntimeResNet(ResNetBackbone backbone)
    {
        _backbone = backbone;
        // Images of any size share a session, so its arena and memory plans would keep the largest activations any size
        // needed; without them a fit peaked 40 to 70 MB lower at the same speed.
        _sessions = new OnnxRuntimeSessions<GraphKey>(k => ResNetOnnxGraph.EncoderModel(backbone, k.Pooled, k.Patches), reuseBuffers: false);
    }

    /// <summary>Runs <paramref name="backbone"/> (borrowed: it must outlive this object) on ONNX Runtime.</summary>
    /// <exception cref="DllNotFoundException">The native ONNX Runtime library is not there.</exception>
    /// <exception cref="TypeInitializationException">It could not be loaded or initialised.</exception>
    /// <exception cref="OnnxRuntimeException">It failed to start.</exception>
    public static OnnxRuntimeResNet Create(ResNetBackbone backbone)
    {
        ArgumentNullException.ThrowIfNull(backbone);
        _ = OrtEnv.Instance(); // loads the native library now, so that a missing one is reported here rather than at the first image
        return new OnnxRuntimeResNet(backbone);
    }

    /// <summary>
    /// The pooled features <c>[N, C]</c> and/or the patch grid <c>[N, C2 + C3, H/8, W/8]</c> of normalised float32
    /// <paramref name="pixels"/> <c>[N, 3, H, W]</c> (validated by the caller), as <see cref="ResNetBackbone.Features"/>
    /// computes them; new tensors in the caller's dispose scope, never requiring grad.
    /// </summary>
    public EncodedImages Encode(torch.Tensor pixels, EncoderOutputs outputs)
    {
        bool wantPooled = outputs.HasFlag(EncoderOutputs.Global), wantPatches = outputs.HasFlag(EncoderOutputs.Patches);
        long batch = pixels.shape[0];
        int height = checked((int)pixels.shape[2]), width = checked((int)pixels.shape[3]);
        var (gridHeight, gridWidth) = ResNetOnnxGraph.PatchGrid(_backbone.Config, height, width);
        var pooled = wantPooled ? torch.empty(batch, _backbone.Config.FeatureDim) : null;
        var patches = wantPatches ? torch.empty(batch, _backbone.PatchChannels, gridHeight, gridWidth) : null;
        if (batch == 0) return new EncodedImages(pooled, patches);

        using var input = pixels.detach().contiguous();
        var names = new List<string>(2);
        var targets = new List<torch.Tensor>(2);
        if (pooled is not null) { names.Add(ResNetOnnxGraph.PooledOutput); targets.Add(pooled); }
        if (patches is not null) { names.Add(ResNetOnnxGraph.PatchesOutput); targets.Add(patches); }
        _sessions.Run(new GraphKey(wantPooled, wantPatches), ResNetOnnxGraph.PixelsInput, input, names, targets);
        return new EncodedImages(pooled, patches);
    }

    /// <summary>Releases the sessions (the network stays with its owner).</summary>
    public void Dispose() => _sessions.Dispose();

    private readonly record struct GraphKey(bool Pooled, bool Patches);
}
