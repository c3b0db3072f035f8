using SixLabors.ImageSharp;
using SixLabors.ImageSharp.PixelFormats;

namespace Fsac.MLNet.Synthesis;

/// <summary>
/// Makes a synthetic anomalous image from a normal one (CLIP-FSAC §3.3, Eq. 1).
/// Implementations are deterministic given the random source's state and never modify their inputs.
/// </summary>
public interface IAnomalySynthesizer
{
    /// <summary>Short method name, e.g. <c>gaussian</c>, <c>uniform</c>, <c>nsa</c>, <c>cutpaste</c>.</summary>
    string Name { get; }

    /// <summary>Creates one anomalous version of <paramref name="normal"/>.</summary>
    /// <param name="normal">The normal image (not modified).</param>
    /// <param name="rng">Source of randomness; the only one used.</param>
    /// <param name="context">Optional other normal images (patch sources) and a foreground mask.</param>
    SyntheticAnomaly Synthesize(Image<Rgb24> normal, Random rng, SynthesisContext? context = null);
}

/// <summary>Extra inputs to a synthesizer.</summary>
/// <param name="Sources">Other normal images to take patches from (NSA, CutPaste); empty means the normal image itself.</param>
/// <param name="Foreground">Mask of the object (255 = object) restricting where anomalies go; null for textures.</param>
public sealed record SynthesisContext(IReadOnlyList<Image<Rgb24>> Sources, Image<L8>? Foreground = null);

/// <summary>A synthetic anomaly: the image and a mask marking exactly the changed pixels (255 = changed).</summary>
/// <param name="image">The anomalous image.</param>
/// <param name="mask">255 where a pixel differs from the input, 0 elsewhere.</param>
/// <param name="regions">The regions the synthesizer placed; null for none recorded.</param>
public sealed class SyntheticAnomaly(Image<Rgb24> image, Image<L8> mask, IReadOnlyList<SynthesizedRegion>? regions = null) : IDisposable
{
    /// <summary>The anomalous image, same size as the input.</summary>
    public Image<Rgb24> Image { get; } = image;

    /// <summary>255 where a pixel differs from the input, 0 elsewhere.</summary>
    public Image<L8> Mask { get; } = mask;

    /// <summary>The regions placed (rectangles and where their patches came from), in placement order.</summary>
    public IReadOnlyList<SynthesizedRegion> Regions { get; } = regions ?? [];

    /// <inheritdoc />
    public void Dispose()
    {
        Image.Dispose();
        Mask.Dispose();
    }
}
