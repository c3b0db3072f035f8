using System.Collections.Concurrent;
using System.Runtime.CompilerServices;
using Fsac.MLNet.Native;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using TorchSharp;

namespace Fsac.MLNet.Encoders;

/// <summary>
/// The ONNX Runtime (CPU) sessions of one frozen network, one per <typeparamref name="TKey"/> (what shapes the graph:
/// its outputs) and libtorch thread count, each created on first use from the serialized graph the factory
/// writes and kept until disposal. Sessions run on as many intra-op threads as libtorch (<c>torch.get_num_threads()</c>
/// when the session is created), sequentially, with ONNX Runtime's full graph optimisation, and without spinning
/// between runs, so that their idle threads take no CPU from libtorch's. Sessions of one network share the weights ONNX
/// Runtime repacks for its kernels. Inputs and outputs stay in TorchSharp tensors, whose memory ONNX Runtime reads and
/// writes directly. Safe to call from several threads.
/// </summary>
/// <typeparam name="TKey">What the graph depends on, besides the thread count.</typeparam>
internal sealed class OnnxRuntimeSessions<TKey> : IDisposable where TKey : notnull
{
    private readonly Func<TKey, byte[]> _graph;
    private readonly bool _reuseBuffers;
    private readonly ConcurrentDictionary<(TKey Key, int Threads), Lazy<InferenceSession>> _sessions = new();
    private readonly PrePackedWeightsContainer _prepacked = new();
    private int _disposed;

    /// <summary>
    /// Sessions whose serialized ONNX model for a key is <paramref name="graph"/>'s. With <paramref name="reuseBuffers"/>
    /// they keep ONNX Runtime's arena and per-shape memory plans, which hold the largest activations any run needed;
    /// without, each run allocates its activations and returns them.
    /// </summary>
    public OnnxRuntimeSessions(Func<TKey, byte[]> graph, bool reuseBuffers = true)
    {
        _graph = graph;
        _reuseBuffers = reuseBuffers;
    }

    /// <summary>
    /// Runs the session of <paramref name="key"/> on the contiguous float32 <paramref name="input"/>, writing the
    /// outputs <paramref name="outputNames"/> into the contiguous float32 <paramref name="targets"/> of their shapes.
    /// </summary>
    /// <exception cref="ObjectDisposedException">The sessions were released.</exception>
    public void Run(TKey key, string inputName, torch.Tensor input, IReadOnlyList<string> outputNames, IReadOnlyList<torch.Tensor> targets)
    {
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
        var session = _sessions.GetOrAdd((key, torch.get_num_threads()),
            k => new Lazy<InferenceSession>(() => Create(k.Key, k.Threads), LazyThreadSafetyMode.ExecutionAndPublication)).Value;
        var values = new List<OrtValue>(1 + targets.Count);
        try
        {
            var inputValue = Wrap(input);
            values.Add(inputValue);
            var outputValues = targets.Select(Wrap).ToList();
            values.AddRange(outputValues);
            using var run = new RunOptions();
            session.Run(run, [inputName], [inputValue], outputNames, outputValues);
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

    // The serialised graph, as large as the network's weights, is garbage once the session holds its own copy.
    private InferenceSession Create(TKey key, int threads)
    {
        var session = CreateFromGraph(key, threads);
        LargeGarbage.Release();
        return session;
    }

    // Apart, so that no stack slot of the caller keeps the serialised graph reachable.
    [MethodImpl(MethodImplOptions.NoInlining)]
    private InferenceSession CreateFromGraph(TKey key, int threads)
    {
        var model = _graph(key);
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

    // An ONNX Runtime view of a contiguous float32 CPU tensor's memory: no copy; the tensor must outlive it.
    private static unsafe OrtValue Wrap(torch.Tensor tensor)
    {
        var bytes = tensor.bytes;
        fixed (byte* data = bytes)
            return OrtValue.CreateTensorValueWithData(OrtMemoryInfo.DefaultInstance, TensorElementType.Float, tensor.shape, (IntPtr)data, bytes.Length);
    }
}
