using Fsac.MLNet;
using Fsac.MLNet.Classifiers;
using Fsac.MLNet.Encoders.Clip;
using Fsac.MLNet.Head;
using Microsoft.ML;
using Microsoft.ML.Data;

namespace Fsac.MLNet.Tests.MLNet;

/// <summary>
/// The ML.NET path end to end with the built-in resolver and a real (tiny, random-weight) OpenCLIP model from
/// ../shared/clip-reference on real cookie photographs: no test doubles between the pipeline and the method.
/// </summary>
[TestClass]
public class RealBackboneTests
{
    private static string TinyClipFolder()
    {
        var dir = TestData.TempFolder();
        var src = SharedData.Path("clip-reference", "tiny-vit");
        foreach (var file in new[] { "open_clip_config.json", "open_clip_model.safetensors" })
            File.Copy(Path.Combine(src, file), Path.Combine(dir, file));
        File.Copy(SharedData.Path("clip-reference", "vocab", ClipTokenizer.BpeGzFileName), Path.Combine(dir, ClipTokenizer.BpeGzFileName));
        return dir;
    }

    [TestMethod]
    public void TinyClipPipelineFitsEvaluatesAndReloadsWithIdenticalScores()
    {
        var clip = TinyClipFolder();
        var saved = Path.Combine(TestData.TempFolder(), "pipeline.zip");
        try
        {
            var ml = new MLContext(seed: 1);
            var train = TestData.View(ml, TestData.Cookies(normals: 2, anomalies: 0));
            var test = TestData.View(ml, TestData.Cookies(normals: 6, anomalies: 4));
            var model = ml.Transforms.LoadImages("Image", "", nameof(ImageRow.ImagePath))
                .Append(ml.Transforms.FewShotAnomaly(new FewShotAnomalyOptions
                {
                    Backbone = clip,
                    Shots = 2,
                    Seed = 7,
                    Method = AnomalyMethod.Fsac,
                    Fsac = FsacPreset.MVTec with { ClassName = "cookie", EpochsPerStage = 3, AnomaliesPerNormal = 2, CalibrationAnomaliesPerNormal = 1 },
                }))
                .Append(ml.Transforms.CopyColumns("AnomalyScore", "Probability"))
                .Fit(train);

            var scored = model.Transform(test);
            var probabilities = scored.GetColumn<float>("Probability").ToArray();
            Assert.HasCount(10, probabilities);
            Assert.IsTrue(probabilities.All(p => p is >= 0f and <= 1f), "anomaly scores lie in [0, 1]");
            var fsac = (FewShotAnomalyTransformer)model.ElementAt(1);
            StringAssert.StartsWith(fsac.Model.BackboneName, "clip:");

            var metrics = ml.BinaryClassification.EvaluateNonCalibrated(scored);
            var predicted = scored.GetColumn<bool>("PredictedLabel").ToArray();
            var labels = scored.GetColumn<bool>("Label").ToArray();
            Assert.AreEqual(predicted.Zip(labels).Count(p => p.First == p.Second) / 10.0, metrics.Accuracy, 1e-9);

            ml.Model.SaveWithFewShotAnomaly(model, train.Schema, saved);
            var fresh = new MLContext(seed: 42);
            var loaded = fresh.Model.LoadWithFewShotAnomaly(saved, out _);
            var rescored = loaded.Transform(TestData.View(fresh, TestData.Cookies(normals: 6, anomalies: 4)));
            CollectionAssert.AreEqual(probabilities, rescored.GetColumn<float>("Probability").ToArray());
            CollectionAssert.AreEqual(scored.GetColumn<float>("Score").ToArray(), rescored.GetColumn<float>("Score").ToArray());
        }
        finally
        {
            Directory.Delete(clip, recursive: true);
            Directory.Delete(Path.GetDirectoryName(saved)!, recursive: true);
        }
    }
}
