namespace Fsac.MLNet.Encoders;

/// <summary>Numeric precision a frozen encoder computes in. Inputs and outputs stay float32 either way.</summary>
public enum EncoderPrecision
{
    /// <summary>Everything in float32: the reference precision.</summary>
    Float32,

    /// <summary>
    /// Weights and matmuls in bfloat16 (fast on CPUs with AMX/AVX512-BF16, less memory), at the cost of about
    /// three significant digits. CLIP keeps its LayerNorms in float32. Features are returned as float32.
    /// </summary>
    BFloat16,
}
