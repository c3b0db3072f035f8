namespace Fsac.MLNet.Clip;

/// <summary>Numeric precision of a CLIP model's weights and activations.</summary>
public enum ClipPrecision
{
    /// <summary>Everything in float32 (exact reference behaviour).</summary>
    Float32,
    /// <summary>
    /// Weights and matmuls in bfloat16 (fast on CPUs with AMX/AVX512-BF16); LayerNorm and the
    /// attention softmax in float32; features returned as float32.
    /// </summary>
    BFloat16,
}
