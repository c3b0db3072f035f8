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
    /// ResNet18 on ONNX Runtime only (<see cref="EncoderEngine.OnnxRuntime"/>, which <see cref="EncoderEngine.Auto"/> then
    /// means): the graph dynamically quantized (<c>Encoders.Onnx.OnnxQuantization</c>), weights to int8 with one scale per
    /// output channel, activations to uint8 with one scale per tensor and run, integer convolutions and matrix products
    /// (VNNI where the CPU has it). Measured against float32 on real images (solar cells, circuit boards, cookies): cosine
    /// 0.9945 or more for pooled and 0.993 or more for patch features, but the default method's I-AUROC fell by up to 1.8
    /// points on the circuit boards (deeppcb, 4 shots), and ResNet18 ran at 0.55x to 0.75x of float32's speed on ONNX
    /// Runtime: not the default, and not recommended (see the README's "Reduced precision"). Features are returned as
    /// float32; passes that need gradients run on TorchSharp in float32. CLIP backbones and the TorchSharp engine refuse it
    /// with <see cref="NotSupportedException"/>.
    /// </summary>
    Int8,
}
