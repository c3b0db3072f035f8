using Fsac.MLNet.Encoders;
using Fsac.MLNet.Evaluation.Baselines;
using Fsac.MLNet.Head;
using Fsac.MLNet.Tests.TestDoubles;
using static TorchSharp.torch;

namespace Fsac.MLNet.Tests.Evaluation.Baselines;

[TestClass]
public class BaselineTests
{
    [TestMethod]
    public void KnnScoresOneMinusTheBestCosineToTheShots()
    {
        using var scope = NewDisposeScope();
        using var encoder = new TinyEncoder();
        var shots = SyntheticImages.Normals(3, seed: 1);
        var rng = new Random(2);
        var images = new[] { SyntheticImages.Normal(rng), SyntheticImages.Defective(rng), shots[1] };

        using var knn = KnnBaseline.Fit(encoder, shots);
        var scores = knn.Score(images);

        var shotFeatures = Rows(encoder.EncodeImages(shots, 16));
        var imageFeatures = Rows(encoder.EncodeImages(images, 16));
        for (int i = 0; i < images.Length; i++)
            Assert.AreEqual(1.0 - shotFeatures.Max(s => Cos(imageFeatures[i], s)), scores[i], 1e-5, $"image {i}");
        Assert.AreEqual(0f, scores[2], 1e-5f, "a shot is its own nearest neighbour");
    }

    [TestMethod]
    public void ZeroShotIsTheLogitOfTheSoftmaxOverPromptAnchors()
    {
        using var scope = NewDisposeScope();
        using var encoder = new TinyEncoder();
        var options = new FsacOptions { ClassName = "tile" };
        var rng = new Random(3);
        var images = new[] { SyntheticImages.Normal(rng), SyntheticImages.Defective(rng) };

        using var zeroShot = ZeroShotClassifier.Fit(encoder, options);
        var scores = zeroShot.Score(images);

        var prompts = new PromptEnsemble("tile");
        var tPlus = Mean(Rows(encoder.EncodeText(prompts.NormalPrompts)));
        var tMinus = Mean(Rows(encoder.EncodeText(prompts.AnomalousPrompts)));
        var features = Rows(encoder.EncodeImages(images, 16));
        for (int i = 0; i < images.Length; i++)
        {
            // The score is the logit of the softmax's anomalous entry: its sigmoid is the softmax.
            double ePlus = Math.Exp(Cos(features[i], tPlus) / 0.07), eMinus = Math.Exp(Cos(features[i], tMinus) / 0.07);
            Assert.AreEqual(eMinus / (ePlus + eMinus), 1 / (1 + Math.Exp(-scores[i])), 1e-5, $"image {i}");
            Assert.AreEqual((Cos(features[i], tMinus) - Cos(features[i], tPlus)) / 0.07, scores[i], 1e-4, $"image {i}");
        }
    }

    [TestMethod]
    public void ZeroShotNeedsATextTowerAndKnnNeedsShots()
    {
        using var imageOnly = new ImageOnlyEncoder(new TinyEncoder());
        Assert.ThrowsExactly<ArgumentException>(() => ZeroShotClassifier.Fit(imageOnly, new FsacOptions()));
        var e = Assert.ThrowsExactly<ArgumentException>(() => KnnBaseline.Fit(imageOnly, []));
        StringAssert.Contains(e.Message, "at least one normal image is required");
    }

    private static double[][] Rows(Tensor t)
    {
        var data = t.data<float>().ToArray();
        int d = (int)t.shape[1];
        return [.. Enumerable.Range(0, (int)t.shape[0]).Select(r => data.Skip(r * d).Take(d).Select(x => (double)x).ToArray())];
    }

    private static double[] Mean(double[][] rows) => [.. Enumerable.Range(0, rows[0].Length).Select(j => rows.Average(r => r[j]))];

    private static double Cos(double[] u, double[] v)
        => u.Zip(v, (a, b) => a * b).Sum() / Math.Sqrt(u.Sum(a => a * a) * v.Sum(b => b * b));
}
