namespace Fsac.MLNet.Head;

/// <summary>
/// WinCLIP's compositional prompt ensemble (CPE), used by CLIP-FSAC §3.1/§4.1 to describe the normal and the
/// anomalous class: every state word combined with every template, state-major, normal states first.
/// For "bottle" this gives 7 × 21 normal and 4 × 21 anomalous prompts (231 in all).
/// </summary>
internal sealed class PromptEnsemble
{
    /// <summary>The placeholder replaced by the class name in states and extra prompts, and by the state in templates.</summary>
    public const string Placeholder = "{}";

    /// <summary>WinCLIP's 7 normal states.</summary>
    public static IReadOnlyList<string> NormalStates { get; } =
    [
        "{}", "flawless {}", "perfect {}", "unblemished {}", "{} without flaw", "{} without defect", "{} without damage",
    ];

    /// <summary>WinCLIP's 4 anomalous states.</summary>
    public static IReadOnlyList<string> AnomalousStates { get; } =
    [
        "damaged {}", "{} with flaw", "{} with defect", "{} with damage",
    ];

    /// <summary>WinCLIP's 21 templates ("a jpeg corrupted photo of the {}." appears twice, as in WinCLIP).</summary>
    public static IReadOnlyList<string> Templates { get; } =
    [
        "a cropped photo of the {}.",
        "a close-up photo of a {}.",
        "a close-up photo of the {}.",
        "a bright photo of a {}.",
        "a bright photo of the {}.",
        "a dark photo of the {}.",
        "a dark photo of a {}.",
        "a jpeg corrupted photo of the {}.",
        "a jpeg corrupted photo of the {}.",
        "a blurry photo of the {}.",
        "a blurry photo of a {}.",
        "a photo of a {}.",
        "a photo of the {}.",
        "a photo of a small {}.",
        "a photo of the small {}.",
        "a photo of a large {}.",
        "a photo of the large {}.",
        "a photo of the {} for visual inspection.",
        "a photo of a {} for visual inspection.",
        "a photo of the {} for anomaly detection.",
        "a photo of a {} for anomaly detection.",
    ];

    /// <summary>Builds the ensemble for <paramref name="className"/>, appending user prompts after the CPE ones.</summary>
    /// <param name="className">The object or texture name, e.g. <c>bottle</c>.</param>
    /// <param name="extraNormalPrompts">Extra normal prompts; <c>{}</c> in them is replaced by the class name.</param>
    /// <param name="extraAnomalousPrompts">Extra anomalous prompts; <c>{}</c> in them is replaced by the class name.</param>
    /// <exception cref="ArgumentException">The class name is empty or whitespace.</exception>
    public PromptEnsemble(string className, IEnumerable<string>? extraNormalPrompts = null, IEnumerable<string>? extraAnomalousPrompts = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(className);
        ClassName = className;
        NormalPrompts = Compose(NormalStates, className, extraNormalPrompts);
        AnomalousPrompts = Compose(AnomalousStates, className, extraAnomalousPrompts);
    }

    /// <summary>The class name the prompts describe.</summary>
    public string ClassName { get; }

    /// <summary>Prompts describing a normal object (T⁺ is the mean of their encodings).</summary>
    public IReadOnlyList<string> NormalPrompts { get; }

    /// <summary>Prompts describing an anomalous object (T⁻ is the mean of their encodings).</summary>
    public IReadOnlyList<string> AnomalousPrompts { get; }

    /// <summary>All prompts, normal ones first.</summary>
    public IReadOnlyList<string> All => [.. NormalPrompts, .. AnomalousPrompts];

    private static string[] Compose(IReadOnlyList<string> states, string className, IEnumerable<string>? extra)
    {
        var prompts = new List<string>(states.Count * Templates.Count);
        foreach (var state in states)
        {
            var phrase = state.Replace(Placeholder, className, StringComparison.Ordinal);
            foreach (var template in Templates)
                prompts.Add(template.Replace(Placeholder, phrase, StringComparison.Ordinal));
        }
        if (extra is not null)
            prompts.AddRange(extra.Select(p => p.Replace(Placeholder, className, StringComparison.Ordinal)));
        return [.. prompts];
    }
}
