namespace Fsac.MLNet.Synthesis;

/// <summary>
/// Options of <see cref="GaussianNoiseSynthesizer"/>, the random perturbation of CLIP-FSAC §3.3: 1..n square
/// regions whose pixels are replaced by values drawn from a Gaussian.
/// </summary>
internal sealed class GaussianNoiseOptions : NoiseOptions
{
    /// <summary>Smallest square side as a fraction of the image's shorter side. Default 0.05 (1/20).</summary>
    public double MinSideFraction { get; init; } = 0.05;

    /// <summary>
    /// Largest square side as a fraction of the image's shorter side; the side is uniform between the two. Default 0.2
    /// (1/5), the same sizes as <see cref="UniformNoiseOptions"/>.
    /// </summary>
    public double MaxSideFraction { get; init; } = 0.2;

    /// <summary>
    /// Mean of the Gaussian in pixel units (0..255), the same for each channel. Default 128; with
    /// <see cref="StandardDeviation"/> 64 this is close to a standard normal after CLIP's input normalisation
    /// (channel means 0.41..0.48, deviations 0.26..0.28 of 255).
    /// </summary>
    public double Mean { get; init; } = 128;

    /// <summary>Standard deviation in pixel units; values are drawn per pixel (and channel, see <see cref="NoiseOptions.Colour"/>), rounded and clamped to 0..255. Default 64.</summary>
    public double StandardDeviation { get; init; } = 64;

    internal override void Validate()
    {
        base.Validate();
        if (!(MinSideFraction > 0 && MinSideFraction <= 1))
            throw new ArgumentOutOfRangeException(nameof(MinSideFraction), MinSideFraction, "MinSideFraction must be in (0, 1].");
        if (!(MaxSideFraction >= MinSideFraction && MaxSideFraction <= 1))
            throw new ArgumentOutOfRangeException(nameof(MaxSideFraction), MaxSideFraction, "MaxSideFraction must be in [MinSideFraction, 1].");
        if (!double.IsFinite(Mean)) throw new ArgumentOutOfRangeException(nameof(Mean), Mean, "Mean must be finite.");
        if (!(StandardDeviation >= 0 && double.IsFinite(StandardDeviation)))
            throw new ArgumentOutOfRangeException(nameof(StandardDeviation), StandardDeviation, "StandardDeviation must be finite and not negative.");
    }
}
