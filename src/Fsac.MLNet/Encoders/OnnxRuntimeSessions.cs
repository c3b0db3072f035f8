using System.Collections.Concurrent;
using System.Runtime.CompilerServices;
using Fsac.MLNet.Encoders.Onnx;
using Fsac.MLNet.Native;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using TorchSharp;

namespace Fsac.MLNet.Encoders;

/// <summary>
/// The ONNX Runtime (CPU) sessions of one frozen network, one per <typeparamref name="TKey"/> (what shapes the graph:
/// its outputs) and libtorch thread count, each created on first use from the model the factory writes
/// (<see cref="OnnxEngineModel"/>) and kept, with the weights it binds at every run, until disposal. Sessions run on as many intra-op threads as libtorch (<c>torch.get_num_threads()</c>
/// when the session is created), sequentially, with ONNX Runtime's full graph optimisation, and without spinning
/// between runs, so that their idle threads take no CPU from libtorch's. Sessions of one network share the weights ONNX
/// Runtime repacks for its kernels. Inputs and outputs stay in TorchSharp tensors, whose memory ONNX Runtime reads and
/// writes directly. Safe to call from several threads.
/// </summary>
/// <typeparam name="TKey">What the graph depends on, besides the thread count.</typeparam>
internal sealed class OnnxRuntimeSessions<TKey> : IDisposable where TKey : notnull
{
    // Serialised graphs of at least this size are garbage worth returning to the system once a session holds its copy.
    private const int LargeGraphBytes = 16 << 20;

    private readonly Func<TKey, OnnxEngineModel> _graph;
    private readonly bool _reuseBuffers;
    private readonly ConcurrentDictionary<(TKey Key, int Threads), Lazy<Session>> _sessions = new();
    private readonly PrePackedWeightsContainer _prepacked = new();
    private int _disposed;

    /// <summary>
    /// Sessions whose serialized ONNX model for a key is <paramref name="graph"/>'s. With <paramref name="reuseBuffers"/>
    /// they keep ONNX Runtime's arena and per-shape memory plans, which hold the largest activations any run needed;
    /// without, each run allocates its activations and returns them.
    /// </summary>
    public OnnxRuntimeSessions(Func<TKey, OnnxEngineModel> graph, bool reuseBuffers = true)
    {
        _graph = graph;
        _reuseBuffers = reuseBuffers;
    }

    /// <summary>
    /// Runs the session of <paramref name="key"/> on the contiguous float32 or int64 <paramref name="input"/>, writing the
    /// outputs <paramref name="outputNames"/> into the contiguous float32 <paramref name="targets"/> of their shapes.
    /// </summary>
    /// <exception cref="ObjectDisposedException">The sessions were released.</exception>
    public void Run(TKey key, string inputName, torch.Tensor input, IReadOnlyList<string> outputNames, IReadOnlyList<torch.Tensor> targets)
    {
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
        var session = _sessions.GetOrAdd((key, torch.get_num_threads()),
            k => new Lazy<Session>(() => Create(k.Key, k.Threads), LazyThreadSafetyMode.ExecutionAndPublication)).Value;
        var values = new List<OrtValue>(1 + targets.Count);
        try
        {
            var inputValue = Wrap(input);
            values.Add(inputValue);
            var outputValues = targets.Select(Wrap).ToList();
            values.AddRange(outputValues);
            using var run = new RunOptions();
            session.Ort.Run(run, [inputName, .. session.WeightNames], [inputValue, .. session.WeightValues], outputNames, outputValues);
        }
        finally
        {
            values.ForEach(v => v.Dispose());
        }
    }

    /// <summary>Releases the sessions and the repacked weights.</summary>
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0) return;
        foreach (var session in _sessions.Values.Where(s => s.IsValueCreated)) session.Value.Dispose();
        _sessions.Clear();
        _prepacked.Dispose();
    }

    // A serialised graph that holds the network's weights is as large as they are, and garbage once the session holds
    // its own copy.
    private Session Create(TKey key, int threads)
    {
        var (session, graphBytes) = CreateFromGraph(key, threads);
        if (graphBytes >= LargeGraphBytes) LargeGarbage.Release();
        return session;
    }

    // Apart, so that no stack slot of the caller keeps the serialised graph reachable.
    [MethodImpl(MethodImplOptions.NoInlining)]
    private (Session Session, int GraphBytes) CreateFromGraph(TKey key, int threads)
    {
        var model = _graph(key);
        try
        {
            return (new Session(CreateSession(model.Model, threads), model), model.Model.Length);
        }
        catch
        {
            model.Dispose();
            throw;
        }
    }

    private InferenceSession CreateSession(byte[] model, int threads)
    {
        using var options = new SessionOptions
        {
            IntraOpNumThreads = threads,
            InterOpNumThreads = 1,
            ExecutionMode = ExecutionMode.ORT_SEQUENTIAL,
            GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL,
            LogSeverityLevel = OrtLoggingLevel.ORT_LOGGING_LEVEL_ERROR,
        };
        if (!_reuseBuffers)
        {
            options.EnableCpuMemArena = false;
            options.EnableMemoryPattern = false;
        }
        options.AddSessionConfigEntry("session.intra_op.allow_spinning", "0");
        return new InferenceSession(model, options, _prepacked);
    }

    // One created session, with the weights its graph takes as inputs and their ONNX Runtime views, made once.
    private sealed class Session(InferenceSession ort, OnnxEngineModel model) : IDisposable
    {
        public InferenceSession Ort { get; } = ort;

        public string[] WeightNames { get; } = model.Weights.Select(w => w.Key).ToArray();

        public OrtValue[] WeightValues { get; } = model.Weights.Select(w => Wrap(w.Value)).ToArray();

        public void Dispose()
        {
            Ort.Dispose();
            foreach (var value in WeightValues) value.Dispose();
            model.Dispose();
        }
    }

    // An ONNX Runtime view of a contiguous float32 or int64 CPU tensor's memory: no copy; the tensor must outlive it.
    private static unsafe OrtValue Wrap(torch.Tensor tensor)
    {
        var type = tensor.dtype switch
        {
            torch.ScalarType.Float32 => TensorElementType.Float,
            torch.ScalarType.Int64 => TensorElementType.Int64,
            _ => throw new ArgumentException($"ONNX Runtime is given float32 or int64 tensors here, not {tensor.dtype}.", nameof(tensor)),
        };
        var bytes = tensor.bytes;
        fixed (byte* data = bytes)
            return OrtValue.CreateTensorValueWithData(OrtMemoryInfo.DefaultInstance, type, tensor.shape, (IntPtr)data, bytes.Length);
    }
}
