namespace Fsac.MLNet.Synthesis;

/// <summary>Creates synthesizers by name (as the CLI's <c>--method</c> does).</summary>
public static class AnomalySynthesizers
{
    /// <summary>The valid names: gaussian, uniform, nsa, cutpaste, cutpaste-scar.</summary>
    public static IReadOnlyList<string> Names { get; } = ["gaussian", "uniform", "nsa", "cutpaste", "cutpaste-scar"];

    /// <summary>A synthesizer with default options.</summary>
    /// <param name="name">
    /// <c>gaussian</c> (<see cref="GaussianNoiseSynthesizer"/>), <c>uniform</c> (<see cref="UniformNoiseSynthesizer"/>),
    /// <c>nsa</c> (<see cref="NsaSynthesizer"/>), <c>cutpaste</c> or <c>cutpaste-scar</c>
    /// (<see cref="CutPasteSynthesizer"/>); case-insensitive.
    /// </param>
    /// <exception cref="ArgumentException">The name is unknown; the message lists the valid ones.</exception>
    public static IAnomalySynthesizer Create(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        return name.Trim().ToLowerInvariant() switch
        {
            "gaussian" => new GaussianNoiseSynthesizer(),
            "uniform" => new UniformNoiseSynthesizer(),
            "nsa" => new NsaSynthesizer(),
            "cutpaste" => new CutPasteSynthesizer(),
            "cutpaste-scar" => new CutPasteSynthesizer(new CutPasteOptions { Mode = CutPasteMode.Scar }),
            _ => throw new ArgumentException(
                $"Unknown anomaly synthesis method '{name}'; valid names: {string.Join(", ", Names)}.", nameof(name)),
        };
    }
}
