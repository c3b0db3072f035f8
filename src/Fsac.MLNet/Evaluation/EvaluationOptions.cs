using Fsac.MLNet.Classifiers;
using Fsac.MLNet.Evaluation.Datasets;
using Fsac.MLNet.Head;
using Fsac.MLNet.PatchCore;

namespace Fsac.MLNet.Evaluation;

/// <summary>
/// What <see cref="EvaluationRunner"/> runs: the paper's protocol (§4.1) is k ∈ {1, 2, 4} normal shots, several seeds,
/// and every method on the same shots. Stored in the results.
/// </summary>
public sealed record EvaluationOptions
{
    /// <summary>The shot counts k. Default 1, 2, 4.</summary>
    public IReadOnlyList<int> Shots { get; init; } = [1, 2, 4];

    /// <summary>
    /// The seeds: each one draws the shots (<see cref="FewShotSplit.Draw"/>) and is the <see cref="FsacOptions.Seed"/>
    /// of the fits on them. Default 0, 1, 2.
    /// </summary>
    public IReadOnlyList<int> Seeds { get; init; } = [0, 1, 2];

    /// <summary>
    /// The methods, run in this order on the same shots. Default: the paper's Table 1 rows that apply, default,
    /// patchcore, winclip+, fsac, fsac-onestage, knn and zeroshot (winclip+ and zeroshot need a text tower and are skipped without one).
    /// </summary>
    public IReadOnlyList<EvaluationMethod> Methods { get; init; } =
        [EvaluationMethod.Default, EvaluationMethod.PatchCore, EvaluationMethod.WinClipPlus, EvaluationMethod.Fsac, EvaluationMethod.FsacOneStage,
         EvaluationMethod.Knn, EvaluationMethod.ZeroShot];

    /// <summary>
    /// CLIP-FSAC options of every fit (default <see cref="FsacPreset.MVTec"/>); each method sets its own training mode,
    /// <see cref="FsacOptions.Seed"/> is replaced by the run's seed and, with <see cref="ClassNameFromCategory"/>,
    /// <see cref="FsacOptions.ClassName"/> by the category's. Also gives the zero-shot baseline its prompts and τ.
    /// </summary>
    public FsacOptions Fsac { get; init; } = FsacPreset.MVTec;

    /// <summary>
    /// Options of the <c>patchcore</c> method (default: PatchCore's own, <see cref="PatchCoreOptions"/>); its seed is
    /// replaced by the run's. The <c>default</c> method always uses <see cref="Fsac.MLNet.Classifiers.DefaultMethod"/>.
    /// </summary>
    public PatchCoreOptions PatchCore { get; init; } = new();

    /// <summary>
    /// When true (default) the prompts name each category's object: the last segment of its name, underscores turned
    /// into spaces (<c>metal_nut</c> → <c>metal nut</c>). Only backbones with a text tower use prompts.
    /// </summary>
    public bool ClassNameFromCategory { get; init; } = true;

    /// <summary>
    /// Epochs between the training checkpoints scored for the report (before training and every this many epochs of
    /// the diagnostic run, and at the end); 0 turns checkpoints off. Default 10. Reporting only: nothing is selected on them.
    /// </summary>
    public int CheckpointInterval { get; init; } = 10;

    /// <summary>Saliency maps made per class for the diagnostic run: the lowest-scored anomalies and the highest-scored normals. Default 3.</summary>
    public int HeatmapsPerClass { get; init; } = 3;

    /// <summary>
    /// k of the diagnostic run of each category (the run whose scores, checkpoints and saliency maps are kept, with the
    /// first seed); null (default) takes the largest of <see cref="Shots"/>.
    /// </summary>
    public int? DiagnosticShots { get; init; }

    /// <summary>Checks that every value is usable.</summary>
    /// <exception cref="ArgumentException">A value is out of range; the message names it.</exception>
    public void Validate()
    {
        ArgumentNullException.ThrowIfNull(Shots, nameof(Shots));
        ArgumentNullException.ThrowIfNull(Seeds, nameof(Seeds));
        ArgumentNullException.ThrowIfNull(Methods, nameof(Methods));
        ArgumentNullException.ThrowIfNull(Fsac, nameof(Fsac));
        if (Shots.Count == 0) throw new ArgumentException("At least one shot count is required.", nameof(Shots));
        if (Shots.Any(k => k < 1)) throw new ArgumentOutOfRangeException(nameof(Shots), $"Shot counts must be at least 1; got {string.Join(", ", Shots)}.");
        if (Shots.Distinct().Count() != Shots.Count) throw new ArgumentException($"Shot counts repeat: {string.Join(", ", Shots)}.", nameof(Shots));
        if (Seeds.Count == 0) throw new ArgumentException("At least one seed is required.", nameof(Seeds));
        if (Seeds.Distinct().Count() != Seeds.Count) throw new ArgumentException($"Seeds repeat: {string.Join(", ", Seeds)}.", nameof(Seeds));
        if (Methods.Count == 0) throw new ArgumentException("At least one method is required.", nameof(Methods));
        if (Methods.Distinct().Count() != Methods.Count) throw new ArgumentException("Methods repeat.", nameof(Methods));
        foreach (var m in Methods)
            if (!Enum.IsDefined(m)) throw new ArgumentOutOfRangeException(nameof(Methods), m, "unknown evaluation method");
        ArgumentOutOfRangeException.ThrowIfNegative(CheckpointInterval, nameof(CheckpointInterval));
        ArgumentOutOfRangeException.ThrowIfNegative(HeatmapsPerClass, nameof(HeatmapsPerClass));
        if (DiagnosticShots is int d && !Shots.Contains(d))
            throw new ArgumentException($"DiagnosticShots {d} is not one of the shot counts ({string.Join(", ", Shots)}).", nameof(DiagnosticShots));
        Fsac.Validate();
        ArgumentNullException.ThrowIfNull(PatchCore, nameof(PatchCore));
        PatchCore.Validate();
    }
}
