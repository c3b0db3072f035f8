using Fsac.MLNet;
using Microsoft.ML;
using Microsoft.ML.Data;

namespace Fsac.MLNet.Tests.MLNet;

[TestClass]
public class PipelineTests
{
    private static FewShotAnomalyOptions FakeOptions(FakeCalls calls, int shots = 3, int? seed = 7) =>
        new() { Backbone = FakeBackboneResolver.Name, BackboneResolver = new FakeBackboneResolver(calls), Shots = shots, Seed = seed };

    [TestMethod]
    public void LoadImagesThenFewShotAnomalyThenCopyColumnsFitsTransformsAndEvaluates()
    {
        var ml = new MLContext(seed: 1);
        var calls = new FakeCalls();
        var data = TestData.View(ml, TestData.Cookies(normals: 6, anomalies: 4));
        var pipeline = ml.Transforms.LoadImages("Image", imageFolder: "", inputColumnName: nameof(ImageRow.ImagePath))
            .Append(ml.Transforms.FewShotAnomaly(FakeOptions(calls)))
            .Append(ml.Transforms.CopyColumns("AnomalyScore", "Probability"));

        var model = pipeline.Fit(data);
        var scored = model.Transform(data);

        Assert.AreEqual(1, calls.Fits);
        Assert.HasCount(3, calls.LastShots);
        var labels = scored.GetColumn<bool>("Label").ToArray();
        var predicted = scored.GetColumn<bool>("PredictedLabel").ToArray();
        var scores = scored.GetColumn<float>("Score").ToArray();
        var probabilities = scored.GetColumn<float>("Probability").ToArray();
        CollectionAssert.AreEqual(probabilities, scored.GetColumn<float>("AnomalyScore").ToArray());
        for (var i = 0; i < scores.Length; i++)
        {
            Assert.AreEqual(predicted[i], scores[i] > 0, $"row {i}: Score must be positive exactly when PredictedLabel is true");
            Assert.IsTrue(probabilities[i] is >= 0 and <= 1, $"row {i}: probability {probabilities[i]}");
        }

        var metrics = ml.BinaryClassification.EvaluateNonCalibrated(scored);
        var correct = labels.Zip(predicted).Count(p => p.First == p.Second);
        Assert.AreEqual((double)correct / labels.Length, metrics.Accuracy, 1e-12);
        var truePositives = labels.Zip(predicted).Count(p => p.First && p.Second);
        var expectedF1 = 2.0 * truePositives / (predicted.Count(p => p) + labels.Count(l => l));
        Assert.AreEqual(expectedF1, metrics.F1Score, 1e-12);
    }

    [TestMethod]
    public void AShotScoringExactlyAtTheThresholdIsPredictedAnomalousWithAPositiveScore()
    {
        var ml = new MLContext(seed: 1);
        var calls = new FakeCalls();
        var data = TestData.View(ml, TestData.Cookies(normals: 3, anomalies: 1));
        var transformer = ml.Transforms.FewShotAnomaly(FakeOptions(calls, shots: 3)).Fit(
            ml.Transforms.LoadImages("Image", "", nameof(ImageRow.ImagePath)).Fit(data).Transform(data));
        var scored = transformer.Transform(ml.Transforms.LoadImages("Image", "", nameof(ImageRow.ImagePath)).Fit(data).Transform(data));

        var probabilities = scored.GetColumn<float>("Probability").ToArray();
        var atThreshold = Array.IndexOf(probabilities, transformer.Model.Threshold);
        Assert.IsGreaterThanOrEqualTo(0, atThreshold, "the fake's threshold is the largest shot score, so one row scores exactly at it");
        Assert.IsTrue(scored.GetColumn<bool>("PredictedLabel").ElementAt(atThreshold));
        Assert.IsGreaterThan(0f, scored.GetColumn<float>("Score").ElementAt(atThreshold));
    }

