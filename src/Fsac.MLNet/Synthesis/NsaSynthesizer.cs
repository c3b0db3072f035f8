using SixLabors.ImageSharp;
using SixLabors.ImageSharp.PixelFormats;

namespace Fsac.MLNet.Synthesis;

/// <summary>
/// Natural Synthetic Anomalies (Schlüter et al., ECCV 2022) as the CLIP-FSAC authors used them for VisA: 1 to
/// <see cref="NsaOptions.MaxPatches"/> patches, each cut from a normal image (a random one of
/// <see cref="SynthesisContext.Sources"/>, else the image itself), resized, placed elsewhere (on the object when a
/// foreground mask is given) and Poisson-blended ("normal clone", per channel, see <see cref="PoissonBlending"/>).
/// Blending keeps the patch's texture but takes its surroundings' colour at the border, so some pixels of a patch
/// may stay as they were; the mask marks exactly those that changed.
/// </summary>
internal sealed class NsaSynthesizer : IAnomalySynthesizer
{
    /// <summary>Creates the synthesizer.</summary>
    /// <param name="options">Options; null for the defaults.</param>
    /// <exception cref="ArgumentOutOfRangeException">An option is out of range.</exception>
    public NsaSynthesizer(NsaOptions? options = null)
    {
        Options = options ?? new NsaOptions();
        Options.Validate();
    }

    /// <summary>The options in use.</summary>
    public NsaOptions Options { get; }

    /// <inheritdoc />
    public string Name => "nsa";

    /// <inheritdoc />
    /// <exception cref="ArgumentException">The image is smaller than 3x3 (a blended patch needs a one-pixel border).</exception>
    public SyntheticAnomaly Synthesize(Image<Rgb24> normal, Random rng, SynthesisContext? context = null)
    {
        ArgumentNullException.ThrowIfNull(normal);
        if (normal.Width < 3 || normal.Height < 3)
            throw new ArgumentException(
                $"NSA needs an image of at least 3x3 pixels (a blended patch needs a one-pixel border); got {normal.Width}x{normal.Height}.",
                nameof(normal));
        using var sources = new PatchSources(normal, context?.Sources);
        return SynthesisRunner.Run(Name, normal, rng, context, (work, placement, random) => Attempt(work, placement, random, sources));
    }

    private List<SynthesizedRegion>? Attempt(RgbBuffer work, Placement placement, Random rng, PatchSources sources)
    {
        int count = rng.Next(1, Options.MaxPatches + 1);
        var regions = new List<SynthesizedRegion>(count);
        for (int p = 0; p < count; p++)
        {
            var (source, index) = sources.Pick(rng);
            int width = Side(rng, work.Width), height = Side(rng, work.Height);
            double factor = RandomSampling.Uniform(rng, Options.MinResize, Options.MaxResize);
            int cutWidth = Math.Clamp((int)Math.Round(width / factor), 1, source.Width);
            int cutHeight = Math.Clamp((int)Math.Round(height / factor), 1, source.Height);
            Rectangle cut;
            if (placement.HasForeground && source.Width == work.Width && source.Height == work.Height)
            {
                var placed = placement.TryPlace(rng, cutWidth, cutHeight, 0, Options.MinForegroundOverlap);
                if (placed is null) return null;
                cut = placed.Value;
            }
            else
            {
                cut = new Rectangle(rng.Next(source.Width - cutWidth + 1), rng.Next(source.Height - cutHeight + 1), cutWidth, cutHeight);
            }
            var target = placement.TryPlace(rng, width, height, 1, Options.MinForegroundOverlap);
            if (target is null) return null;
            BlendPatch(work, source, cut, target.Value);
            regions.Add(new SynthesizedRegion(target.Value, cut, index));
        }
        return regions;
    }

    /// <summary>A patch side in pixels: a truncated shifted Gamma fraction of <paramref name="imageSide"/>, inside the one-pixel border.</summary>
    private int Side(Random rng, int imageSide)
    {
        double fraction = RandomSampling.TruncatedGamma(
            rng, Options.GammaShape, Options.GammaScale, Options.GammaLocation, Options.MinSizeFraction, Options.MaxSizeFraction);
        return Math.Clamp((int)Math.Round(fraction * imageSide), 1, imageSide - 2);
    }

    /// <summary>
    /// Resamples <paramref name="cut"/> of <paramref name="source"/> bilinearly to <paramref name="target"/>'s size
    /// plus a one-pixel ring (the ring's gradients count too), then blends each channel into <paramref name="work"/>.
    /// </summary>
    private static void BlendPatch(RgbBuffer work, RgbBuffer source, Rectangle cut, Rectangle target)
    {
        int pw = target.Width + 2, ph = target.Height + 2;
        var (x0, x1, fx) = SampleMap(pw, cut.X, cut.Width, target.Width, source.Width);
        var (y0, y1, fy) = SampleMap(ph, cut.Y, cut.Height, target.Height, source.Height);
        var guide = new float[3][];
        var under = new float[3][];
        for (int ch = 0; ch < 3; ch++)
        {
            guide[ch] = new float[pw * ph];
            under[ch] = new float[pw * ph];
        }
        byte[] s = source.Data, t = work.Data;
        for (int r = 0; r < ph; r++)
        {
            int row0 = y0[r] * source.Width, row1 = y1[r] * source.Width;
            int targetRow = (target.Y - 1 + r) * work.Width + target.X - 1;
            float wy = fy[r];
            for (int c = 0; c < pw; c++)
            {
                int a = 3 * (row0 + x0[c]), b = 3 * (row0 + x1[c]), d = 3 * (row1 + x0[c]), e = 3 * (row1 + x1[c]);
                int k = r * pw + c, tk = 3 * (targetRow + c);
                float wx = fx[c];
                for (int ch = 0; ch < 3; ch++)
                {
                    float top = s[a + ch] + wx * (s[b + ch] - s[a + ch]);
                    float bottom = s[d + ch] + wx * (s[e + ch] - s[d + ch]);
                    guide[ch][k] = top + wy * (bottom - top);
                    under[ch][k] = t[tk + ch];
                }
            }
        }
        var workspace = new PoissonBlending.Workspace(target.Width, target.Height);
        var result = new float[pw * ph];
        for (int ch = 0; ch < 3; ch++)
        {
            workspace.Blend(under[ch], guide[ch], result);
            for (int r = 1; r <= target.Height; r++)
            {
                int targetRow = (target.Y - 1 + r) * work.Width + target.X - 1;
                for (int c = 1; c <= target.Width; c++)
                    t[3 * (targetRow + c) + ch] = (byte)Math.Clamp(MathF.Round(result[r * pw + c]), 0f, 255f);
            }
        }
    }

    /// <summary>
    /// For each of <paramref name="count"/> samples along one axis (the target side plus a pixel each end), the two
    /// source pixels and the weight of the second, mapping pixel centres of the target onto the cut and clamping to
    /// the source image.
    /// </summary>
    private static (int[] Lo, int[] Hi, float[] Weight) SampleMap(int count, int cutStart, int cutSize, int targetSize, int sourceSize)
    {
        var lo = new int[count];
        var hi = new int[count];
        var weight = new float[count];
        double scale = (double)cutSize / targetSize;
        for (int i = 0; i < count; i++)
        {
            double at = Math.Clamp(cutStart + (i - 0.5) * scale - 0.5, 0, sourceSize - 1);
            int l = (int)at;
            lo[i] = l;
            hi[i] = Math.Min(l + 1, sourceSize - 1);
            weight[i] = (float)(at - l);
        }
        return (lo, hi, weight);
    }
}
