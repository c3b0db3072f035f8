namespace Fsac.MLNet.Encoders;

/// <summary>Numeric precision an encoder computes in. Inputs and outputs stay float32 either way.</summary>
public enum EncoderPrecision
{
    /// <summary>Everything in float32: the reference precision.</summary>
    Float32,

    /// <summary>
    /// Weights and activations in bfloat16 (8-bit mantissa): less memory and faster on CPUs with bf16 support,
    /// at the cost of about three significant digits. Features are returned as float32.
    /// </summary>
    BFloat16,
}