    [TestMethod]
    public void OnlyNormalRowsAreShotsAndTheSeededChoiceIsLogged()
    {
        var ml = new MLContext(seed: 1);
        var messages = new List<string>();
        ml.Log += (_, e) => { lock (messages) messages.Add(e.Message); };
        var calls = new FakeCalls();
        var rows = TestData.Cookies(normals: 5, anomalies: 3);
        var transformer = ml.Transforms.FewShotAnomaly(Image(FakeOptions(calls, shots: 2, seed: 11), nameof(ImageRow.ImagePath)))
            .Fit(TestData.View(ml, rows));

        var shotLog = messages.Single(m => m.Contains("shots from 5 normal rows (of 8)"));
        var logged = rows.Where(r => shotLog.Contains(r.ImagePath)).ToList();
        Assert.HasCount(2, logged);
        Assert.IsTrue(logged.All(r => !r.Label), shotLog);
        Assert.IsTrue(messages.Any(m => m.Contains("fake fit")), "the trainer's channel messages reach MLContext.Log");
        transformer.Dispose();
        Assert.IsTrue(((FakeAnomalyModel)transformer.Model).Disposed);
    }

    [TestMethod]
    public void TheSameSeedOrTheSameMLContextSeedChoosesTheSameShots()
    {
        IReadOnlyList<float> Shots(int contextSeed, int? seed)
        {
            var ml = new MLContext(contextSeed);
            var calls = new FakeCalls();
            ml.Transforms.FewShotAnomaly(Image(FakeOptions(calls, shots: 3, seed: seed), nameof(ImageRow.ImagePath))).Fit(TestData.View(ml, TestData.Cookies(normals: 8, anomalies: 0)));
            return calls.LastShots;
        }

        CollectionAssert.AreEqual(Shots(1, 5).ToArray(), Shots(2, 5).ToArray(), "an explicit seed wins over the context's");
        CollectionAssert.AreEqual(Shots(3, null).ToArray(), Shots(3, null).ToArray(), "no seed: the MLContext's seed decides");
        var draws = Enumerable.Range(0, 6).Select(s => string.Join(",", Shots(1, s))).Distinct().Count();
        Assert.IsGreaterThan(1, draws, "different seeds draw different shots from 8 normal rows");
    }

    [TestMethod]
    public void PredictionEngineScoresSingleImagesLikeTheBatchTransform()
    {
        var ml = new MLContext(seed: 1);
        var calls = new FakeCalls();
        var rows = TestData.Cookies(normals: 4, anomalies: 2);
        var data = TestData.View(ml, rows);
        var model = ml.Transforms.LoadImages("Image", "", nameof(ImageRow.ImagePath))
            .Append(ml.Transforms.FewShotAnomaly(FakeOptions(calls)))
            .Fit(data);
        var batch = model.Transform(data).GetColumn<float>("Score").ToArray();

        using var engine = ml.Model.CreatePredictionEngine<ImagePathInput, AnomalyPrediction>(model);
        for (var i = 0; i < rows.Length; i++)
        {
            var prediction = engine.Predict(new ImagePathInput { ImagePath = rows[i].ImagePath });
            Assert.AreEqual(batch[i], prediction.Score, $"row {i}");
            Assert.AreEqual(prediction.Score > 0, prediction.PredictedLabel);
        }
    }

