using SixLabors.ImageSharp;
using SixLabors.ImageSharp.PixelFormats;

namespace Fsac.MLNet.Synthesis;

/// <summary>
/// Random perturbation as the CLIP-FSAC authors' code does it for MVTec AD: 1 to 4 rectangles of uniform noise with
/// half-sizes between H/40 and H/10. With a foreground mask each rectangle covers an object pixel and only object
/// pixels change.
/// </summary>
public sealed class UniformNoiseSynthesizer : IAnomalySynthesizer
{
    /// <summary>Creates the synthesizer.</summary>
    /// <param name="options">Options; null for the defaults.</param>
    /// <exception cref="ArgumentOutOfRangeException">An option is out of range.</exception>
    public UniformNoiseSynthesizer(UniformNoiseOptions? options = null)
    {
        Options = options ?? new UniformNoiseOptions();
        Options.Validate();
    }

    /// <summary>The options in use.</summary>
    public UniformNoiseOptions Options { get; }

    /// <inheritdoc />
    public string Name => "uniform";

    /// <inheritdoc />
    public SyntheticAnomaly Synthesize(Image<Rgb24> normal, Random rng, SynthesisContext? context = null) =>
        SynthesisRunner.Run(Name, normal, rng, context, Attempt);

    private List<SynthesizedRegion> Attempt(RgbBuffer work, Placement placement, Random rng)
    {
        bool grey = NoiseRegions.IsGrey(Options.Colour, work);
        int count = rng.Next(Options.MinRegions, Options.MaxRegions + 1);
        var regions = new List<SynthesizedRegion>(count);
        for (int i = 0; i < count; i++)
        {
            int width = Side(rng, work.Width), height = Side(rng, work.Height);
            var r = placement.TryPlace(rng, width, height, 0, 0)!.Value;
            NoiseRegions.Fill(work, placement, r, grey, noise =>
            {
                if (Options.MinValue == 0 && Options.MaxValue == 255)
                {
                    rng.NextBytes(noise);
                    return;
                }
                for (int k = 0; k < noise.Length; k++)
                    noise[k] = (byte)rng.Next(Options.MinValue, Options.MaxValue + 1);
            });
            regions.Add(new SynthesizedRegion(r));
        }
        return regions;
    }

    /// <summary>Twice a half-size drawn uniformly in [min, max] times <paramref name="imageSide"/>, at least 1 and at most the side.</summary>
    private int Side(Random rng, int imageSide)
    {
        double half = RandomSampling.Uniform(rng, Options.MinHalfSizeFraction, Options.MaxHalfSizeFraction) * imageSide;
        return Math.Clamp((int)Math.Round(2 * half), 1, imageSide);
    }
}
