using Fsac.MLNet.Classifiers;
using Fsac.MLNet.Encoders;
using Fsac.MLNet.Evaluation.Baselines;
using Fsac.MLNet.Fitting;
using Fsac.MLNet.Head;
using Fsac.MLNet.Tests.TestDoubles;
using static TorchSharp.torch;

namespace Fsac.MLNet.Tests.Evaluation;

[TestClass]
public class FeatureScoringTests
{
    private static readonly FsacOptions Options = FsacPreset.MVTec with
    {
        EpochsPerStage = 4, AnomaliesPerNormal = 2, CalibrationAnomaliesPerNormal = 1, InferenceBatchSize = 4, Seed = 5,
    };

    private static List<SixLabors.ImageSharp.Image<SixLabors.ImageSharp.PixelFormats.Rgb24>> Images()
    {
        var rng = new Random(9);
        return [.. Enumerable.Range(0, 6).Select(i => i % 2 == 0 ? SyntheticImages.Normal(rng) : SyntheticImages.Defective(rng))];
    }

    [TestMethod]
    public void EveryMethodScoresFeaturesAsItScoresTheirImages()
    {
        using var scope = NewDisposeScope();
        using var encoder = new TinyEncoder();
        var shots = SyntheticImages.Normals(2, seed: 4);
        var images = Images();
        var features = encoder.EncodeImages(images, 4);
        using var fsac = FsacClassifier.Fit(encoder, shots, Options, new SquareSynthesizer());
        using var knn = KnnBaseline.Fit(encoder, shots);
        using var zeroShot = ZeroShotClassifier.Fit(encoder, Options);

        foreach (var (name, classifier) in new (string, IImageScorer)[] { ("fsac", fsac), ("knn", knn), ("zeroshot", zeroShot) })
        {
            var scorer = (IFeatureScorer)classifier;
            Assert.AreEqual(encoder.FeatureDim, scorer.FeatureDim, name);
            var fromFeatures = scorer.ScoreFeatures(features);
            var fromImages = classifier.Score(images);
            Assert.AreEqual(images.Count, fromFeatures.Length, name);
            for (int i = 0; i < images.Count; i++) Assert.AreEqual(fromImages[i], fromFeatures[i], 1e-6f, $"{name} image {i}");
            Assert.ThrowsExactly<ArgumentException>(() => scorer.ScoreFeatures(zeros(3, encoder.FeatureDim + 1)), name);
            Assert.ThrowsExactly<ArgumentException>(() => scorer.ScoreFeatures(zeros(encoder.FeatureDim)), name);
        }
    }

    [TestMethod]
    public void CheckpointsShowTheHeadBeforeTrainingAndAfterEveryEpochWithoutChangingTheFit()
    {
        using var scope = NewDisposeScope();
        using var encoder = new TinyEncoder();
        var shots = SyntheticImages.Normals(2, seed: 4);
        var features = encoder.EncodeImages(Images(), 4);
        var seen = new List<(int Epoch, int Total, TrainingStage? Stage, float[] Scores)>();
        TrainingCheckpoint? kept = null;

        using var observed = FsacClassifier.Fit(encoder, shots, Options, new SquareSynthesizer(), c =>
        {
            seen.Add((c.Epoch, c.TotalEpochs, c.Stage, c.ScoreFeatures(features)));
            kept = c;
        });
        using var plain = FsacClassifier.Fit(encoder, shots, Options, new SquareSynthesizer());

        CollectionAssert.AreEqual(Enumerable.Range(0, 9).ToArray(), seen.Select(s => s.Epoch).ToArray());
        Assert.IsTrue(seen.All(s => s.Total == 8));
        CollectionAssert.AreEqual(new TrainingStage?[] { null, TrainingStage.ImageSide, TrainingStage.ImageSide, TrainingStage.ImageSide, TrainingStage.ImageSide,
            TrainingStage.TextSide, TrainingStage.TextSide, TrainingStage.TextSide, TrainingStage.TextSide }, seen.Select(s => s.Stage).ToArray());
        CollectionAssert.AreEqual(plain.ScoreFeatures(features), observed.ScoreFeatures(features), "observing must not change the fit");
        CollectionAssert.AreEqual(plain.ScoreFeatures(features), seen[^1].Scores, "the last checkpoint is the fitted head");
        CollectionAssert.AreNotEqual(seen[0].Scores, seen[^1].Scores, "training moves the scores");
        Assert.ThrowsExactly<InvalidOperationException>(() => kept!.ScoreFeatures(features));
    }
}
