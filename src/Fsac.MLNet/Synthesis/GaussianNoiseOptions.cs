namespace Fsac.MLNet.Synthesis;

/// <summary>
/// Options of <see cref="GaussianNoiseSynthesizer"/>, the random perturbation of CLIP-FSAC §3.3: 1..n square
/// regions whose pixels are replaced by values drawn from a Gaussian.
/// </summary>
public sealed class GaussianNoiseOptions
{
    /// <summary>Fewest regions per anomaly. Default 1.</summary>
    public int MinRegions { get; init; } = 1;

    /// <summary>Most regions per anomaly (the paper's n); the count is uniform in [MinRegions, MaxRegions]. Default 4.</summary>
    public int MaxRegions { get; init; } = 4;

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

    /// <summary>Standard deviation in pixel units; values are drawn per pixel (and channel, see <see cref="Colour"/>), rounded and clamped to 0..255. Default 64.</summary>
    public double StandardDeviation { get; init; } = 64;

    /// <summary>Coloured or grey noise. Default <see cref="NoiseColour.Auto"/>: grey for grey images.</summary>
    public NoiseColour Colour { get; init; } = NoiseColour.Auto;

    internal void Validate()
    {
        if (!Enum.IsDefined(Colour)) throw new ArgumentOutOfRangeException(nameof(Colour), Colour, "Unknown noise colour mode.");
        if (MinRegions < 1) throw new ArgumentOutOfRangeException(nameof(MinRegions), MinRegions, "MinRegions must be at least 1.");
        if (MaxRegions < MinRegions) throw new ArgumentOutOfRangeException(nameof(MaxRegions), MaxRegions, "MaxRegions must be at least MinRegions.");
        if (!(MinSideFraction > 0 && MinSideFraction <= 1))
            throw new ArgumentOutOfRangeException(nameof(MinSideFraction), MinSideFraction, "MinSideFraction must be in (0, 1].");
        if (!(MaxSideFraction >= MinSideFraction && MaxSideFraction <= 1))
            throw new ArgumentOutOfRangeException(nameof(MaxSideFraction), MaxSideFraction, "MaxSideFraction must be in [MinSideFraction, 1].");
        if (!double.IsFinite(Mean)) throw new ArgumentOutOfRangeException(nameof(Mean), Mean, "Mean must be finite.");
        if (!(StandardDeviation >= 0 && double.IsFinite(StandardDeviation)))
            throw new ArgumentOutOfRangeException(nameof(StandardDeviation), StandardDeviation, "StandardDeviation must be finite and not negative.");
    }
}
