using Fsac.MLNet.Head;
using TorchSharp;
using static TorchSharp.torch;

namespace Fsac.MLNet.Tests.Head;

/// <summary>Eq. 7–12 against plain double arithmetic on tiny hand-written tensors.</summary>
[TestClass]
public class ScoreAndLossTests
{
    private static readonly double[][] Normal = [[1.0, 0.5, -0.2], [0.3, -1.0, 0.8]];
    private static readonly double[][] Anomalous = [[-0.4, 0.9, 0.1], [0.2, 0.2, -1.5]];
    private static readonly double[][] Psi = [[0.7, 0.1, 0.3], [-0.2, 0.6, -0.5]];

    [TestMethod]
    [DataRow(1.0)]
    [DataRow(0.5)]
    public void LossMatchesEquationsSevenToNine(double temperature)
    {
        double expected = 0;
        for (int i = 0; i < 2; i++)
        {
            double a = Cos(Normal[i], Psi[0]) / temperature;     // s(CF+, AT+)
            double b = Cos(Normal[i], Psi[1]) / temperature;     // s(CF+, AT-)
            double c = Cos(Anomalous[i], Psi[1]) / temperature;  // s(CF-, AT-)
            double d = Cos(Anomalous[i], Psi[0]) / temperature;  // s(CF-, AT+)
            double f2t = -Math.Log(Math.Exp(a) / (Math.Exp(a) + Math.Exp(b))) - Math.Log(Math.Exp(c) / (Math.Exp(c) + Math.Exp(d)));
            double t2f = -Math.Log(Math.Exp(a) / (Math.Exp(a) + Math.Exp(d))) - Math.Log(Math.Exp(c) / (Math.Exp(c) + Math.Exp(b)));
            expected += 0.5 * (f2t + t2f) / 2;
        }

        using var scope = NewDisposeScope();
        var loss = FusionTextContrastiveLoss.Compute(T(Normal), T(Anomalous), T(Psi), temperature).item<float>();

        Assert.AreEqual(expected, loss, 1e-5);
    }

    [TestMethod]
    public void LossRejectsMismatchedPairs()
    {
        using var scope = NewDisposeScope();
        Assert.ThrowsExactly<ArgumentException>(() => FusionTextContrastiveLoss.Compute(T(Normal), T([Anomalous[0]]), T(Psi), 1.0));
    }

    [TestMethod]
    public void LossHasGradientsForTheFusedFeatures()
    {
        using var scope = NewDisposeScope();
        var normal = T(Normal).requires_grad_(true);
        FusionTextContrastiveLoss.Compute(normal, T(Anomalous), T(Psi), 1.0).backward();
        Assert.IsGreaterThan(0f, normal.grad!.abs().sum().item<float>());
    }

    [TestMethod]
    public void TheLogitIsTheScoreBeforeTheSigmoid_AndStaysDistinctWhereTheScoreRoundsToOne()
    {
        const double tau = 0.07;
        var scores = AnomalyScorer.Score(T([.. Normal, .. Anomalous]), T(Psi), tau).data<float>().ToArray();
        var logits = AnomalyScorer.Logit(T([.. Normal, .. Anomalous]), T(Psi), tau).data<float>().ToArray();
        double[][] fused = [.. Normal, .. Anomalous];
        for (int i = 0; i < fused.Length; i++)
        {
            Assert.AreEqual((Cos(fused[i], Psi[1]) - Cos(fused[i], Psi[0])) / tau, logits[i], 1e-4, $"image {i}");
            Assert.AreEqual(scores[i], 1 / (1 + Math.Exp(-logits[i])), 1e-5, $"image {i}");
        }

        // Two features far on the anomalous side: AS rounds both to 1 in float32, their logits still differ.
        double[][] far = [[-1, 0.05, 0, 0], [-1, 0.02, 0, 0]];
        double[][] anchors = [[1, 0, 0, 0], [-1, 0, 0, 0]];
        var saturated = AnomalyScorer.Score(T(far), T(anchors), tau).data<float>().ToArray();
        var distinct = AnomalyScorer.Logit(T(far), T(anchors), tau).data<float>().ToArray();
        Assert.AreEqual(saturated[0], saturated[1]);
        Assert.AreNotEqual(distinct[0], distinct[1]);
    }

    [TestMethod]
    public void ScoreMatchesEquationsTenToTwelve()
    {
        const double tau = 0.07;
        using var scope = NewDisposeScope();
        var scores = AnomalyScorer.Score(T([.. Normal, .. Anomalous]), T(Psi), tau).data<float>().ToArray();

        double[][] fused = [.. Normal, .. Anomalous];
        for (int i = 0; i < fused.Length; i++)
        {
            double ePos = Math.Exp(Cos(fused[i], Psi[0]) / tau), eNeg = Math.Exp(Cos(fused[i], Psi[1]) / tau);
            double sPos = ePos / (eNeg + ePos), sNeg = eNeg / (eNeg + ePos);
            Assert.AreEqual(sNeg / (sNeg + sPos), scores[i], 1e-5, $"image {i}");
            Assert.IsTrue(scores[i] is >= 0f and <= 1f);
        }
    }

    private static double Cos(double[] u, double[] v)
    {
        double dot = 0, nu = 0, nv = 0;
        for (int i = 0; i < u.Length; i++)
        {
            dot += u[i] * v[i];
            nu += u[i] * u[i];
            nv += v[i] * v[i];
        }
        return dot / Math.Sqrt(nu * nv);
    }

    private static Tensor T(double[][] rows)
        => tensor(rows.SelectMany(r => r.Select(x => (float)x)).ToArray(), [rows.Length, rows[0].Length]);
}
