using Fsac.MLNet.Metrics;

namespace Fsac.MLNet.Tests.Evaluation;

[TestClass]
public class MetricsTests
{
    // Anomalous {0.35, 0.8} against normal {0.1, 0.4}.
    private static readonly float[] Scores = [0.1f, 0.4f, 0.35f, 0.8f];
    private static readonly bool[] Labels = [false, false, true, true];

    // Anomalous {0.5, 0.9} against normal {0.5, 0.2}: one tie across the classes.
    private static readonly float[] TiedScores = [0.5f, 0.5f, 0.2f, 0.9f];
    private static readonly bool[] TiedLabels = [true, false, false, true];

    [TestMethod]
    public void AurocCountsCorrectlyOrderedPairs()
    {
        // Pairs (anomalous, normal): (0.35,0.1) yes, (0.35,0.4) no, (0.8,0.1) yes, (0.8,0.4) yes.
        Assert.AreEqual(3.0 / 4.0, ImageMetrics.Auroc(Scores, Labels), 1e-12);
        // (0.5,0.5) tie = 1/2, (0.5,0.2) yes, (0.9,0.5) yes, (0.9,0.2) yes.
        Assert.AreEqual(3.5 / 4.0, ImageMetrics.Auroc(TiedScores, TiedLabels), 1e-12);
        Assert.AreEqual(1.0, ImageMetrics.Auroc([0.1f, 0.2f, 0.8f], [false, false, true]), 1e-12);
        Assert.AreEqual(0.0, ImageMetrics.Auroc([0.9f, 0.2f, 0.1f], [false, true, true]), 1e-12);
        Assert.AreEqual(0.5, ImageMetrics.Auroc([0.3f, 0.3f, 0.3f], [false, true, true]), 1e-12);
    }

    [TestMethod]
    public void AurocAgreesWithPairCountingOnRandomScoresWithTies()
    {
        var rng = new Random(1);
        for (int trial = 0; trial < 20; trial++)
        {
            var scores = Enumerable.Range(0, 30).Select(_ => rng.Next(8) / 8f).ToArray();
            var labels = Enumerable.Range(0, 30).Select(i => i % 3 == 0).ToArray();
            double pairs = 0, favourable = 0;
            for (int i = 0; i < scores.Length; i++)
                for (int j = 0; j < scores.Length; j++)
                    if (labels[i] && !labels[j])
                    {
                        pairs++;
                        favourable += scores[i] > scores[j] ? 1 : scores[i] == scores[j] ? 0.5 : 0;
                    }
            Assert.AreEqual(favourable / pairs, ImageMetrics.Auroc(scores, labels), 1e-12);
        }
    }

    [TestMethod]
    public void AveragePrecisionSumsPrecisionOverRecallSteps()
    {
        // Descending: 0.8 (anomalous: P 1, R 1/2), 0.4 (normal), 0.35 (anomalous: P 2/3, R 1).
        Assert.AreEqual(0.5 * 1.0 + 0.5 * (2.0 / 3.0), ImageMetrics.AveragePrecision(Scores, Labels), 1e-12);
        // 0.9 (P 1, R 1/2), then the tied 0.5 pair together (P 2/3, R 1).
        Assert.AreEqual(0.5 * 1.0 + 0.5 * (2.0 / 3.0), ImageMetrics.AveragePrecision(TiedScores, TiedLabels), 1e-12);
        Assert.AreEqual(1.0, ImageMetrics.AveragePrecision([0.1f, 0.9f], [false, true]), 1e-12);
        // All tied: one threshold, precision = prevalence.
        Assert.AreEqual(1.0 / 3.0, ImageMetrics.AveragePrecision([0.5f, 0.5f, 0.5f], [true, false, false]), 1e-12);
    }

    [TestMethod]
    public void F1MaxTakesTheBestThreshold()
    {
        // Cuts: 0.8 -> 2/3, 0.4 -> 1/2, 0.35 -> TP 2 FP 1 -> 4/5, 0.1 -> 2/3.
        var (f1, threshold) = ImageMetrics.BestF1(Scores, Labels);
        Assert.AreEqual(0.8, f1, 1e-12);
        Assert.AreEqual(0.225f, threshold, 1e-6f);
        Assert.AreEqual(0.8, ImageMetrics.F1Max(Scores, Labels), 1e-12);
        // Ties cannot be split: cuts 0.9 -> 2/3, 0.5 -> TP 2 FP 1 -> 4/5, 0.2 -> 2/3.
        Assert.AreEqual(0.8, ImageMetrics.F1Max(TiedScores, TiedLabels), 1e-12);
        // Everything called anomalous: the threshold is the lowest score.
        Assert.AreEqual(0.3f, ImageMetrics.BestF1([0.9f, 0.3f], [true, true]).Threshold);
    }

    [TestMethod]
    public void RejectsUnusableInput()
    {
        Assert.ThrowsExactly<ArgumentException>(() => ImageMetrics.Auroc([0.1f, 0.2f], [true]));
        Assert.ThrowsExactly<ArgumentException>(() => ImageMetrics.Auroc([0.1f, 0.2f], [true, true]));
        Assert.ThrowsExactly<ArgumentException>(() => ImageMetrics.AveragePrecision([0.1f, 0.2f], [false, false]));
        Assert.ThrowsExactly<ArgumentException>(() => ImageMetrics.F1Max([float.NaN, 0.2f], [true, false]));
    }
}
