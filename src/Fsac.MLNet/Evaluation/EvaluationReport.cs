namespace Fsac.MLNet.Evaluation;

/// <summary>The outcome of <see cref="EvaluationRunner"/>: settings, one record per category × method × shots × seed, and diagnostics.</summary>
/// <param name="Settings">How the evaluation ran.</param>
/// <param name="Categories">The categories evaluated, in order.</param>
/// <param name="Records">One record per category × method × shots × seed, in run order.</param>
/// <param name="Diagnostics">One diagnostic run per category.</param>
/// <param name="Notes">Remarks for the reader, e.g. a method that was skipped and why.</param>
/// <param name="Complete">False when the evaluation was stopped early; the records are those finished by then.</param>
public sealed record EvaluationReport(EvaluationSettings Settings, IReadOnlyList<CategorySummary> Categories, IReadOnlyList<EvaluationRecord> Records,
    IReadOnlyList<RunDiagnostics> Diagnostics, IReadOnlyList<string> Notes, bool Complete);
