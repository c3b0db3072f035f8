using Fsac.MLNet.Classifiers;
using Fsac.MLNet.Encoders;
using Fsac.MLNet.Head;

namespace Fsac.MLNet.Evaluation;

/// <summary>Names of the <see cref="EvaluationMethod"/>s and the CLIP-FSAC options each one trains with.</summary>
public static class EvaluationMethods
{
    private static readonly (EvaluationMethod Method, string Name)[] Table =
    [
        (EvaluationMethod.Default, "default"),
        (EvaluationMethod.PatchCore, "patchcore"),
        (EvaluationMethod.Fsac, "fsac"),
        (EvaluationMethod.FsacOneStage, "fsac-onestage"),
        (EvaluationMethod.FsacJoint, "fsac-joint"),
        (EvaluationMethod.FsacNoCrossAttention, "fsac-noca"),
        (EvaluationMethod.FsacLocal, "fsac-local"),
        (EvaluationMethod.FsacPatchCore, "fsac+patchcore"),
        (EvaluationMethod.WinClipPlus, "winclip+"),
        (EvaluationMethod.Knn, "knn"),
        (EvaluationMethod.ZeroShot, "zeroshot"),
    ];

    /// <summary>Every valid name, in the order of <see cref="EvaluationMethod"/>.</summary>
    public static IReadOnlyList<string> Names { get; } = [.. Table.Select(t => t.Name)];

    /// <summary>The name of <paramref name="method"/>, e.g. <c>fsac-onestage</c>.</summary>
    /// <exception cref="ArgumentOutOfRangeException">Not a defined method.</exception>
    public static string NameOf(EvaluationMethod method)
    {
        foreach (var (m, name) in Table)
            if (m == method) return name;
        throw new ArgumentOutOfRangeException(nameof(method), method, "unknown evaluation method");
    }

    /// <summary>Parses one name (case-insensitive, surrounding spaces ignored).</summary>
    /// <exception cref="ArgumentException">Unknown name; the message lists the valid ones.</exception>
    public static EvaluationMethod Parse(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        var key = name.Trim();
        foreach (var (m, n) in Table)
            if (n.Equals(key, StringComparison.OrdinalIgnoreCase)) return m;
        throw new ArgumentException($"Unknown method '{name}'; valid methods: {string.Join(", ", Names)}.", nameof(name));
    }

    /// <summary>Parses a comma-separated list such as <c>fsac,knn,zeroshot</c>; duplicates are dropped, order kept.</summary>
    /// <exception cref="ArgumentException">The list is empty or holds an unknown name.</exception>
    public static IReadOnlyList<EvaluationMethod> ParseList(string names)
    {
        ArgumentNullException.ThrowIfNull(names);
        var parsed = names.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Select(Parse).Distinct().ToList();
        if (parsed.Count == 0) throw new ArgumentException($"No method given; valid methods: {string.Join(", ", Names)}.", nameof(names));
        return parsed;
    }

    /// <summary>True for the methods that score patches (<see cref="Fsac.MLNet.Classifiers.IEncodedScorer"/>), false for those that see one pooled vector.</summary>
    public static bool IsPatchMethod(EvaluationMethod method)
        => method is EvaluationMethod.Default or EvaluationMethod.PatchCore or EvaluationMethod.FsacLocal or EvaluationMethod.FsacPatchCore
            or EvaluationMethod.WinClipPlus;

    /// <summary>The features a method's scorer reads from the cached test features.</summary>
    public static Encoders.EncoderOutputs Needs(EvaluationMethod method) => method switch
    {
        EvaluationMethod.Default or EvaluationMethod.PatchCore or EvaluationMethod.FsacPatchCore => Encoders.EncoderOutputs.Patches,
        EvaluationMethod.FsacLocal or EvaluationMethod.WinClipPlus => Encoders.EncoderOutputs.Both,
        _ => Encoders.EncoderOutputs.Global,
    };

    /// <summary>True for the CLIP-FSAC variants (trained heads), false for the baselines.</summary>
    public static bool IsFsac(EvaluationMethod method)
        => method is EvaluationMethod.Fsac or EvaluationMethod.FsacOneStage or EvaluationMethod.FsacJoint or EvaluationMethod.FsacNoCrossAttention;

    /// <summary>
    /// The options a CLIP-FSAC variant trains with: <paramref name="baseOptions"/> with the variant's training mode
    /// (and no cross-attention for <see cref="EvaluationMethod.FsacNoCrossAttention"/>).
    /// </summary>
    /// <exception cref="ArgumentException"><paramref name="method"/> is a baseline.</exception>
    public static FsacOptions OptionsFor(EvaluationMethod method, FsacOptions baseOptions)
    {
        ArgumentNullException.ThrowIfNull(baseOptions);
        return method switch
        {
            EvaluationMethod.Fsac => baseOptions with { TrainingMode = FsacTrainingMode.TwoStage },
            EvaluationMethod.FsacOneStage => baseOptions with { TrainingMode = FsacTrainingMode.OneStage },
            EvaluationMethod.FsacJoint => baseOptions with { TrainingMode = FsacTrainingMode.Joint },
            EvaluationMethod.FsacNoCrossAttention => baseOptions with { TrainingMode = FsacTrainingMode.TwoStage, UseCrossAttention = false },
            _ => throw new ArgumentException($"'{NameOf(method)}' is not a CLIP-FSAC variant.", nameof(method)),
        };
    }
}
