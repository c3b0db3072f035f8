using Fsac.MLNet.Encoders.Onnx;
using Fsac.MLNet.Encoders.ResNet;
using Fsac.MLNet.Native;
using System.Collections.Concurrent;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using TorchSharp;

namespace Fsac.MLNet.Encoders;

/// <summary>
/// The frozen forward pass of a <see cref="ResNetBackbone"/> on ONNX Runtime (CPU), for
/// <see cref="EncoderEngine.OnnxRuntime"/>: the network written op for op into an ONNX graph in memory
/// (<see cref="ResNetOnnxGraph.EncoderModel"/>), one <see cref="InferenceSession"/> per input size, outputs and thread
/// count, created on first use and kept until disposal. Sessions run on as many intra-op threads as libtorch
/// (<c>torch.get_num_threads()</c> when the session is created), sequentially, with ONNX Runtime's full graph
/// optimisation; the same input gives the same features bit for bit. With <see cref="EncoderPrecision.Int8"/> each graph is
/// quantized (<see cref="OnnxQuantization"/>; 7-bit weights on x86 CPUs without VNNI) before its session is created.
/// Pixels and features stay in TorchSharp tensors: ONNX Runtime reads and writes their memory directly. Safe to call
/// from several threads.
/// </summary>
internal sealed class OnnxRuntimeResNet : IDisposable
{
    private readonly ResNetBackbone _backbone;
    private readonly EncoderPrecision _precision;
    private readonly ConcurrentDictionary<SessionKey, Lazy<InferenceSession>> _sessions = new();
    // Sessions of one network at different sizes share the weights ONNX Runtime repacks for its kernels.
    private readonly PrePackedWeightsContainer _prepacked = new();
    private int _disposed;

    private OnnxRuntimeResNet(ResNetBackbone backbone, EncoderPrecision precision) => (_backbone, _precision) = (backbone, precision);

    /// <summary>The native ONNX Runtime's version, e.g. <c>1.31.1</c>.</summary>
    public static string Version => OrtEnv.Instance().GetVersionString();

    /// <summary>
    /// Runs <paramref name="backbone"/> (borrowed: it must outlive this object) on ONNX Runtime in <paramref name="precision"/>:
    /// float32, or int8 (<see cref="EncoderPrecision.Int8"/>).
    /// </summary>
    /// <exception cref="NotSupportedException"><paramref name="precision"/> is bfloat16, which ONNX Runtime does not run.</exception>
    /// <exception cref="DllNotFoundException">The native ONNX Runtime library is not there.</exception>
    /// <exception cref="TypeInitializationException">It could not be loaded or initialised.</exception>
    /// <exception cref="OnnxRuntimeException">It failed to start.</exception>
    public static OnnxRuntimeResNet Create(ResNetBackbone backbone, EncoderPrecision precision = EncoderPrecision.Float32)
    {
        ArgumentNullException.ThrowIfNull(backbone);
        if (precision is not (EncoderPrecision.Float32 or EncoderPrecision.Int8))
            throw new NotSupportedException($"The ONNX Runtime engine runs float32 and int8; EncoderPrecision.{precision} runs on EncoderEngine.TorchSharp.");
        _ = Version; // loads the native library now, so that a missing one is reported here rather than at the first image
        return new OnnxRuntimeResNet(backbone, precision);
    }

    /// <summary>
    /// The pooled features <c>[N, C]</c> and/or the patch grid <c>[N, C2 + C3, H/8, W/8]</c> of normalised float32
    /// <paramref name="pixels"/> <c>[N, 3, H, W]</c> (validated by the caller), as <see cref="ResNetBackbone.Features"/>
    /// computes them; new tensors in the caller's dispose scope, never requiring grad.
    /// </summary>
    public EncodedImages Encode(torch.Tensor pixels, EncoderOutputs outputs)
    {
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
        bool wantPooled = outputs.HasFlag(EncoderOutputs.Global), wantPatches = outputs.HasFlag(EncoderOutputs.Patches);
        long batch = pixels.shape[0];
        int height = checked((int)pixels.shape[2]), width = checked((int)pixels.shape[3]);
        var (gridHeight, gridWidth) = ResNetOnnxGraph.PatchGrid(_backbone.Config, height, width);
        var pooled = wantPooled ? torch.empty(batch, _backbone.Config.FeatureDim) : null;
        var patches = wantPatches ? torch.empty(batch, _backbone.PatchChannels, gridHeight, gridWidth) : null;
        if (batch == 0) return new EncodedImages(pooled, patches);

        var session = Session(new SessionKey(height, width, wantPooled, wantPatches, torch.get_num_threads()));
        using var input = pixels.detach().contiguous();
        var names = new List<string>(2);
        var targets = new List<torch.Tensor>(2);
        if (pooled is not null) { names.Add(ResNetOnnxGraph.PooledOutput); targets.Add(pooled); }
        if (patches is not null) { names.Add(ResNetOnnxGraph.PatchesOutput); targets.Add(patches); }
        var values = new List<OrtValue>(3);
        try
        {
            var inputValue = Wrap(input);
            values.Add(inputValue);
            var outputValues = targets.Select(Wrap).ToList();
            values.AddRange(outputValues);
            using var run = new RunOptions();
            session.Run(run, [ResNetOnnxGraph.PixelsInput], [inputValue], names, outputValues);
        }
        finally
        {
            values.ForEach(v => v.Dispose());
        }
        return new EncodedImages(pooled, patches);
    }

    /// <summary>Releases the sessions (the network stays with its owner).</summary>
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0) return;
        foreach (var session in _sessions.Values.Where(s => s.IsValueCreated)) session.Value.Dispose();
        _sessions.Clear();
        _prepacked.Dispose();
    }

    private InferenceSession Session(SessionKey key)
        => _sessions.GetOrAdd(key, k => new Lazy<InferenceSession>(() => CreateSession(k), LazyThreadSafetyMode.ExecutionAndPublication)).Value;

    private InferenceSession CreateSession(SessionKey key)
    {
        int? int8Range = _precision != EncoderPrecision.Int8 ? null
            : CpuFeatures.HasExactInt8Products ? OnnxQuantization.FullRange : OnnxQuantization.ReducedRange;
        var model = ResNetOnnxGraph.EncoderModel(_backbone, key.Height, key.Width, key.Pooled, key.Patches, int8Range);
        using var options = new SessionOptions
        {
            IntraOpNumThreads = key.Threads,
            InterOpNumThreads = 1,
            ExecutionMode = ExecutionMode.ORT_SEQUENTIAL,
            GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL,
            LogSeverityLevel = OrtLoggingLevel.ORT_LOGGING_LEVEL_ERROR,
        };
        return new InferenceSession(model, options, _prepacked);
    }

    // An ONNX Runtime view of a contiguous float32 CPU tensor's memory: no copy; the tensor must outlive it.
    private static unsafe OrtValue Wrap(torch.Tensor tensor)
    {
        var bytes = tensor.bytes;
        fixed (byte* data = bytes)
            return OrtValue.CreateTensorValueWithData(OrtMemoryInfo.DefaultInstance, TensorElementType.Float, tensor.shape, (IntPtr)data, bytes.Length);
    }

    private readonly record struct SessionKey(int Height, int Width, bool Pooled, bool Patches, int Threads);
}
