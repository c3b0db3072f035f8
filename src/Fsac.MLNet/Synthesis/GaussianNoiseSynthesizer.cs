using SixLabors.ImageSharp;
using SixLabors.ImageSharp.PixelFormats;

namespace Fsac.MLNet.Synthesis;

/// <summary>
/// Random perturbation as CLIP-FSAC §3.3 describes it: 1..n square regions whose pixels are replaced by Gaussian
/// noise. With a foreground mask each square covers an object pixel and only object pixels change.
/// </summary>
public sealed class GaussianNoiseSynthesizer : IAnomalySynthesizer
{
    /// <summary>Creates the synthesizer.</summary>
    /// <param name="options">Options; null for the defaults.</param>
    /// <exception cref="ArgumentOutOfRangeException">An option is out of range.</exception>
    public GaussianNoiseSynthesizer(GaussianNoiseOptions? options = null)
    {
        Options = options ?? new GaussianNoiseOptions();
        Options.Validate();
    }

    /// <summary>The options in use.</summary>
    public GaussianNoiseOptions Options { get; }

    /// <inheritdoc />
    public string Name => "gaussian";

    /// <inheritdoc />
    public SyntheticAnomaly Synthesize(Image<Rgb24> normal, Random rng, SynthesisContext? context = null) =>
        SynthesisRunner.Run(Name, normal, rng, context, Attempt);

    private List<SynthesizedRegion> Attempt(RgbBuffer work, Placement placement, Random rng)
    {
        bool grey = NoiseRegions.IsGrey(Options.Colour, work);
        int shorter = Math.Min(work.Width, work.Height);
        int count = rng.Next(Options.MinRegions, Options.MaxRegions + 1);
        var regions = new List<SynthesizedRegion>(count);
        for (int i = 0; i < count; i++)
        {
            double fraction = RandomSampling.Uniform(rng, Options.MinSideFraction, Options.MaxSideFraction);
            int side = Math.Clamp((int)Math.Round(fraction * shorter), 1, shorter);
            var r = placement.TryPlace(rng, side, side, 0, 0)!.Value;
            NoiseRegions.Fill(work, placement, r, grey, noise =>
            {
                for (int k = 0; k < noise.Length; k += 2)
                {
                    var (a, b) = RandomSampling.StandardNormalPair(rng);
                    noise[k] = ToByte(Options.Mean + Options.StandardDeviation * a);
                    if (k + 1 < noise.Length) noise[k + 1] = ToByte(Options.Mean + Options.StandardDeviation * b);
                }
            });
            regions.Add(new SynthesizedRegion(r));
        }
        return regions;
    }

    private static byte ToByte(double v) => (byte)Math.Clamp(Math.Round(v), 0, 255);
}
