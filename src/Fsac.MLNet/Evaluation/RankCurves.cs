namespace Fsac.MLNet.Evaluation;

/// <summary>
/// Threshold-free metrics over (score, label) pairs, ties handled as ML.NET does: rows with equal scores form one
/// operating point. Positive = anomalous; larger scores rank first.
/// </summary>
internal static class RankCurves
{
    /// <summary>AUROC, AUPR (average precision) and the best F1 with the lowest score that reaches it.</summary>
    public static (double Auroc, double Aupr, double F1Max, float F1MaxThreshold) Compute(float[] scores, bool[] labels)
    {
        var order = Enumerable.Range(0, scores.Length).OrderByDescending(i => scores[i]).ToArray();
        double positives = labels.Count(l => l), negatives = labels.Length - positives;
        double truePositives = 0, falsePositives = 0, rocArea = 0, precisionSum = 0, bestF1 = 0;
        var bestThreshold = float.PositiveInfinity;
        for (var start = 0; start < order.Length;)
        {
            // One operating point: every row with this score flips to positive at once.
            var score = scores[order[start]];
            double groupPositives = 0, groupNegatives = 0;
            for (; start < order.Length && scores[order[start]] == score; start++)
            {
                if (labels[order[start]]) groupPositives++;
                else groupNegatives++;
            }
            rocArea += groupNegatives * (truePositives + groupPositives / 2);
            truePositives += groupPositives;
            falsePositives += groupNegatives;
            precisionSum += groupPositives * truePositives / (truePositives + falsePositives);
            var f1 = 2 * truePositives / (truePositives + falsePositives + positives);
            if (f1 > bestF1)
            {
                bestF1 = f1;
                bestThreshold = score;
            }
        }
        return (rocArea / (positives * negatives), precisionSum / positives, bestF1, bestThreshold);
    }
}
