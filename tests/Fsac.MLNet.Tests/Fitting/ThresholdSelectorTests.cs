using Fsac.MLNet.Fitting;

namespace Fsac.MLNet.Tests.Fitting;

[TestClass]
public class ThresholdSelectorTests
{
    [TestMethod]
    public void SeparableScoresGiveTheMidpointBetweenTheClasses()
    {
        Assert.AreEqual(0.5f, ThresholdSelector.F1Optimal([0.1f, 0.3f, 0.2f], [0.9f, 0.7f]), 1e-6f);
    }

    [TestMethod]
    public void OverlappingScoresGiveTheF1OptimalThreshold()
    {
        float[] normal = [0.1f, 0.4f, 0.6f];
        float[] anomalous = [0.5f, 0.8f, 0.9f];

        float threshold = ThresholdSelector.F1Optimal(normal, anomalous);

        // Calling anomalous everything from 0.5 up gives TP 3, FP 1 (F1 6/7), the best cut; halfway to 0.4.
        Assert.AreEqual(0.45f, threshold, 1e-6f);
        double best = new[] { 0.05, 0.25, 0.45, 0.55, 0.7, 0.85, 0.95 }.Max(t => F1(normal, anomalous, t));
        Assert.AreEqual(best, F1(normal, anomalous, threshold), 1e-12);
        Assert.AreEqual(6.0 / 7.0, best, 1e-12);
    }

    [TestMethod]
    public void NeedsBothClasses()
    {
        Assert.ThrowsExactly<ArgumentException>(() => ThresholdSelector.F1Optimal([], [0.5f]));
        Assert.ThrowsExactly<ArgumentException>(() => ThresholdSelector.F1Optimal([0.5f], []));
    }

    private static double F1(float[] normal, float[] anomalous, double threshold)
    {
        int tp = anomalous.Count(s => s >= threshold), fp = normal.Count(s => s >= threshold);
        return 2.0 * tp / (2 * tp + fp + (anomalous.Length - tp));
    }
}
