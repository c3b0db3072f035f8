using Fsac.MLNet;
using Fsac.MLNet.Pipeline;
using Microsoft.ML;

namespace Fsac.MLNet.Tests.MLNet;

[TestClass]
public class ScoredDataViewMetricsTests
{
    private sealed class Scored
    {
        public bool Label { get; set; }
        public float Score { get; set; }
        public bool PredictedLabel { get; set; }
    }

    private static IDataView View(MLContext ml, (bool Label, float Score)[] rows) =>
        ml.Data.LoadFromEnumerable(rows.Select(r => new Scored { Label = r.Label, Score = r.Score, PredictedLabel = r.Score > 0 }).ToList());

    [TestMethod]
    public void AurocEqualsMLNetsOnTiedAndRandomScores()
    {
        var ml = new MLContext(seed: 1);
        var random = new Random(5);
        var tied = Enumerable.Range(0, 60).Select(i => (random.Next(3) == 0, (float)random.Next(-3, 4))).ToArray();
        var continuous = Enumerable.Range(0, 200).Select(i =>
        {
            var anomalous = random.Next(2) == 0;
            return (anomalous, (float)(random.NextDouble() + (anomalous ? 0.4 : 0)));
        }).ToArray();

        foreach (var rows in new[] { tied, continuous })
        {
            var view = View(ml, rows);
            Assert.AreEqual(ml.BinaryClassification.EvaluateNonCalibrated(view).AreaUnderRocCurve,
                ScoredDataViewMetrics.Compute(view).AreaUnderRocCurve, 1e-12);
        }
    }

    [TestMethod]
    public void SmallExampleWorkedByHand()
    {
        // Ranked by score: 0.9 anomalous, 0.8 normal, 0.7 anomalous, 0.1 normal.
        // AUROC: of the 4 (anomalous, normal) pairs only (0.7, 0.8) is misordered: 3/4.
        // AP: recall 1/2 at precision 1, recall 1 at precision 2/3: (1 + 2/3) / 2 = 5/6.
        // F1 at threshold 0.9: P=1, R=1/2 -> 2/3; at 0.7: P=2/3, R=1 -> 4/5 (best); at 0.1: P=1/2, R=1 -> 2/3.
        // The best cut lies between 0.7 and the next lower score 0.1; the threshold reported is their midpoint, 0.4.
        var metrics = ScoredDataViewMetrics.Compute(View(new MLContext(1), [(true, 0.9f), (false, 0.8f), (true, 0.7f), (false, 0.1f)]));

        Assert.AreEqual(0.75, metrics.AreaUnderRocCurve, 1e-12);
        Assert.AreEqual(5.0 / 6, metrics.AreaUnderPrecisionRecallCurve, 1e-12);
        Assert.AreEqual(0.8, metrics.F1Max, 1e-12);
        Assert.AreEqual(0.4f, metrics.F1MaxThreshold, 1e-6f);
        Assert.AreEqual(2, metrics.PositiveCount);
        Assert.AreEqual(2, metrics.NegativeCount);
    }

    [TestMethod]
    public void OnAFewShotPipelineTheMetricsAgreeWithMLNetsEvaluator()
    {
        var ml = new MLContext(seed: 1);
        var data = TestData.View(ml, TestData.Cookies(normals: 6, anomalies: 6));
        var scored = ml.Transforms.FewShotAnomaly(new FewShotAnomalyOptions
        {
            ImageColumnName = nameof(ImageRow.ImagePath),
            Backbone = FakeBackboneResolver.Name,
            BackboneResolver = new FakeBackboneResolver(new FakeCalls()),
            Seed = 4,
        }).Fit(data).Transform(data);

        var ours = ScoredDataViewMetrics.Compute(scored);
        var mlnet = ml.BinaryClassification.EvaluateNonCalibrated(scored);

        Assert.AreEqual(mlnet.AreaUnderRocCurve, ours.AreaUnderRocCurve, 1e-12);
        Assert.IsGreaterThanOrEqualTo(mlnet.F1Score, ours.F1Max, "the best threshold is at least as good as the model's");
        Assert.AreEqual(ours.AreaUnderRocCurve, ScoredDataViewMetrics.Compute(scored, scoreColumnName: "Probability").AreaUnderRocCurve, 1e-12,
            "Score is Probability shifted by the threshold: the ranking is the same");
    }

    [TestMethod]
    public void OneClassOnlyOrAWrongColumnIsAClearError()
    {
        var ml = new MLContext(1);
        var error = Assert.ThrowsExactly<InvalidOperationException>(() => ScoredDataViewMetrics.Compute(View(ml, [(false, 0.2f), (false, 0.3f)])));
        StringAssert.Contains(error.Message, "0 true and 2 false");

        var mismatch = Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => ScoredDataViewMetrics.Compute(View(ml, [(true, 1f)]), labelColumnName: "Score"));
        StringAssert.Contains(mismatch.Message, "label column 'Score': expected Boolean, got Single");
    }
}
