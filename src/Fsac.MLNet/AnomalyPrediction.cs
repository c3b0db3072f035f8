namespace Fsac.MLNet;

/// <summary>
/// Output row for <c>mlContext.Model.CreatePredictionEngine&lt;TInput, AnomalyPrediction&gt;(model)</c> with the
/// default output column names.
/// </summary>
public sealed class AnomalyPrediction
{
    /// <summary>True when the image is predicted anomalous (score at or above the model's threshold).</summary>
    public bool PredictedLabel { get; set; }

    /// <summary>Decision margin: anomaly score minus threshold; positive exactly when <see cref="PredictedLabel"/> is true.</summary>
    public float Score { get; set; }

    /// <summary>Anomaly score in [0, 1].</summary>
    public float Probability { get; set; }
}
