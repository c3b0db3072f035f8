namespace Fsac.MLNet.Evaluation;

/// <summary>A progress report of <see cref="EvaluationRunner"/>, sent synchronously from the evaluating thread.</summary>
/// <param name="Phase">What the report is about.</param>
/// <param name="Category">The category being evaluated (empty for notes before the first one).</param>
/// <param name="CategoryIndex">Its position, from 1.</param>
/// <param name="CategoryCount">Categories in the evaluation.</param>
/// <param name="Done">Units done in this phase (images or epochs).</param>
/// <param name="Total">Units in this phase.</param>
/// <param name="Detail">The run (<c>k=4 seed=0 fsac</c>) or the note's text.</param>
/// <param name="Record">The finished run's record (<see cref="EvaluationPhase.RunCompleted"/> only).</param>
public readonly record struct EvaluationProgress(EvaluationPhase Phase, string Category, int CategoryIndex, int CategoryCount,
    int Done, int Total, string? Detail, EvaluationRecord? Record);
