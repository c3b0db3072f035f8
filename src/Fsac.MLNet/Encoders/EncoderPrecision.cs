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

    /// <summary>
    /// CLIP image towers on ONNX Runtime only (<see cref="EncoderEngine.OnnxRuntime"/>, which <see cref="EncoderEngine.Auto"/>
    /// then means): the tower's graph dynamically quantized (<c>Encoders.Onnx.OnnxQuantization</c>), weights to int8 with
    /// one scale per output channel, activations to uint8 with one scale per tensor and run, integer matrix products
    /// (VNNI where the CPU has it). The weights stay float32 for what runs on TorchSharp (gradients, the text tower).
    /// Measured: cosine to float32 of 0.9998 or more on the reference CLIPs (random weights) and about three times the
    /// float32 speed of ONNX Runtime on ViT-B-16-plus-240; its effect on accuracy with trained weights is not measured
    /// (README, "Reduced precision"). Not offered for ResNet18, where it cost up to 1.8 I-AUROC points and ran slower than
    /// float32 (<see cref="NotSupportedException"/>). Features are returned as float32.
    /// </summary>
    Int8,
}
