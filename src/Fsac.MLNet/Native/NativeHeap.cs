using System.Runtime.InteropServices;

namespace Fsac.MLNet.Native;

/// <summary>
/// Tuning of the C heap that libtorch allocates its CPU tensors from. After a large block is freed, glibc raises its
/// mmap threshold, so later blocks of a few MB (the 512×2048 adapter weights' gradients and Adam temporaries, encoder
/// activations) come from the heap and fragment it: a loop of many CLIP-FSAC fits grows its resident memory by
/// gigabytes although nothing leaks (measured: 3.6 GB after two 4-shot fits, 0.84 GB with a fixed 4 MB threshold).
/// </summary>
public static class NativeHeap
{
    private const int MmapThresholdParameter = -3; // M_MMAP_THRESHOLD in glibc's malloc.h

    /// <summary>The threshold <see cref="MapLargeBlocks"/> uses by default: 4 MiB.</summary>
    public const int DefaultThreshold = 4 << 20;

    /// <summary>
    /// Makes glibc serve every block of at least <paramref name="thresholdBytes"/> with its own memory mapping, returned
    /// to the system when freed, and stops the threshold from moving (<c>mallopt(M_MMAP_THRESHOLD, …)</c>). Process-wide:
    /// meant for applications such as the <c>fsac</c> tool, not called by the library itself. Returns false, and does
    /// nothing, where the C library is not glibc.
    /// </summary>
    public static bool MapLargeBlocks(int thresholdBytes = DefaultThreshold)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(thresholdBytes);
        if (!OperatingSystem.IsLinux()) return false;
        try
        {
            return MallOpt(MmapThresholdParameter, thresholdBytes) == 1;
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
        {
            return false;
        }
    }

    [DllImport("libc", EntryPoint = "mallopt")]
    private static extern int MallOpt(int parameter, int value);
}
