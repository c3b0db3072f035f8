namespace Fsac.MLNet.Synthesis;

/// <summary>
/// Options of <see cref="CutPasteSynthesizer"/> (Li et al., CVPR 2021); the defaults are the paper's.
/// </summary>
internal sealed class CutPasteOptions
{
    /// <summary>Rectangle or scar. Default <see cref="CutPasteMode.Rectangle"/>.</summary>
    public CutPasteMode Mode { get; init; } = CutPasteMode.Rectangle;

    /// <summary>Smallest rectangle area as a fraction of the image area. Default 0.02.</summary>
    public double MinAreaFraction { get; init; } = 0.02;

    /// <summary>Largest rectangle area as a fraction of the image area; the fraction is uniform between the two. Default 0.15.</summary>
    public double MaxAreaFraction { get; init; } = 0.15;

    /// <summary>
    /// The rectangle's aspect ratio (width / height) is log-uniform in [MinAspectRatio, 1 / MinAspectRatio]. Default 0.3.
    /// </summary>
    public double MinAspectRatio { get; init; } = 0.3;

    /// <summary>Scar width range in pixels at <see cref="ScarReferenceSize"/>. Default [2, 16].</summary>
    public (double Min, double Max) ScarWidth { get; init; } = (2, 16);

    /// <summary>Scar length range in pixels at <see cref="ScarReferenceSize"/>. Default [10, 25].</summary>
    public (double Min, double Max) ScarLength { get; init; } = (10, 25);

    /// <summary>
    /// Image side the scar sizes refer to; they scale with the image's shorter side. Default 256, the paper's input size.
    /// </summary>
    public int ScarReferenceSize { get; init; } = 256;

    /// <summary>The scar is rotated by an angle uniform in [-MaxScarRotationDegrees, MaxScarRotationDegrees]. Default 45.</summary>
    public double MaxScarRotationDegrees { get; init; } = 45;

    /// <summary>
    /// Colour jitter of the pasted patch: brightness, contrast and saturation factors are each uniform in
    /// [1 - ColorJitter, 1 + ColorJitter] (hue is not jittered). 0 turns it off. Default 0.1.
    /// </summary>
    public double ColorJitter { get; init; } = 0.1;

    internal void Validate()
    {
        if (!(MinAreaFraction > 0 && MinAreaFraction <= 1))
            throw new ArgumentOutOfRangeException(nameof(MinAreaFraction), MinAreaFraction, "MinAreaFraction must be in (0, 1].");
        if (!(MaxAreaFraction >= MinAreaFraction && MaxAreaFraction <= 1))
            throw new ArgumentOutOfRangeException(nameof(MaxAreaFraction), MaxAreaFraction, "MaxAreaFraction must be in [MinAreaFraction, 1].");
        if (!(MinAspectRatio > 0 && MinAspectRatio <= 1))
            throw new ArgumentOutOfRangeException(nameof(MinAspectRatio), MinAspectRatio, "MinAspectRatio must be in (0, 1].");
        if (!(ScarWidth.Min > 0 && ScarWidth.Max >= ScarWidth.Min && double.IsFinite(ScarWidth.Max)))
            throw new ArgumentOutOfRangeException(nameof(ScarWidth), ScarWidth, "ScarWidth must be a positive range (Min <= Max).");
        if (!(ScarLength.Min > 0 && ScarLength.Max >= ScarLength.Min && double.IsFinite(ScarLength.Max)))
            throw new ArgumentOutOfRangeException(nameof(ScarLength), ScarLength, "ScarLength must be a positive range (Min <= Max).");
        if (ScarReferenceSize < 1)
            throw new ArgumentOutOfRangeException(nameof(ScarReferenceSize), ScarReferenceSize, "ScarReferenceSize must be positive.");
        if (!(MaxScarRotationDegrees is >= 0 and <= 180))
            throw new ArgumentOutOfRangeException(nameof(MaxScarRotationDegrees), MaxScarRotationDegrees, "MaxScarRotationDegrees must be in [0, 180].");
        if (!(ColorJitter is >= 0 and < 1))
            throw new ArgumentOutOfRangeException(nameof(ColorJitter), ColorJitter, "ColorJitter must be in [0, 1).");
        if (!Enum.IsDefined(Mode)) throw new ArgumentOutOfRangeException(nameof(Mode), Mode, "Unknown CutPaste mode.");
    }
}
