namespace Fsac.MLNet.Synthesis;

/// <summary>
/// The options every noise synthesizer has (<see cref="GaussianNoiseOptions"/>, <see cref="UniformNoiseOptions"/>):
/// how many regions an anomaly has and whether their noise is coloured.
/// </summary>
internal abstract class NoiseOptions
{
    private protected NoiseOptions()
    {
    }

    /// <summary>Fewest regions (squares or rectangles) per anomaly. Default 1.</summary>
    public int MinRegions { get; init; } = 1;

    /// <summary>Most regions per anomaly (the paper's n); the count is uniform in [MinRegions, MaxRegions]. Default 4.</summary>
    public int MaxRegions { get; init; } = 4;

    /// <summary>Coloured or grey noise. Default <see cref="NoiseColour.Auto"/>: grey for grey images.</summary>
    public NoiseColour Colour { get; init; } = NoiseColour.Auto;

    /// <summary>Throws <see cref="ArgumentOutOfRangeException"/> for the first option out of range.</summary>
    internal virtual void Validate()
    {
        if (!Enum.IsDefined(Colour)) throw new ArgumentOutOfRangeException(nameof(Colour), Colour, "Unknown noise colour mode.");
        if (MinRegions < 1) throw new ArgumentOutOfRangeException(nameof(MinRegions), MinRegions, "MinRegions must be at least 1.");
        if (MaxRegions < MinRegions) throw new ArgumentOutOfRangeException(nameof(MaxRegions), MaxRegions, "MaxRegions must be at least MinRegions.");
    }
}
