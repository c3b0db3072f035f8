namespace Fsac.MLNet;

/// <summary>How a fitted model chooses its decision threshold (<see cref="IAnomalyModel.Threshold"/>).</summary>
public enum AnomalyThresholdPolicy
{
    /// <summary>
    /// <see cref="FewShotAnomalyOptions.FixedThreshold"/> on the anomaly probability (0.5 reproduces the paper's
    /// normal-versus-anomalous argmax).
    /// </summary>
    Fixed,
    /// <summary>The threshold with the best F1 between the normal shots and their synthesised anomalies.</summary>
    SyntheticF1Max,
}
