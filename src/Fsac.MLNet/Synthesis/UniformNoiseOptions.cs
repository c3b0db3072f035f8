namespace Fsac.MLNet.Synthesis;

/// <summary>
/// Options of <see cref="UniformNoiseSynthesizer"/>, the perturbation the CLIP-FSAC authors' code uses for MVTec AD:
/// 1 to 4 rectangles of uniform noise whose half-sizes lie between H/40 and H/10.
/// </summary>
internal sealed class UniformNoiseOptions : NoiseOptions
{
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

    /// <summary>Largest noise value; values are uniform integers in [MinValue, MaxValue] per pixel (and channel, see <see cref="NoiseOptions.Colour"/>). Default 255.</summary>
    public byte MaxValue { get; init; } = 255;

    internal override void Validate()
    {
        base.Validate();
        if (!(MinHalfSizeFraction > 0 && MinHalfSizeFraction <= 0.5))
            throw new ArgumentOutOfRangeException(nameof(MinHalfSizeFraction), MinHalfSizeFraction, "MinHalfSizeFraction must be in (0, 0.5].");
        if (!(MaxHalfSizeFraction >= MinHalfSizeFraction && MaxHalfSizeFraction <= 0.5))
            throw new ArgumentOutOfRangeException(nameof(MaxHalfSizeFraction), MaxHalfSizeFraction, "MaxHalfSizeFraction must be in [MinHalfSizeFraction, 0.5].");
        if (MaxValue < MinValue) throw new ArgumentOutOfRangeException(nameof(MaxValue), MaxValue, "MaxValue must be at least MinValue.");
    }
}
