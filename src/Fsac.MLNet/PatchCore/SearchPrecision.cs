namespace Fsac.MLNet.PatchCore;

/// <summary>How the nearest memory patch is found.</summary>
public enum SearchPrecision
{
    /// <summary><see cref="BFloat16"/> where the CPU multiplies bfloat16 natively (AVX512-BF16, AMX), else <see cref="Float32"/>.</summary>
    Auto,

    /// <summary>Every distance in float32.</summary>
    Float32,

    /// <summary>
    /// Candidates from one bfloat16 product, then the exact float32 distance to each candidate: the reported distance is
    /// always a true float32 distance to a memory patch, and equals the exact nearest one unless bfloat16 rounding pushed
    /// the true neighbour out of the candidates.
    /// </summary>
    BFloat16,
}
