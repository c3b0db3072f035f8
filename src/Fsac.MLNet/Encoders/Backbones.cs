using Fsac.MLNet.Native;

namespace Fsac.MLNet.Encoders;

/// <summary>
/// Turns a backbone specification into an encoder. A specification is one of:
/// <list type="bullet">
/// <item><c>resnet18</c>: the offline ImageNet ResNet18 shipped with Microsoft.ML.DnnImageFeaturizer.ResNet18 (image-only);</item>
/// <item>a folder holding an OpenCLIP model (<c>open_clip_config.json</c>, weights, vocabulary);</item>
/// <item><c>name:tag</c>: published CLIP weights, e.g. <c>ViT-B-16-plus-240:laion400m_e31</c> (downloaded once into the cache).</item>
/// </list>
/// </summary>
public static class Backbones
{
    /// <summary>The offline default.</summary>
    public const string Default = "resnet18";

    /// <summary>
    /// Creates the encoder <paramref name="spec"/> names, loading libtorch first (<see cref="TorchRuntime.EnsureLoaded"/>).
    /// The encoder runs its frozen passes on <paramref name="engine"/> (<see cref="ResNet18Encoder.Engine"/>,
    /// <see cref="ClipEncoder.Engine"/>).
    /// </summary>
    /// <exception cref="ArgumentException">The specification is none of the accepted forms; the message lists them.</exception>
    /// <exception cref="NativeRuntimeException">libtorch could not be loaded; the message names the fix.</exception>
    /// <exception cref="NotSupportedException">
    /// <see cref="EncoderEngine.OnnxRuntime"/> was asked for with bfloat16, int8 on <see cref="EncoderEngine.TorchSharp"/> or
    /// for ResNet18, or ONNX Runtime is unavailable where it is needed.
    /// </exception>
    public static IImageEncoder Create(string spec, EncoderPrecision precision = EncoderPrecision.Float32, EncoderEngine engine = EncoderEngine.Auto)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(spec);
        TorchRuntime.EnsureLoaded();
        if (spec.Equals(Default, StringComparison.OrdinalIgnoreCase)) return ResNet18Encoder.LoadDefault(precision, engine);
        if (Directory.Exists(spec)) return ClipEncoder.Load(spec, precision, engine: engine);
        var colon = spec.IndexOf(':');
        if (colon > 0 && !Path.IsPathRooted(spec))
            return ClipEncoder.FromPretrained(spec[..colon], spec[(colon + 1)..], precision, engine);
        throw new ArgumentException(
            $"Unknown backbone '{spec}'. Use '{Default}', a folder with an OpenCLIP model (open_clip_config.json, weights, vocabulary), " +
            $"or published weights as name:tag, e.g. ViT-B-16-plus-240:laion400m_e31.", nameof(spec));
    }
}
