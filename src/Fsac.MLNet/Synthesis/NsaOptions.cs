namespace Fsac.MLNet.Synthesis;

/// <summary>
/// Options of <see cref="NsaSynthesizer"/> (Natural Synthetic Anomalies, Schlüter et al., ECCV 2022). The defaults
/// are the parameters the CLIP-FSAC authors used for VisA.
/// </summary>
internal sealed class NsaOptions
{
    /// <summary>Most patches per anomaly; the count is uniform in [1, MaxPatches]. Default 2.</summary>
    public int MaxPatches { get; init; } = 2;

    /// <summary>
    /// Smallest patch side as a fraction of the image side (width of the width, height of the height). Default 0.03.
    /// </summary>
    public double MinSizeFraction { get; init; } = 0.03;

    /// <summary>Largest patch side as a fraction of the image side. Default 0.4.</summary>
    public double MaxSizeFraction { get; init; } = 0.4;

    /// <summary>
    /// Shape of the Gamma distribution of the patch side fractions. Each side (width and height independently) is
    /// <c>GammaLocation + Gamma(GammaShape, GammaScale)</c> truncated to [MinSizeFraction, MaxSizeFraction].
    /// Default 2.
    /// </summary>
    public double GammaShape { get; init; } = 2;

    /// <summary>Scale of the Gamma distribution of the patch side fractions. Default 0.05.</summary>
    public double GammaScale { get; init; } = 0.05;

    /// <summary>Shift of the Gamma distribution of the patch side fractions (its lower end). Default 0.03.</summary>
    public double GammaLocation { get; init; } = 0.03;

    /// <summary>
    /// Smallest resize factor. The patch placed has the drawn size; it is cut from its source with that size divided
    /// by a factor drawn uniformly in [MinResize, MaxResize] (clamped to the source image), then resized. Default 0.5.
    /// </summary>
    public double MinResize { get; init; } = 0.5;

    /// <summary>Largest resize factor. Default 2.</summary>
    public double MaxResize { get; init; } = 2;

    /// <summary>
    /// With a foreground mask, the least fraction of each placed patch that must lie on the object (and of the cut
    /// patch when its source is the same size as the image). Default 0.25.
    /// </summary>
    public double MinForegroundOverlap { get; init; } = 0.25;

    internal void Validate()
    {
        if (MaxPatches < 1) throw new ArgumentOutOfRangeException(nameof(MaxPatches), MaxPatches, "MaxPatches must be at least 1.");
        if (!(MinSizeFraction > 0 && MinSizeFraction <= 1))
            throw new ArgumentOutOfRangeException(nameof(MinSizeFraction), MinSizeFraction, "MinSizeFraction must be in (0, 1].");
        if (!(MaxSizeFraction > MinSizeFraction && MaxSizeFraction <= 1))
            throw new ArgumentOutOfRangeException(nameof(MaxSizeFraction), MaxSizeFraction, "MaxSizeFraction must be in (MinSizeFraction, 1].");
        if (!(GammaShape > 0 && double.IsFinite(GammaShape)))
            throw new ArgumentOutOfRangeException(nameof(GammaShape), GammaShape, "GammaShape must be positive.");
        if (!(GammaScale > 0 && double.IsFinite(GammaScale)))
            throw new ArgumentOutOfRangeException(nameof(GammaScale), GammaScale, "GammaScale must be positive.");
        if (!(GammaLocation < MaxSizeFraction))
            throw new ArgumentOutOfRangeException(nameof(GammaLocation), GammaLocation, "GammaLocation must be below MaxSizeFraction.");
        if (!(MinResize > 0 && double.IsFinite(MinResize)))
            throw new ArgumentOutOfRangeException(nameof(MinResize), MinResize, "MinResize must be positive.");
        if (!(MaxResize >= MinResize && double.IsFinite(MaxResize)))
            throw new ArgumentOutOfRangeException(nameof(MaxResize), MaxResize, "MaxResize must be at least MinResize.");
        if (!(MinForegroundOverlap is >= 0 and <= 1))
            throw new ArgumentOutOfRangeException(nameof(MinForegroundOverlap), MinForegroundOverlap, "MinForegroundOverlap must be in [0, 1].");
    }
}
