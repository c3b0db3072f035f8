namespace Fsac.MLNet.Encoders;

/// <summary>
/// The inference engine that runs a frozen encoder's forward pass when no gradient is needed. Anything that needs
/// gradients (saliency) always runs on TorchSharp, whose network is the reference; both engines compute the same
/// features (to a relative 1e-5), so a model fitted on one scores the same on the other.
/// </summary>
public enum EncoderEngine
{
    /// <summary>
    /// The faster of the two on this machine, measured once (about a second) and cached per CPU, engine versions and
    /// thread count in the download cache (<c>encoder-engines.json</c>); TorchSharp where ONNX Runtime cannot run
    /// the encoder (bfloat16, no native ONNX Runtime), with the reason in <see cref="ResNet18Encoder.EngineReason"/>
    /// and <see cref="ClipEncoder.EngineReason"/>.
    /// </summary>
    Auto,

    /// <summary>libtorch through TorchSharp: every backbone and precision.</summary>
    TorchSharp,

    /// <summary>
    /// ONNX Runtime (CPU) on a graph of the network built in memory: ResNet18 and CLIP image towers in float32, and CLIP
    /// image towers in int8 (<see cref="EncoderPrecision.Int8"/>, which runs here only and so makes Auto mean this
    /// engine). Asking for it in bfloat16 throws <see cref="NotSupportedException"/>.
    /// </summary>
    OnnxRuntime,
}
