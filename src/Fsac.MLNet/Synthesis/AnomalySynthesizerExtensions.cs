using SixLabors.ImageSharp;
using SixLabors.ImageSharp.PixelFormats;

namespace Fsac.MLNet.Synthesis;

/// <summary>Conveniences over <see cref="IAnomalySynthesizer"/>.</summary>
internal static class AnomalySynthesizerExtensions
{
    /// <summary>
    /// Synthesizes from an image of any pixel format (greyscale, RGBA, ...): it is converted to RGB first (alpha
    /// dropped), and the anomaly is RGB.
    /// </summary>
    /// <param name="synthesizer">The synthesizer.</param>
    /// <param name="normal">The normal image, any pixel format (not modified).</param>
    /// <param name="rng">Source of randomness; the only one used.</param>
    /// <param name="context">Optional patch sources and foreground mask.</param>
    public static SyntheticAnomaly Synthesize(this IAnomalySynthesizer synthesizer, Image normal, Random rng, SynthesisContext? context = null)
    {
        ArgumentNullException.ThrowIfNull(synthesizer);
        ArgumentNullException.ThrowIfNull(normal);
        if (normal is Image<Rgb24> rgb) return synthesizer.Synthesize(rgb, rng, context);
        using var converted = normal.CloneAs<Rgb24>();
        return synthesizer.Synthesize(converted, rng, context);
    }
}
