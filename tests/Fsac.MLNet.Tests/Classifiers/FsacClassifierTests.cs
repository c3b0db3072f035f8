using Fsac.MLNet.Checkpoints;
using Fsac.MLNet.Classifiers;
using Fsac.MLNet.Fitting;
using Fsac.MLNet.Head;
using Fsac.MLNet.Tests.TestDoubles;
using System.IO.Compression;
using System.Text;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.PixelFormats;

namespace Fsac.MLNet.Tests.Classifiers;

[TestClass]
public class FsacClassifierTests
{
    public TestContext TestContext { get; set; } = null!;

    private static readonly FsacOptions Options = FsacPreset.MVTec with
    {
        ClassName = "surface",
        EpochsPerStage = 30,
        AnomaliesPerNormal = 4,
        CalibrationAnomaliesPerNormal = 2,
        InferenceBatchSize = 4,
        Seed = 1,
    };

    private static List<Image<Rgb24>> TestImages(int seed)
    {
        var rng = new Random(seed);
        return [.. Enumerable.Range(0, 8).Select(i => i % 2 == 0 ? SyntheticImages.Normal(rng) : SyntheticImages.Defective(rng))];
    }

    [TestMethod]
    public void RequiresAtLeastOneNormalImage()
    {
        using var encoder = new TinyEncoder();
        var e = Assert.ThrowsExactly<ArgumentException>(() => FsacClassifier.Fit(encoder, [], Options, new SquareSynthesizer()));
        StringAssert.Contains(e.Message, "at least one normal image is required");
    }

    [TestMethod]
    public void AnImageScoresTheSameAloneAndInsideABatch()
    {
        using var encoder = new TinyEncoder();
        using var model = FsacClassifier.Fit(encoder, SyntheticImages.Normals(2, seed: 3), Options, new SquareSynthesizer());
        var images = TestImages(4);

        // Equal up to float rounding: a batched matrix product may round differently from a single-row one.
        var together = model.Score(images);
        var reversed = model.Score([.. Enumerable.Reverse(images)]);
        for (int i = 0; i < images.Count; i++)
        {
            float alone = model.Score([images[i]])[0];
            Assert.AreEqual(alone, together[i], 1e-5f, $"image {i} alone vs in a batch of 8");
            Assert.AreEqual(alone, reversed[images.Count - 1 - i], 1e-5f, $"image {i} alone vs in another batch");
        }
        CollectionAssert.AreEqual(together, model.Score(images), "scoring twice must not drift");
    }

    [TestMethod]
    public void TheSameSeedGivesTheSameScoresBitForBit()
    {
        using var encoder = new TinyEncoder();
        var normals = SyntheticImages.Normals(3, seed: 5);
        var images = TestImages(6);

        using var a = FsacClassifier.Fit(encoder, normals, Options, new SquareSynthesizer());
        using var b = FsacClassifier.Fit(encoder, normals, Options, new SquareSynthesizer());
        using var c = FsacClassifier.Fit(encoder, normals, Options with { Seed = 2 }, new SquareSynthesizer());

        CollectionAssert.AreEqual(a.Score(images), b.Score(images));
        Assert.AreEqual(a.Threshold, b.Threshold);
        CollectionAssert.AreNotEqual(a.Score(images), c.Score(images));
    }

    [TestMethod]
    public void EncodesEachImageOnceWhateverTheNumberOfEpochs()
    {
        int Batches(int epochs)
        {
            using var encoder = new TinyEncoder();
            using var model = FsacClassifier.Fit(encoder, SyntheticImages.Normals(2, seed: 3), Options with { EpochsPerStage = epochs }, new SquareSynthesizer());
            return encoder.ImageBatchesEncoded;
        }

        // Shots: 1 batch; pool: 1 batch per shot; 12 augmented normals: 3 batches; fresh anomalies: 1 batch per shot.
        Assert.AreEqual(1 + 2 + 3 + 2, Batches(2));
        Assert.AreEqual(Batches(2), Batches(20));
    }

    [TestMethod]
    public void SaliencyHasTheImageSizeAndIsNonNegative()
    {
        using var encoder = new TinyEncoder();
        using var model = FsacClassifier.Fit(encoder, SyntheticImages.Normals(2, seed: 3), Options, new SquareSynthesizer());
        using var image = SyntheticImages.Defective(new Random(8), width: 50, height: 37);

        var map = model.Saliency(image);

        Assert.HasCount(37 * 50, map);
        var values = map;
        Assert.IsTrue(values.All(v => v >= 0f && float.IsFinite(v)));
        Assert.IsGreaterThan(0f, values.Max());
    }

    [TestMethod]
    public void SaliencyIsTheSameOnEveryCall()
    {
        using var encoder = new TinyEncoder();
        using var model = FsacClassifier.Fit(encoder, SyntheticImages.Normals(2, seed: 3), Options, new SquareSynthesizer());
        using var image = SyntheticImages.Defective(new Random(8));

        var first = model.Saliency(image);
        for (int call = 0; call < 5; call++)
            CollectionAssert.AreEqual(first, model.Saliency(image), $"call {call + 2}");
    }

