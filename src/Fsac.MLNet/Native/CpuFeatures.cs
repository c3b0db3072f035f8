namespace Fsac.MLNet.Native;

/// <summary>What the processor offers beyond the baseline instruction set, as far as the library's numerics care.</summary>
internal static class CpuFeatures
{
    private static readonly Lazy<bool> BFloat16 = new(ProbeBFloat16);

    /// <summary>
    /// True where the CPU multiplies bfloat16 natively (AVX512-BF16 or AMX-BF16), so that libtorch's bfloat16 matrix
    /// products run several times faster than float32 ones; elsewhere they are emulated and slower. Read from the
    /// kernel's CPU flags on Linux; false on other systems.
    /// </summary>
    public static bool HasNativeBFloat16 => BFloat16.Value;

    /// <summary>Whether a <c>/proc/cpuinfo</c> text lists a native bfloat16 dot-product instruction.</summary>
    public static bool ListsBFloat16(string cpuinfo)
    {
        ArgumentNullException.ThrowIfNull(cpuinfo);
        foreach (var line in cpuinfo.Split('\n'))
        {
            if (!line.StartsWith("flags", StringComparison.Ordinal)) continue;
            var flags = line[(line.IndexOf(':') + 1)..].Split(' ', StringSplitOptions.RemoveEmptyEntries);
            return flags.Contains("avx512_bf16") || flags.Contains("amx_bf16");
        }
        return false;
    }

    private static bool ProbeBFloat16()
    {
        if (!OperatingSystem.IsLinux()) return false;
        try
        {
            return ListsBFloat16(File.ReadAllText("/proc/cpuinfo"));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return false;
        }
    }
}
