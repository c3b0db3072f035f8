namespace Fsac.MLNet.Metrics;

/// <summary>
/// Image-level anomaly classification metrics of the paper (§4.1): I-AUROC, I-AUPR (average precision) and F1-max.
/// Anomalous is the positive class and higher scores mean more anomalous. Tied scores are handled exactly: a
/// threshold can never separate two equal scores.
/// </summary>
public static class ImageMetrics
{
    /// <summary>
    /// Area under the ROC curve: the probability that a random anomalous image scores higher than a random normal
    /// one, ties counting one half (Mann–Whitney U with average ranks).
    /// </summary>
    /// <exception cref="ArgumentException">Lengths differ, a score is NaN, or a class is missing.</exception>
    public static double Auroc(IReadOnlyList<float> scores, IReadOnlyList<bool> isAnomalous)
    {
        var (positives, negatives) = Check(scores, isAnomalous, needNegatives: true);
        var order = Enumerable.Range(0, scores.Count).OrderBy(i => scores[i]).ToArray();
        double positiveRankSum = 0;
        for (int start = 0; start < order.Length;)
        {
            int end = start;
            while (end + 1 < order.Length && scores[order[end + 1]] == scores[order[start]]) end++;
            double averageRank = (start + end) / 2.0 + 1.0;
            for (int i = start; i <= end; i++)
                if (isAnomalous[order[i]]) positiveRankSum += averageRank;
            start = end + 1;
        }
        return (positiveRankSum - positives * (positives + 1) / 2.0) / ((double)positives * negatives);
    }

    /// <summary>
    /// Average precision, Σₙ (Rₙ − Rₙ₋₁)·Pₙ over the distinct thresholds from the highest score down (the step-wise
    /// area under the precision–recall curve, as scikit-learn computes it).
    /// </summary>
    /// <exception cref="ArgumentException">Lengths differ, a score is NaN, or there is no anomalous image.</exception>
    public static double AveragePrecision(IReadOnlyList<float> scores, IReadOnlyList<bool> isAnomalous)
    {
        var (positives, _) = Check(scores, isAnomalous, needNegatives: false);
        double ap = 0, previousRecall = 0;
        foreach (var (tp, fp, _) in DescendingCuts(scores, isAnomalous))
        {
            double recall = (double)tp / positives;
            ap += (recall - previousRecall) * tp / (tp + fp);
            previousRecall = recall;
        }
        return ap;
    }

    /// <summary>The best F1 score over all thresholds.</summary>
    /// <exception cref="ArgumentException">Lengths differ, a score is NaN, or there is no anomalous image.</exception>
    public static double F1Max(IReadOnlyList<float> scores, IReadOnlyList<bool> isAnomalous) => BestF1(scores, isAnomalous).F1;

    /// <summary>
    /// The best F1 score and a threshold that attains it, an image being called anomalous when its score is at
    /// least the threshold. The threshold lies halfway between the lowest score called anomalous and the next lower
    /// score (or is the lowest score when every image is called anomalous). Equal F1 values keep the higher threshold.
    /// </summary>
    /// <exception cref="ArgumentException">Lengths differ, a score is NaN, or there is no anomalous image.</exception>
    public static (double F1, float Threshold) BestF1(IReadOnlyList<float> scores, IReadOnlyList<bool> isAnomalous)
    {
        var (positives, _) = Check(scores, isAnomalous, needNegatives: false);
        (double F1, float Threshold) best = (-1, float.NaN);
        foreach (var (tp, fp, threshold) in DescendingCuts(scores, isAnomalous))
        {
            double f1 = 2.0 * tp / (tp + fp + positives);
            if (f1 > best.F1) best = (f1, threshold);
        }
        return best;
    }

    /// <summary>
    /// Cumulative true and false positives when calling anomalous every score down to each distinct value, highest
    /// first, with a threshold separating that value from the next lower one.
    /// </summary>
    private static IEnumerable<(int TruePositives, int FalsePositives, float Threshold)> DescendingCuts(IReadOnlyList<float> scores, IReadOnlyList<bool> isAnomalous)
    {
        var order = Enumerable.Range(0, scores.Count).OrderByDescending(i => scores[i]).ToArray();
        int tp = 0, fp = 0;
        for (int start = 0; start < order.Length;)
        {
            float value = scores[order[start]];
            int end = start;
            while (end < order.Length && scores[order[end]] == value)
            {
                if (isAnomalous[order[end]]) tp++; else fp++;
                end++;
            }
            float threshold = value;
            if (end < order.Length)
            {
                float mid = (float)((value + (double)scores[order[end]]) / 2.0);
                if (mid > scores[order[end]]) threshold = mid;
            }
            yield return (tp, fp, threshold);
            start = end;
        }
    }

    private static (int Positives, int Negatives) Check(IReadOnlyList<float> scores, IReadOnlyList<bool> isAnomalous, bool needNegatives)
    {
        ArgumentNullException.ThrowIfNull(scores);
        ArgumentNullException.ThrowIfNull(isAnomalous);
        if (scores.Count != isAnomalous.Count)
            throw new ArgumentException($"{scores.Count} scores but {isAnomalous.Count} labels.", nameof(isAnomalous));
        if (scores.Any(float.IsNaN)) throw new ArgumentException("A score is NaN.", nameof(scores));
        int positives = isAnomalous.Count(x => x);
        int negatives = isAnomalous.Count - positives;
        if (positives == 0) throw new ArgumentException("At least one anomalous image is required.", nameof(isAnomalous));
        if (needNegatives && negatives == 0) throw new ArgumentException("At least one normal image is required.", nameof(isAnomalous));
        return (positives, negatives);
    }
}
