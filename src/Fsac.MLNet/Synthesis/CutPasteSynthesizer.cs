using SixLabors.ImageSharp;
using SixLabors.ImageSharp.PixelFormats;

namespace Fsac.MLNet.Synthesis;

/// <summary>
/// CutPaste (Li et al., CVPR 2021): a rectangle or a thin rotated "scar" is cut from a normal image (a random one of
/// <see cref="SynthesisContext.Sources"/>, else the image itself), colour-jittered and pasted at a random place
/// (covering an object pixel when a foreground mask is given; only object pixels change). For ablations against
/// <see cref="NsaSynthesizer"/>.
/// </summary>
internal sealed class CutPasteSynthesizer : IAnomalySynthesizer
{
    /// <summary>Creates the synthesizer.</summary>
    /// <param name="options">Options; null for the defaults.</param>
    /// <exception cref="ArgumentOutOfRangeException">An option is out of range.</exception>
    public CutPasteSynthesizer(CutPasteOptions? options = null)
    {
        Options = options ?? new CutPasteOptions();
        Options.Validate();
    }

    /// <summary>The options in use.</summary>
    public CutPasteOptions Options { get; }

    /// <inheritdoc />
    /// <remarks><c>cutpaste</c> for rectangles, <c>cutpaste-scar</c> for scars.</remarks>
    public string Name => Options.Mode == CutPasteMode.Scar ? "cutpaste-scar" : "cutpaste";

    /// <inheritdoc />
    public SyntheticAnomaly Synthesize(Image<Rgb24> normal, Random rng, SynthesisContext? context = null)
    {
        using var sources = new PatchSources(normal, context?.Sources);
        return SynthesisRunner.Run(Name, normal, rng, context, (work, placement, random) =>
        {
            var (source, index) = sources.Pick(random);
            var region = Options.Mode == CutPasteMode.Scar
                ? PasteScar(source, work, placement, random, index)
                : PasteRectangle(source, work, placement, random, index);
            return [region];
        });
    }

    private SynthesizedRegion PasteRectangle(RgbBuffer source, RgbBuffer work, Placement placement, Random rng, int index)
    {
        double area = RandomSampling.Uniform(rng, Options.MinAreaFraction, Options.MaxAreaFraction) * work.Width * work.Height;
        double aspect = RandomSampling.LogUniform(rng, Options.MinAspectRatio, 1 / Options.MinAspectRatio);
        int width = Math.Clamp((int)Math.Round(Math.Sqrt(area * aspect)), 1, Math.Min(work.Width, source.Width));
        int height = Math.Clamp((int)Math.Round(Math.Sqrt(area / aspect)), 1, Math.Min(work.Height, source.Height));
        var cut = new Rectangle(rng.Next(source.Width - width + 1), rng.Next(source.Height - height + 1), width, height);
        var target = placement.TryPlace(rng, width, height, 0, 0)!.Value;
        var jitter = Jitter.Draw(rng, Options.ColorJitter, source, cut);
        for (int y = 0; y < height; y++)
        {
            for (int x = 0; x < width; x++)
            {
                if (placement.Allows(target.X + x, target.Y + y))
                    jitter.Copy(source, cut.X + x, cut.Y + y, work, target.X + x, target.Y + y);
            }
        }
        return new SynthesizedRegion(target, cut, index);
    }

