namespace Fsac.MLNet.Synthesis;

/// <summary>
/// Random perturbation as the CLIP-FSAC authors' code does it for MVTec AD: 1 to 4 rectangles of uniform noise with
/// half-sizes between H/40 and H/10. With a foreground mask each rectangle covers an object pixel and only object
/// pixels change.
/// </summary>
internal sealed class UniformNoiseSynthesizer : NoiseSynthesizer<UniformNoiseOptions>
{
    /// <summary>Creates the synthesizer.</summary>
    /// <param name="options">Options; null for the defaults.</param>
    /// <exception cref="ArgumentOutOfRangeException">An option is out of range.</exception>
    public UniformNoiseSynthesizer(UniformNoiseOptions? options = null) : base(options)
    {
    }

    /// <inheritdoc />
    public override string Name => "uniform";

    private protected override (int Width, int Height) DrawSize(Random rng, int width, int height) =>
        (Side(rng, width), Side(rng, height));

    private protected override void DrawNoise(Random rng, byte[] noise)
    {
        if (Options.MinValue == 0 && Options.MaxValue == 255)
        {
            rng.NextBytes(noise);
            return;
        }
        for (int k = 0; k < noise.Length; k++)
            noise[k] = (byte)rng.Next(Options.MinValue, Options.MaxValue + 1);
    }

    /// <summary>Twice a half-size drawn uniformly in [min, max] times <paramref name="imageSide"/>, at least 1 and at most the side.</summary>
    private int Side(Random rng, int imageSide)
    {
        double half = RandomSampling.Uniform(rng, Options.MinHalfSizeFraction, Options.MaxHalfSizeFraction) * imageSide;
        return Math.Clamp((int)Math.Round(2 * half), 1, imageSide);
    }
}
