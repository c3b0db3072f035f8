using Fsac.MLNet.Classifiers;
using Fsac.MLNet.Evaluation.Baselines;
using Fsac.MLNet.Head;
using Fsac.MLNet.Metrics;
using Fsac.MLNet.Tests.TestDoubles;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.PixelFormats;

namespace Fsac.MLNet.Tests.Head;

/// <summary>
/// The synthetic task: 4 normal shots of a noisy surface, test images half normal and half with a small
/// colour-shifted rectangle; training anomalies are random squares (<see cref="SquareSynthesizer"/>).
/// The test double's text tower is random, so zero-shot is at chance level (right or wrong by accident).
/// </summary>
[TestClass]
public class SyntheticTaskTests
{
    public TestContext TestContext { get; set; } = null!;

    [TestMethod]
    [DataRow(1)]
    [DataRow(2)]
    [DataRow(3)]
    public void TrainingMovesAurocWellAboveZeroShot(int encoderSeed)
    {
        using var encoder = new TinyEncoder(seed: encoderSeed);
        var normals = SyntheticImages.Normals(4, seed: 11);
        var rng = new Random(12);
        var test = new List<Image<Rgb24>>();
        var labels = new List<bool>();
        for (int i = 0; i < 30; i++) { test.Add(SyntheticImages.Normal(rng)); labels.Add(false); }
        for (int i = 0; i < 30; i++) { test.Add(SyntheticImages.Defective(rng)); labels.Add(true); }
        var options = FsacPreset.MVTec with { ClassName = "surface", Seed = 3 };

        using var zeroShot = ZeroShotClassifier.Fit(encoder, options);
        using var knn = KnnBaseline.Fit(encoder, normals);
        using var fsac = FsacClassifier.Fit(encoder, normals, options, new SquareSynthesizer());

        double zs = ImageMetrics.Auroc(zeroShot.Score(test), labels);
        double kn = ImageMetrics.Auroc(knn.Score(test), labels);
        var scores = fsac.Score(test);
        double fs = ImageMetrics.Auroc(scores, labels);
        var predicted = fsac.Predict(test);
        double accuracy = predicted.Zip(labels).Count(p => p.First == p.Second) / (double)labels.Count;
        TestContext.WriteLine($"AUROC zero-shot {zs:F3}, kNN {kn:F3}, CLIP-FSAC {fs:F3}; AP {ImageMetrics.AveragePrecision(scores, labels):F3}; F1max {ImageMetrics.F1Max(scores, labels):F3}; threshold {fsac.Threshold:F4}, accuracy {accuracy:F3}");
        Assert.IsGreaterThanOrEqualTo(0.95, fs, "CLIP-FSAC AUROC");
        Assert.IsGreaterThanOrEqualTo(zs + 0.3, fs, "CLIP-FSAC must beat zero-shot by a wide margin");
        Assert.IsGreaterThanOrEqualTo(0.85, accuracy, "the threshold chosen without real anomalies must classify most test images");
        foreach (var image in test.Concat(normals)) image.Dispose();
    }
}
