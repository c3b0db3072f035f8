namespace Fsac.MLNet.Synthesis;

/// <summary>
/// Random perturbation as CLIP-FSAC §3.3 describes it: 1..n square regions whose pixels are replaced by Gaussian
/// noise. With a foreground mask each square covers an object pixel and only object pixels change.
/// </summary>
internal sealed class GaussianNoiseSynthesizer : NoiseSynthesizer<GaussianNoiseOptions>
{
    /// <summary>Creates the synthesizer.</summary>
    /// <param name="options">Options; null for the defaults.</param>
    /// <exception cref="ArgumentOutOfRangeException">An option is out of range.</exception>
    public GaussianNoiseSynthesizer(GaussianNoiseOptions? options = null) : base(options)
    {
    }

    /// <inheritdoc />
    public override string Name => "gaussian";

    private protected override (int Width, int Height) DrawSize(Random rng, int width, int height)
    {
        int shorter = Math.Min(width, height);
        double fraction = RandomSampling.Uniform(rng, Options.MinSideFraction, Options.MaxSideFraction);
        int side = Math.Clamp((int)Math.Round(fraction * shorter), 1, shorter);
        return (side, side);
    }

    private protected override void DrawNoise(Random rng, byte[] noise)
    {
        for (int k = 0; k < noise.Length; k += 2)
        {
            var (a, b) = RandomSampling.StandardNormalPair(rng);
            noise[k] = ToByte(Options.Mean + Options.StandardDeviation * a);
            if (k + 1 < noise.Length) noise[k + 1] = ToByte(Options.Mean + Options.StandardDeviation * b);
        }
    }

    private static byte ToByte(double v) => (byte)Math.Clamp(Math.Round(v), 0, 255);
}