    private SynthesizedRegion PasteScar(RgbBuffer source, RgbBuffer work, Placement placement, Random rng, int index)
    {
        double scale = (double)Math.Min(work.Width, work.Height) / Options.ScarReferenceSize;
        int width = Math.Clamp((int)Math.Round(RandomSampling.Uniform(rng, Options.ScarWidth.Min, Options.ScarWidth.Max) * scale), 1, source.Width);
        int length = Math.Clamp((int)Math.Round(RandomSampling.Uniform(rng, Options.ScarLength.Min, Options.ScarLength.Max) * scale), 1, source.Height);
        double angle = RandomSampling.Uniform(rng, -Options.MaxScarRotationDegrees, Options.MaxScarRotationDegrees) * Math.PI / 180;
        double cos = Math.Cos(angle), sin = Math.Sin(angle);
        var cut = new Rectangle(rng.Next(source.Width - width + 1), rng.Next(source.Height - length + 1), width, length);
        // The bounding box has odd sides so that the scar's centre is a pixel centre: even a tiny scar covers a pixel.
        int boxWidth = Math.Min(OddCeiling(Math.Abs(width * cos) + Math.Abs(length * sin)), work.Width);
        int boxHeight = Math.Min(OddCeiling(Math.Abs(width * sin) + Math.Abs(length * cos)), work.Height);
        var box = placement.TryPlace(rng, boxWidth, boxHeight, 0, 0)!.Value;
        var jitter = Jitter.Draw(rng, Options.ColorJitter, source, cut);
        double cx = box.X + boxWidth / 2 + 0.5, cy = box.Y + boxHeight / 2 + 0.5;
        for (int y = box.Top; y < box.Bottom; y++)
        {
            for (int x = box.Left; x < box.Right; x++)
            {
                // Rotate the pixel centre back into the scar's frame; copy it if it falls inside.
                double dx = x + 0.5 - cx, dy = y + 0.5 - cy;
                double u = dx * cos + dy * sin + width / 2.0, v = -dx * sin + dy * cos + length / 2.0;
                if (u < 0 || u >= width || v < 0 || v >= length || !placement.Allows(x, y)) continue;
                jitter.Copy(source, cut.X + (int)u, cut.Y + (int)v, work, x, y);
            }
        }
        return new SynthesizedRegion(box, cut, index);
    }

    /// <summary>The smallest odd integer at least <paramref name="extent"/>.</summary>
    private static int OddCeiling(double extent)
    {
        int n = Math.Max(1, (int)Math.Ceiling(extent - 1e-9));
        return n % 2 == 0 ? n + 1 : n;
    }

    /// <summary>Brightness, contrast and saturation factors for one patch, applied in that order.</summary>
    private readonly record struct Jitter(float Brightness, float Contrast, float Saturation, float MeanGrey)
    {
        public static Jitter Draw(Random rng, double amount, RgbBuffer source, Rectangle cut)
        {
            float b = (float)RandomSampling.Uniform(rng, 1 - amount, 1 + amount);
            float c = (float)RandomSampling.Uniform(rng, 1 - amount, 1 + amount);
            float s = (float)RandomSampling.Uniform(rng, 1 - amount, 1 + amount);
            double sum = 0;
            for (int y = cut.Top; y < cut.Bottom; y++)
            {
                for (int x = cut.Left; x < cut.Right; x++)
                {
                    int k = 3 * (y * source.Width + x);
                    sum += Grey(source.Data[k], source.Data[k + 1], source.Data[k + 2]);
                }
            }
            return new Jitter(b, c, s, (float)(b * sum / ((long)cut.Width * cut.Height)));
        }

        public void Copy(RgbBuffer source, int sx, int sy, RgbBuffer target, int tx, int ty)
        {
            int k = 3 * (sy * source.Width + sx), t = 3 * (ty * target.Width + tx);
            float r = Adjust(source.Data[k]), g = Adjust(source.Data[k + 1]), b = Adjust(source.Data[k + 2]);
            float grey = Grey(r, g, b);
            target.Data[t] = ToByte(grey + Saturation * (r - grey));
            target.Data[t + 1] = ToByte(grey + Saturation * (g - grey));
            target.Data[t + 2] = ToByte(grey + Saturation * (b - grey));
        }

        private float Adjust(byte value) => MeanGrey + Contrast * (Brightness * value - MeanGrey);

        private static float Grey(float r, float g, float b) => 0.299f * r + 0.587f * g + 0.114f * b;

        private static byte ToByte(float v) => (byte)Math.Clamp(MathF.Round(v), 0f, 255f);
    }
}
