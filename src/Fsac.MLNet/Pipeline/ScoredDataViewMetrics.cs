using Fsac.MLNet.Metrics;
using Microsoft.ML;
using Microsoft.ML.Data;

namespace Fsac.MLNet.Pipeline;

/// <summary>
/// Threshold-free metrics of a scored data view that ML.NET's binary evaluator lacks (F1-max, AUPR as average
/// precision), with AUROC computed the same way as <c>EvaluateNonCalibrated(...).AreaUnderRocCurve</c>.
/// Rows with a non-finite score are skipped, as ML.NET does.
/// </summary>
public sealed class ScoredDataViewMetrics
{
    private ScoredDataViewMetrics(int positives, int negatives,
        (double Auroc, double Aupr, double F1Max, float F1MaxThreshold) values)
    {
        PositiveCount = positives;
        NegativeCount = negatives;
        (AreaUnderRocCurve, AreaUnderPrecisionRecallCurve, F1Max, F1MaxThreshold) = values;
    }

    /// <summary>Area under the ROC curve (ties count one half).</summary>
    public double AreaUnderRocCurve { get; }

    /// <summary>
    /// Area under the precision–recall curve as average precision (step-wise, one point per distinct score); this is
    /// the anomaly-detection literature's AUPR, not ML.NET's interpolated <c>AreaUnderPrecisionRecallCurve</c>.
    /// </summary>
    public double AreaUnderPrecisionRecallCurve { get; }

    /// <summary>The best F1 over all thresholds on the score.</summary>
    public double F1Max { get; }

    /// <summary>
    /// A score threshold reaching <see cref="F1Max"/> (rows scoring at or above it are predicted positive): midway
    /// between the lowest score predicted positive and the next lower score.
    /// </summary>
    public float F1MaxThreshold { get; }

    /// <summary>Rows with label true (anomalous).</summary>
    public int PositiveCount { get; }

    /// <summary>Rows with label false (normal).</summary>
    public int NegativeCount { get; }

    /// <summary>Reads the label (Boolean, true = anomalous) and score (Single, larger = more anomalous) columns and computes the metrics.</summary>
    /// <param name="data">Scored data, e.g. the output of a pipeline with <c>FewShotAnomaly</c>.</param>
    /// <param name="labelColumnName">Boolean label column.</param>
    /// <param name="scoreColumnName">Single score column.</param>
    /// <exception cref="ArgumentOutOfRangeException">A column is missing or has the wrong type.</exception>
    /// <exception cref="InvalidOperationException">The data has no anomalous or no normal row.</exception>
    public static ScoredDataViewMetrics Compute(IDataView data, string labelColumnName = "Label", string scoreColumnName = "Score")
    {
        ArgumentNullException.ThrowIfNull(data);
        var label = Require(data.Schema, labelColumnName, BooleanDataViewType.Instance, "label");
        var score = Require(data.Schema, scoreColumnName, NumberDataViewType.Single, "score");
        var scores = new List<float>();
        var labels = new List<bool>();
        using (var cursor = data.GetRowCursor([label, score]))
        {
            var getLabel = cursor.GetGetter<bool>(label);
            var getScore = cursor.GetGetter<float>(score);
            bool l = false;
            float s = 0;
            while (cursor.MoveNext())
            {
                getScore(ref s);
                if (!float.IsFinite(s)) continue;
                getLabel(ref l);
                scores.Add(s);
                labels.Add(l);
            }
        }
        var positives = labels.Count(x => x);
        var negatives = labels.Count - positives;
        if (positives == 0 || negatives == 0)
            throw new InvalidOperationException(
                $"The metrics need both anomalous and normal rows; column '{labelColumnName}' has {positives} true and {negatives} false.");
        var (f1, threshold) = ImageMetrics.BestF1(scores, labels);
        return new ScoredDataViewMetrics(positives, negatives,
            (ImageMetrics.Auroc(scores, labels), ImageMetrics.AveragePrecision(scores, labels), f1, threshold));
    }

    private static DataViewSchema.Column Require(DataViewSchema schema, string name, DataViewType type, string role)
    {
        var column = schema.GetColumnOrNull(name)
            ?? throw new ArgumentOutOfRangeException(nameof(schema), $"Could not find the {role} column '{name}'.");
        return column.Type == type
            ? column
            : throw new ArgumentOutOfRangeException(nameof(schema),
                $"Schema mismatch for {role} column '{name}': expected {type}, got {column.Type}.");
    }
}
