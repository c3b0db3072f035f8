namespace Fsac.MLNet.Evaluation;

/// <summary>An evaluation was cancelled; <see cref="PartialReport"/> holds the runs finished before.</summary>
public sealed class EvaluationCancelledException : OperationCanceledException
{
    /// <summary>Creates the exception.</summary>
    /// <param name="partialReport">The report of the finished runs (<see cref="EvaluationReport.Complete"/> false).</param>
    /// <param name="token">The token that was cancelled.</param>
    public EvaluationCancelledException(EvaluationReport partialReport, CancellationToken token)
        : base($"The evaluation was cancelled after {partialReport.Records.Count} run(s).", token)
        => PartialReport = partialReport;

    /// <summary>The runs finished before the cancellation.</summary>
    public EvaluationReport PartialReport { get; }
}
