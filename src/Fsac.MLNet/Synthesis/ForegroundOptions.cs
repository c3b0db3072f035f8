namespace Fsac.MLNet.Synthesis;

/// <summary>Options of <see cref="ForegroundEstimator"/>.</summary>
public sealed class ForegroundOptions
{
    /// <summary>
    /// Width of the image border whose colours are taken as the background, as a fraction of the shorter side
    /// (at least one pixel). Default 0.02.
    /// </summary>
    public double BorderFraction { get; init; } = 0.02;

    /// <summary>
    /// Colour distance (Euclidean, RGB, 0..442) from the nearest background colour above which a pixel is object; null picks it by
    /// Otsu's method on the image's distances. Default null.
    /// </summary>
    public double? Threshold { get; init; }

    /// <summary>
    /// Radius of the square structuring element of the closing and opening that clean the mask, as a fraction of the
    /// shorter side (at least one pixel; 0 skips them). Default 0.01.
    /// </summary>
    public double MorphologyRadiusFraction { get; init; } = 0.01;

    /// <summary>Keep only the largest 4-connected object. Default true.</summary>
    public bool KeepLargestObject { get; init; } = true;

    /// <summary>Fill holes: background not connected to the image border becomes object. Default true.</summary>
    public bool FillHoles { get; init; } = true;

    /// <summary>
    /// When less than this fraction of the image is found to be object, the whole image is returned as object, so
    /// that synthesis behaves as for a texture. Default 0.01.
    /// </summary>
    public double MinObjectFraction { get; init; } = 0.01;

    internal void Validate()
    {
        if (!(BorderFraction is >= 0 and <= 0.5))
            throw new ArgumentOutOfRangeException(nameof(BorderFraction), BorderFraction, "BorderFraction must be in [0, 0.5].");
        if (Threshold is { } t && !(t >= 0 && double.IsFinite(t)))
            throw new ArgumentOutOfRangeException(nameof(Threshold), Threshold, "Threshold must be a non-negative distance.");
        if (!(MorphologyRadiusFraction is >= 0 and <= 0.5))
            throw new ArgumentOutOfRangeException(nameof(MorphologyRadiusFraction), MorphologyRadiusFraction, "MorphologyRadiusFraction must be in [0, 0.5].");
        if (!(MinObjectFraction is >= 0 and <= 1))
            throw new ArgumentOutOfRangeException(nameof(MinObjectFraction), MinObjectFraction, "MinObjectFraction must be in [0, 1].");
    }
}
