using System.Runtime.InteropServices;

namespace Fsac.MLNet.Native;

/// <summary>
/// Hands the free pages of the C heap back to the system. libtorch and ONNX Runtime allocate tensors and activations
/// with <c>malloc</c>; glibc keeps freed blocks of up to 32 MB in its heaps for reuse, so after a fit the process holds
/// pages no tensor uses any more. <c>malloc_trim(0)</c> releases them (it changes no allocator setting and costs a few
/// milliseconds); elsewhere (other C libraries, other systems) this does nothing.
/// </summary>
internal static partial class NativeHeap
{
    private static bool s_unavailable = !OperatingSystem.IsLinux();

    /// <summary>Returns the C heap's free pages to the system where glibc is the C library; a no-op elsewhere.</summary>
    public static void ReleaseFreePages()
    {
        if (s_unavailable) return;
        try
        {
            _ = MallocTrim(0);
        }
        catch (Exception e) when (e is EntryPointNotFoundException or DllNotFoundException)
        {
            s_unavailable = true; // musl and others have no malloc_trim
        }
    }

    [LibraryImport("libc", EntryPoint = "malloc_trim")]
    private static partial int MallocTrim(nuint pad);
}
