namespace Fsac.MLNet.Native;

/// <summary>What the processor offers beyond the baseline instruction set, as far as the library's numerics care.</summary>
internal static class CpuFeatures
{
    private static readonly Lazy<bool> BFloat16 = new(ProbeBFloat16);
    private static readonly Lazy<bool> Int8 = new(ProbeInt8);

    /// <summary>
    /// True where the CPU multiplies bfloat16 natively (AVX512-BF16 or AMX-BF16), so that libtorch's bfloat16 matrix
    /// products run several times faster than float32 ones; elsewhere they are emulated and slower. Read from the
    /// kernel's CPU flags on Linux; false on other systems.
    /// </summary>
    public static bool HasNativeBFloat16 => BFloat16.Value;

    /// <summary>
    /// True where ONNX Runtime's uint8 × int8 kernels add their products exactly: x86 CPUs with an int8 dot-product
    /// instruction (AVX512-VNNI, AVX-VNNI or AMX-INT8) and every other architecture. x86 CPUs without one (plain AVX2 or
    /// AVX512) add pairs of products in saturating 16-bit arithmetic, so int8 weights there keep to 7 bits
    /// (<see cref="Encoders.Onnx.OnnxQuantization.ReducedRange"/>). Read from the kernel's CPU flags on Linux, from .NET's
    /// AVX-VNNI probe elsewhere.
    /// </summary>
    public static bool HasExactInt8Products => Int8.Value;

    /// <summary>Whether a <c>/proc/cpuinfo</c> text lists a native bfloat16 dot-product instruction.</summary>
    public static bool ListsBFloat16(string cpuinfo) => ListsAny(cpuinfo, "avx512_bf16", "amx_bf16");

    /// <summary>Whether a <c>/proc/cpuinfo</c> text lists an int8 dot-product instruction (VNNI or AMX-INT8).</summary>
    public static bool ListsInt8DotProduct(string cpuinfo) => ListsAny(cpuinfo, "avx512_vnni", "avx_vnni", "amx_int8");

    private static bool ListsAny(string cpuinfo, params string[] wanted)
    {
        ArgumentNullException.ThrowIfNull(cpuinfo);
        foreach (var line in cpuinfo.Split('\n'))
        {
            if (!line.StartsWith("flags", StringComparison.Ordinal)) continue;
            var flags = line[(line.IndexOf(':') + 1)..].Split(' ', StringSplitOptions.RemoveEmptyEntries);
            return wanted.Any(flags.Contains);
        }
        return false;
    }

    private static bool ProbeBFloat16() => OperatingSystem.IsLinux() && CpuInfo() is { } cpuinfo && ListsBFloat16(cpuinfo);

    private static bool ProbeInt8()
    {
        if (System.Runtime.InteropServices.RuntimeInformation.ProcessArchitecture is not
            (System.Runtime.InteropServices.Architecture.X64 or System.Runtime.InteropServices.Architecture.X86)) return true;
        return OperatingSystem.IsLinux() && CpuInfo() is { } cpuinfo ? ListsInt8DotProduct(cpuinfo) : System.Runtime.Intrinsics.X86.AvxVnni.IsSupported;
    }

    private static string? CpuInfo()
    {
        try
        {
            return File.ReadAllText("/proc/cpuinfo");
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }
}
