namespace Fsac.MLNet.Native;

/// <summary>
/// Hands memory back to the system after a one-time step that left garbage as large as a model: a checkpoint read into
/// managed arrays and copied into libtorch's tensors, or a serialised ONNX graph that ONNX Runtime has parsed. The .NET
/// garbage collector would free those arrays at some later collection but keep their pages for reuse, and glibc keeps
/// the freed native blocks; both would stay in the resident memory of the fit or scoring that follows. Loading
/// ViT-B-16-plus-240 (830 MB of float32 weights) left 1.81 GB resident; after <see cref="Release"/>, 1.0 GB.
/// </summary>
internal static class LargeGarbage
{
    /// <summary>
    /// A blocking, compacting full collection that returns the freed pages (<see cref="GCCollectionMode.Aggressive"/>),
    /// then the C heap's free pages (<see cref="NativeHeap.ReleaseFreePages"/>). For one-time steps only: it costs a
    /// full collection.
    /// </summary>
    public static void Release()
    {
        GC.Collect(GC.MaxGeneration, GCCollectionMode.Aggressive, blocking: true, compacting: true);
        NativeHeap.ReleaseFreePages();
    }
}
