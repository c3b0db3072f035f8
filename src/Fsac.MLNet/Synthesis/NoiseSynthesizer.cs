using SixLabors.ImageSharp;
using SixLabors.ImageSharp.PixelFormats;

namespace Fsac.MLNet.Synthesis;

/// <summary>
/// The noise synthesizers' common part: 1..n rectangles placed on the image whose pixels are replaced by noise; with a
/// foreground mask each rectangle covers an object pixel and only object pixels change.
/// <see cref="GaussianNoiseSynthesizer"/> and <see cref="UniformNoiseSynthesizer"/> differ only in how a rectangle's
/// size and the noise values are drawn.
/// </summary>
/// <typeparam name="TOptions">The synthesizer's options.</typeparam>
internal abstract class NoiseSynthesizer<TOptions> : IAnomalySynthesizer where TOptions : NoiseOptions, new()
{
    /// <summary>Creates the synthesizer.</summary>
    /// <param name="options">Options; null for the defaults.</param>
    /// <exception cref="ArgumentOutOfRangeException">An option is out of range.</exception>
    private protected NoiseSynthesizer(TOptions? options)
    {
        Options = options ?? new TOptions();
        Options.Validate();
    }

    /// <summary>The options in use.</summary>
    public TOptions Options { get; }

    /// <inheritdoc />
    public abstract string Name { get; }

    /// <inheritdoc />
    public SyntheticAnomaly Synthesize(Image<Rgb24> normal, Random rng, SynthesisContext? context = null) =>
        SynthesisRunner.Run(Name, normal, rng, context, Attempt);

    /// <summary>Draws the width and height of the next rectangle on an image of <paramref name="width"/> × <paramref name="height"/>.</summary>
    private protected abstract (int Width, int Height) DrawSize(Random rng, int width, int height);

    /// <summary>Fills <paramref name="noise"/> (one value per pixel, or three interleaved RGB values) with noise.</summary>
    private protected abstract void DrawNoise(Random rng, byte[] noise);

    private List<SynthesizedRegion> Attempt(RgbBuffer work, Placement placement, Random rng)
    {
        bool grey = NoiseRegions.IsGrey(Options.Colour, work);
        int count = rng.Next(Options.MinRegions, Options.MaxRegions + 1);
        var regions = new List<SynthesizedRegion>(count);
        for (int i = 0; i < count; i++)
        {
            var (width, height) = DrawSize(rng, work.Width, work.Height);
            var r = placement.TryPlace(rng, width, height, 0, 0)!.Value;
            NoiseRegions.Fill(work, placement, r, grey, noise => DrawNoise(rng, noise));
            regions.Add(new SynthesizedRegion(r));
        }
        return regions;
    }
}