    [TestMethod]
    public void PathBytesAndMLImageColumnsGiveTheModelTheSamePixels()
    {
        var folder = TestData.TempFolder();
        try
        {
            var ml = new MLContext(seed: 1);
            var rows = TestData.SmallPngCookies(folder, normals: 3, anomalies: 2);
            var calls = new FakeCalls();
            var model = ml.Transforms.FewShotAnomaly(Image(FakeOptions(calls), nameof(ImageRow.ImagePath)))
                .Fit(TestData.View(ml, rows)).Model;

            float[] Probabilities(IDataView view, string column)
            {
                var fitted = ml.Transforms.FewShotAnomaly(Image(FakeOptions(calls), column)).Fit(view);
                // Same normals, same seed: the models must agree when the pixels agree.
                Assert.AreEqual(((FakeAnomalyModel)model).NormalBrightness, ((FakeAnomalyModel)fitted.Model).NormalBrightness, column);
                return fitted.Transform(view).GetColumn<float>("Probability").ToArray();
            }

            var fromPaths = Probabilities(TestData.View(ml, rows), nameof(ImageRow.ImagePath));
            var bytes = ml.Data.LoadFromEnumerable(rows.Select(r => new BytesRow { Image = File.ReadAllBytes(r.ImagePath), Label = r.Label }).ToList());
            var images = ml.Transforms.LoadImages("Image", "", nameof(ImageRow.ImagePath)).Fit(TestData.View(ml, rows)).Transform(TestData.View(ml, rows));
            CollectionAssert.AreEqual(fromPaths, Probabilities(bytes, "Image"), "encoded bytes");
            CollectionAssert.AreEqual(fromPaths, Probabilities(images, "Image"), "MLImage");
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    [TestMethod]
    public void AnomalyMapIsTheSaliencyAtImageSizeOrResampledToAFixedSize()
    {
        var folder = TestData.TempFolder();
        try
        {
            var ml = new MLContext(seed: 1);
            var rows = TestData.SmallPngCookies(folder, normals: 3, anomalies: 1);
            var data = TestData.View(ml, rows);
            var options = Image(FakeOptions(new FakeCalls()), nameof(ImageRow.ImagePath));
            options.AnomalyMapColumnName = "Map";
            var transformer = ml.Transforms.FewShotAnomaly(options).Fit(data);
            var scored = transformer.Transform(data);
            var map = scored.GetColumn<float[]>("Map").Last();
            using (var last = SixLabors.ImageSharp.Image.Load<SixLabors.ImageSharp.PixelFormats.Rgb24>(rows[^1].ImagePath))
                CollectionAssert.AreEqual(transformer.Model.Saliency(last), map);
            Assert.AreEqual(0, ((VectorDataViewType)scored.Schema["Map"].Type).Size, "variable length");

            options.AnomalyMapWidth = 12;
            options.AnomalyMapHeight = 16;
            var fixedSize = ml.Transforms.FewShotAnomaly(options).Fit(data).Transform(data);
            var type = (VectorDataViewType)fixedSize.Schema["Map"].Type;
            CollectionAssert.AreEqual(new[] { 16, 12 }, type.Dimensions.ToArray());
            var small = fixedSize.GetColumn<float[]>("Map").Last();
            Assert.HasCount(12 * 16, small);
            Assert.AreEqual(map.Average(), small.Average(), 0.02, "a 4x downsampled map keeps its mean roughly");
            Assert.IsTrue(small.All(v => v >= 0));
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    [TestMethod]
    public void TransformIsLazyAndSkipsTheModelWhenNoOutputColumnIsRead()
    {
        var ml = new MLContext(seed: 1);
        var calls = new FakeCalls();
        var data = TestData.View(ml, TestData.Cookies(normals: 4, anomalies: 2));
        var transformer = ml.Transforms.FewShotAnomaly(Image(FakeOptions(calls), nameof(ImageRow.ImagePath))).Fit(data);
        var before = calls.ScoreCalls;

        var scored = transformer.Transform(data);
        Assert.AreEqual(before, calls.ScoreCalls, "Transform alone reads nothing");
        Assert.HasCount(6, scored.GetColumn<bool>("Label").ToArray());
        Assert.AreEqual(before, calls.ScoreCalls, "pass-through columns do not need the model");
        scored.GetColumn<float>("Score").ToArray();
        Assert.AreEqual(before + 1, calls.ScoreCalls, "six rows fit in one batch of 16: one model call");
    }

    private static FewShotAnomalyOptions Image(FewShotAnomalyOptions options, string column)
    {
        options.ImageColumnName = column;
        return options;
    }

    private sealed class BytesRow
    {
        public byte[] Image { get; set; } = [];
        public bool Label { get; set; }
    }
}
