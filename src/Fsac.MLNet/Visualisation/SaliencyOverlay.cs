using Fsac.MLNet.Classifiers;
using Fsac.MLNet.Files;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.PixelFormats;

namespace Fsac.MLNet.Visualisation;

/// <summary>
/// Draws an anomaly or saliency map (§3.5, Fig. 5) over its image: the map is scaled to a fixed range (for example
/// <see cref="Fsac.MLNet.Classifiers.FewShotAnomalyClassifier.MapRange"/>, so that red means "at the decision threshold" on
/// every image) or, without one, min–max normalised per image; then coloured with the jet colour map (blue = low,
/// red = high) and alpha-blended over the original.
/// </summary>
public static class SaliencyOverlay
{
    /// <summary>Renders the overlay as a new image (the caller disposes it).</summary>
    /// <param name="original">The image the map was computed for (not modified).</param>
    /// <param name="saliency">
    /// The map, row-major with the image's size (<c>[y * width + x]</c>), as
    /// <see cref="Fsac.MLNet.Classifiers.FsacClassifier.Saliency"/> returns it.
    /// </param>
    /// <param name="alpha">Opacity of the colour map, from 0 (original only) to 1 (map only).</param>
    /// <exception cref="ArgumentException">The map does not have width × height values.</exception>
    /// <param name="range">The map values drawn as blue and red (clipped beyond); null min–max normalises this map.</param>
    /// <exception cref="ArgumentOutOfRangeException">Alpha is outside [0, 1].</exception>
    public static Image<Rgb24> Render(Image<Rgb24> original, float[] saliency, float alpha = 0.5f, (float Low, float High)? range = null)
    {
        ArgumentNullException.ThrowIfNull(original);
        ArgumentNullException.ThrowIfNull(saliency);
        if (saliency.Length != original.Width * original.Height)
            throw new ArgumentException($"The map has {saliency.Length} values but the image has {original.Width}x{original.Height} pixels.", nameof(saliency));
        if (!(alpha >= 0f && alpha <= 1f)) throw new ArgumentOutOfRangeException(nameof(alpha), alpha, "must lie in [0, 1].");

        float min = float.PositiveInfinity, max = float.NegativeInfinity;
        foreach (var v in saliency)
        {
            min = Math.Min(min, v);
            max = Math.Max(max, v);
        }
        if (range is var (low, high) && high > low) (min, max) = (low, high);
        float span = max > min ? max - min : 1f;

        var result = original.Clone();
        result.ProcessPixelRows(rows =>
        {
            for (int y = 0; y < rows.Height; y++)
            {
                var row = rows.GetRowSpan(y);
                var values = saliency.AsSpan(y * row.Length, row.Length);
                for (int x = 0; x < row.Length; x++)
                {
                    var (r, g, b) = Jet(Math.Clamp((values[x] - min) / span, 0f, 1f));
                    row[x] = new Rgb24(Blend(row[x].R, r, alpha), Blend(row[x].G, g, alpha), Blend(row[x].B, b, alpha));
                }
            }
        });
        return result;
    }

    /// <summary>Renders the overlay and writes it as PNG to <paramref name="output"/>.</summary>
    public static void WritePng(Image<Rgb24> original, float[] saliency, Stream output, float alpha = 0.5f, (float Low, float High)? range = null)
    {
        ArgumentNullException.ThrowIfNull(output);
        using var overlay = Render(original, saliency, alpha, range);
        overlay.SaveAsPng(output);
    }

    /// <summary>Renders the overlay and writes it as a PNG file.</summary>
    public static void WritePng(Image<Rgb24> original, float[] saliency, string path, float alpha = 0.5f, (float Low, float High)? range = null)
        => Files.AtomicFile.Write(path, file => WritePng(original, saliency, file, alpha, range));

    /// <summary>The jet colour map at <paramref name="t"/> in [0, 1], channels in [0, 1].</summary>
    private static (float R, float G, float B) Jet(float t)
        => (Ramp(4f * t - 3f), Ramp(4f * t - 2f), Ramp(4f * t - 1f));

    private static float Ramp(float offset) => Math.Clamp(1.5f - Math.Abs(offset), 0f, 1f);

    private static byte Blend(byte original, float colour, float alpha)
        => (byte)Math.Clamp(MathF.Round((1f - alpha) * original + alpha * 255f * colour), 0f, 255f);
}
