namespace Fsac.MLNet.Synthesis;

/// <summary>
/// Options of <see cref="UniformNoiseSynthesizer"/>, the perturbation the CLIP-FSAC authors' code uses for MVTec AD:
/// 1 to 4 rectangles of uniform noise whose half-sizes lie between H/40 and H/10.
/// </summary>
public sealed class UniformNoiseOptions
{
    /// <summary>Fewest rectangles per anomaly. Default 1.</summary>
    public int MinRegions { get; init; } = 1;

    /// <summary>Most rectangles per anomaly; the count is uniform in [MinRegions, MaxRegions]. Default 4.</summary>
    public int MaxRegions { get; init; } = 4;

    /// <summary>
    /// Smallest half-size as a fraction of the image side (half-width of the width, half-height of the height).
    /// Default 0.025 (1/40).
    /// </summary>
    public double MinHalfSizeFraction { get; init; } = 0.025;

    /// <summary>
    /// Largest half-size as a fraction of the image side; half-width and half-height are drawn independently and
    /// uniformly between the two. Default 0.1 (1/10).
    /// </summary>
    public double MaxHalfSizeFraction { get; init; } = 0.1;

    /// <summary>Smallest noise value. Default 0.</summary>
    public byte MinValue { get; init; }

    /// <summary>Largest noise value; values are uniform integers in [MinValue, MaxValue] per pixel (and channel, see <see cref="Colour"/>). Default 255.</summary>
    public byte MaxValue { get; init; } = 255;

    /// <summary>Coloured or grey noise. Default <see cref="NoiseColour.Auto"/>: grey for grey images.</summary>
    public NoiseColour Colour { get; init; } = NoiseColour.Auto;

    internal void Validate()
    {
        if (!Enum.IsDefined(Colour)) throw new ArgumentOutOfRangeException(nameof(Colour), Colour, "Unknown noise colour mode.");
        if (MinRegions < 1) throw new ArgumentOutOfRangeException(nameof(MinRegions), MinRegions, "MinRegions must be at least 1.");
        if (MaxRegions < MinRegions) throw new ArgumentOutOfRangeException(nameof(MaxRegions), MaxRegions, "MaxRegions must be at least MinRegions.");
        if (!(MinHalfSizeFraction > 0 && MinHalfSizeFraction <= 0.5))
            throw new ArgumentOutOfRangeException(nameof(MinHalfSizeFraction), MinHalfSizeFraction, "MinHalfSizeFraction must be in (0, 0.5].");
        if (!(MaxHalfSizeFraction >= MinHalfSizeFraction && MaxHalfSizeFraction <= 0.5))
            throw new ArgumentOutOfRangeException(nameof(MaxHalfSizeFraction), MaxHalfSizeFraction, "MaxHalfSizeFraction must be in [MinHalfSizeFraction, 0.5].");
        if (MaxValue < MinValue) throw new ArgumentOutOfRangeException(nameof(MaxValue), MaxValue, "MaxValue must be at least MinValue.");
    }
}