    [TestMethod]
    public void SaliencyConcentratesOnThePaintedDefect()
    {
        using var encoder = new TinyEncoder();
        using var model = FsacClassifier.Fit(encoder, SyntheticImages.Normals(4, seed: 3), Options with { EpochsPerStage = 100 }, new SquareSynthesizer());
        using var image = SyntheticImages.Normal(new Random(13));
        for (int y = 10; y < 16; y++)
            for (int x = 22; x < 28; x++)
                image[x, y] = new Rgb24(230, 40, 40);

        var map = model.Saliency(image);

        double inside = 0, outside = 0;
        for (int y = 0; y < 40; y++)
            for (int x = 0; x < 40; x++)
                if (y is >= 8 and < 18 && x is >= 20 and < 30) inside += map[y * 40 + x]; else outside += map[y * 40 + x];
        inside /= 100;
        outside /= 1600 - 100;
        TestContext.WriteLine($"mean saliency near the defect {inside:E3}, elsewhere {outside:E3}");
        Assert.IsGreaterThan(2 * outside, inside);
    }

    [TestMethod]
    public void PredictAppliesTheStoredThreshold()
    {
        using var encoder = new TinyEncoder();
        using var model = FsacClassifier.Fit(encoder, SyntheticImages.Normals(2, seed: 3), Options, new SquareSynthesizer());
        var images = TestImages(9);

        Assert.IsTrue(float.IsFinite(model.Threshold));
        Assert.IsTrue(model.ToProbability(model.Threshold) is > 0f and < 1f, "the threshold is a logit of AS");
        CollectionAssert.AreEqual(model.Score(images).Select(s => s >= model.Threshold).ToArray(), model.Predict(images));
    }

    [TestMethod]
    public void SaveAndLoadGiveIdenticalScores()
    {
        using var encoder = new TinyEncoder();
        var options = Options with { ExtraAnomalousPrompts = ["a {} with a stain"], TrainingMode = FsacTrainingMode.Joint };
        using var model = FsacClassifier.Fit(encoder, SyntheticImages.Normals(2, seed: 3), options, new SquareSynthesizer());
        var images = TestImages(10);
        using var stream = new MemoryStream();

        model.Save(stream);
        stream.Position = 0;
        using var loaded = FsacClassifier.Load(stream, encoder);

        CollectionAssert.AreEqual(model.Score(images), loaded.Score(images));
        Assert.AreEqual(model.Threshold, loaded.Threshold);
        Assert.AreEqual("square", loaded.SynthesizerName);
        Assert.AreEqual(FsacTrainingMode.Joint, loaded.Options.TrainingMode);
        CollectionAssert.AreEqual(new[] { "a {} with a stain" }, loaded.Options.ExtraAnomalousPrompts.ToArray());
        string[] none = [];
        Assert.AreEqual(model.Options with { ExtraNormalPrompts = none, ExtraAnomalousPrompts = none },
            loaded.Options with { ExtraNormalPrompts = none, ExtraAnomalousPrompts = none }, "every other option survives");
        CollectionAssert.AreEqual(model.History.Stages[0].Losses.ToArray(), loaded.History.Stages[0].Losses.ToArray());
        CollectionAssert.AreEqual(model.Saliency(images[1]), loaded.Saliency(images[1]));
    }

    [TestMethod]
    public void RoundTripsThroughAFileWithoutCrossAttention()
    {
        using var encoder = new TinyEncoder();
        using var model = FsacClassifier.Fit(encoder, SyntheticImages.Normals(1, seed: 3), Options with { UseCrossAttention = false }, new SquareSynthesizer());
        var path = Path.Combine(Path.GetTempPath(), $"fsac-{Guid.NewGuid():N}.fsac");
        try
        {
            model.Save(path);
            using var loaded = FsacClassifier.Load(path, encoder);
            var images = TestImages(11);
            CollectionAssert.AreEqual(model.Score(images), loaded.Score(images));
        }
        finally
        {
            File.Delete(path);
        }
    }

    [TestMethod]
    public void LoadRefusesAnotherEncoder()
    {
        using var encoder = new TinyEncoder();
        using var model = FsacClassifier.Fit(encoder, SyntheticImages.Normals(1, seed: 3), Options, new SquareSynthesizer());
        var bytes = Save(model);
        using var renamed = new TinyEncoder(name: "another-backbone");
        using var wider = new TinyEncoder(featureDim: 48);

        var e = Assert.ThrowsExactly<IncompatibleModelException>(() => FsacClassifier.Load(new MemoryStream(bytes), renamed));
        Assert.AreEqual("tiny-test-encoder", e.SavedEncoder);
        Assert.AreEqual("another-backbone", e.GivenEncoder);
        Assert.ThrowsExactly<IncompatibleModelException>(() => FsacClassifier.Load(new MemoryStream(bytes), wider));
    }

    [TestMethod]
    public void LoadRefusesCorruptData()
    {
        using var encoder = new TinyEncoder();
        using var model = FsacClassifier.Fit(encoder, SyntheticImages.Normals(1, seed: 3), Options, new SquareSynthesizer());
        var bytes = Save(model);

        Assert.ThrowsExactly<CheckpointFormatException>(() => FsacClassifier.Load(new MemoryStream(Encoding.UTF8.GetBytes("not a model")), encoder));
        Assert.ThrowsExactly<CheckpointFormatException>(() => FsacClassifier.Load(new MemoryStream(bytes[..(bytes.Length / 2)]), encoder));
        Assert.ThrowsExactly<CheckpointFormatException>(() => FsacClassifier.Load(new MemoryStream(
            Rewrite(bytes, "manifest.json", m => Encoding.UTF8.GetBytes(Encoding.UTF8.GetString(m).Replace("\"formatVersion\": 2", "\"formatVersion\": 99", StringComparison.Ordinal)))), encoder));
        Assert.ThrowsExactly<CheckpointFormatException>(() => FsacClassifier.Load(new MemoryStream(
            Rewrite(bytes, "manifest.json", _ => Encoding.UTF8.GetBytes("{ \"format\": "))), encoder));
        Assert.ThrowsExactly<CheckpointFormatException>(() => FsacClassifier.Load(new MemoryStream(
            Rewrite(bytes, "head.safetensors", w => w[..(w.Length - 8)])), encoder));
    }

    [TestMethod]
    public void AVersion1FileStoresItsThresholdOnAS_AndLoadsAsItsLogit()
    {
        using var encoder = new TinyEncoder();
        using var model = FsacClassifier.Fit(encoder, SyntheticImages.Normals(1, seed: 3), Options, new SquareSynthesizer());
        var asThreshold = model.ToProbability(model.Threshold);
        var v1 = Rewrite(Save(model), "manifest.json", m =>
        {
            var json = System.Text.Json.Nodes.JsonNode.Parse(m)!;
            json["formatVersion"] = 1;
            json["threshold"] = asThreshold;
            return Encoding.UTF8.GetBytes(json.ToJsonString());
        });

        using var loaded = FsacClassifier.Load(new MemoryStream(v1), encoder);

        Assert.AreEqual(model.Threshold, loaded.Threshold, 1e-3f);
        var images = TestImages(4);
        CollectionAssert.AreEqual(model.Predict(images), loaded.Predict(images));
    }

    [TestMethod]
    public void RunsOnABackboneWithoutATextTower()
    {
        using var encoder = new ImageOnlyEncoder(new TinyEncoder());
        using var model = FsacClassifier.Fit(encoder, SyntheticImages.Normals(2, seed: 3), Options, new SquareSynthesizer());

        var scores = model.Score(TestImages(12));

        Assert.HasCount(8, scores);
        Assert.IsTrue(scores.All(float.IsFinite));
        Assert.IsTrue(scores.Select(model.ToProbability).All(p => p is >= 0f and <= 1f), "AS = sigmoid(score) lies in [0, 1]");
    }

    [TestMethod]
    public void ResolvesTheSynthesizerByTheOptionsMethodName()
    {
        using var encoder = new TinyEncoder();
        var requested = new List<string>();

        using var model = FsacClassifier.Fit(encoder, SyntheticImages.Normals(1, seed: 3), FsacPreset.VisA with { EpochsPerStage = 2 },
            name => { requested.Add(name); return new SquareSynthesizer(); });

        CollectionAssert.AreEqual(new[] { "nsa" }, requested);
    }

    [TestMethod]
    public void ReportsProgressAndHonoursCancellation()
    {
        using var encoder = new TinyEncoder();
        var progress = new ListProgress<TrainingProgress>();
        using (FsacClassifier.Fit(encoder, SyntheticImages.Normals(1, seed: 3), Options, new SquareSynthesizer(), progress)) { }
        Assert.HasCount(2 * Options.EpochsPerStage, progress.Reports);

        using var cancelled = new CancellationTokenSource();
        cancelled.Cancel();
        Assert.ThrowsExactly<OperationCanceledException>(() =>
            FsacClassifier.Fit(encoder, SyntheticImages.Normals(1, seed: 3), Options, new SquareSynthesizer(), cancellationToken: cancelled.Token));
    }

    private static byte[] Save(FsacClassifier model)
    {
        using var stream = new MemoryStream();
        model.Save(stream);
        return stream.ToArray();
    }

    private static byte[] Rewrite(byte[] archive, string entryName, Func<byte[], byte[]> change)
    {
        using var output = new MemoryStream();
        using (var source = new ZipArchive(new MemoryStream(archive), ZipArchiveMode.Read))
        using (var target = new ZipArchive(output, ZipArchiveMode.Create, leaveOpen: true))
        {
            foreach (var entry in source.Entries)
            {
                using var read = new MemoryStream();
                using (var s = entry.Open()) s.CopyTo(read);
                var content = entry.FullName == entryName ? change(read.ToArray()) : read.ToArray();
                using var w = target.CreateEntry(entry.FullName).Open();
                w.Write(content);
            }
        }
        return output.ToArray();
    }
}
