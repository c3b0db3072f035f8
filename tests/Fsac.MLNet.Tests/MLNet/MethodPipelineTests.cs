using Fsac.MLNet;
using Fsac.MLNet.Classifiers;
using Fsac.MLNet.Encoders.Clip;
using Fsac.MLNet.Head;
using Fsac.MLNet.PatchCore;
using Microsoft.ML;
using Microsoft.ML.Data;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.PixelFormats;
using SixLabors.ImageSharp.Processing;

namespace Fsac.MLNet.Tests.MLNet;

/// <summary>
/// The ML.NET estimator over the methods with the built-in resolver and real backbones (the offline ResNet18, the tiny
/// random-weight CLIP) on real cookies reduced to 96x128 PNGs: the default method's anomaly maps, probabilities,
/// evaluation and save/load; AddNormals on a memory model, and its refusal on a trained head.
/// </summary>
[TestClass]
public sealed class MethodPipelineTests
{
    private const int Width = 96, Height = 128;
    private static string s_folder = null!;
    private static string s_clip = null!;
    private static ImageRow[] s_normals = null!;
    private static ImageRow[] s_anomalies = null!;

    public TestContext TestContext { get; set; } = null!;

    [ClassInitialize]
    public static void Prepare(TestContext _)
    {
        s_folder = TestData.TempFolder();
        ImageRow Small(ImageRow row)
        {
            using var image = Image.Load<Rgb24>(row.ImagePath);
            image.Mutate(x => x.Resize(Width, Height));
            var path = Path.Combine(s_folder, Path.GetFileNameWithoutExtension(row.ImagePath) + ".png");
            image.SaveAsPng(path);
            return new ImageRow { ImagePath = path, Label = row.Label };
        }
        var rows = TestData.Cookies(normals: 6, anomalies: 3).Select(Small).ToArray();
        s_normals = [.. rows.Where(r => !r.Label)];
        s_anomalies = [.. rows.Where(r => r.Label)];

        s_clip = Path.Combine(s_folder, "tiny-clip");
        Directory.CreateDirectory(s_clip);
        var src = SharedData.Path("clip-reference", "tiny-vit");
        foreach (var file in new[] { "open_clip_config.json", "open_clip_model.safetensors" })
            File.Copy(Path.Combine(src, file), Path.Combine(s_clip, file));
        File.Copy(SharedData.Path("clip-reference", "vocab", ClipTokenizer.BpeGzFileName), Path.Combine(s_clip, ClipTokenizer.BpeGzFileName));
    }

    [ClassCleanup]
    public static void Cleanup()
    {
        if (s_folder is not null && Directory.Exists(s_folder)) Directory.Delete(s_folder, recursive: true);
    }

    private static ImageRow[] TestRows => [.. s_normals.Skip(3), .. s_anomalies];

    private static FewShotAnomalyOptions Options(AnomalyMethod method, string backbone = "resnet18") => new()
    {
        ImageColumnName = nameof(ImageRow.ImagePath),
        Backbone = backbone,
        Method = method,
        Shots = 2,
        Seed = 3,
        BatchSize = 8,
        Fsac = FsacPreset.MVTec with { ClassName = "cookie", EpochsPerStage = 2, AnomaliesPerNormal = 2, CalibrationAnomaliesPerNormal = 1 },
        PatchCore = new PatchCoreOptions { Resolution = 96, CalibrationAnomaliesPerNormal = 1 },
    };

    private static float[] Raw(IDataView scored, float threshold) => [.. scored.GetColumn<float>("Score").Select(m => m + threshold)];

    /// <summary>
    /// The default method on the tiny CLIP (a fixed-input ViT keeps its own input) and PatchCore at 96 px on ResNet18.
    /// The default on ResNet18 runs at 320 px, where fitting alone takes seconds on a CPU, so it is not repeated here.
    /// </summary>
    [TestMethod]
    [DataRow(AnomalyMethod.Default, "tiny-clip")]
    [DataRow(AnomalyMethod.PatchCore, "resnet18")]
    public void AnomalyMapsHaveOnePixelPerImagePixelProbabilitiesLieInsideTheUnitIntervalAndThePipelineRoundTrips(AnomalyMethod method, string backbone)
    {
        var ml = new MLContext(seed: 1);
        var options = Options(method, backbone == "tiny-clip" ? s_clip : backbone);
        options.AnomalyMapColumnName = "AnomalyMap";
        options.LabelColumnName = nameof(ImageRow.Label);
        var transformer = ml.Transforms.FewShotAnomaly(options).Fit(TestData.View(ml, s_normals.Take(3)));
        var test = TestData.View(ml, TestRows);
        // Each read of a lazy scored view scores again: read every column in one pass.
        string[] columns = ["Score", "PredictedLabel", "Probability", "AnomalyMap", nameof(ImageRow.Label)];
        var scored = ml.Data.Cache(transformer.Transform(test), columns);

        var model = (FewShotAnomalyClassifier)transformer.Model;
        var memory = (PatchCoreClassifier)model.Inner;
        Assert.AreEqual(method, model.Method);
        Assert.AreEqual(method == AnomalyMethod.Default ? null : 96, memory.Options.Resolution);
        Assert.AreEqual(2, memory.Shots);

        var mapType = (VectorDataViewType)scored.Schema["AnomalyMap"].Type;
        Assert.AreEqual(NumberDataViewType.Single, mapType.ItemType);
        Assert.IsFalse(mapType.IsKnownSize, "maps at each image's own size: a variable-length vector");
        var maps = scored.GetColumn<VBuffer<float>>("AnomalyMap").Select(v => v.DenseValues().ToArray()).ToList();
        var probabilities = scored.GetColumn<float>("Probability").ToArray();
        var margins = scored.GetColumn<float>("Score").ToArray();
        var predicted = scored.GetColumn<bool>("PredictedLabel").ToArray();
        TestContext.WriteLine($"threshold {model.Threshold:G5}; probabilities {string.Join(", ", probabilities.Select(p => p.ToString("G4")))}");
        Assert.HasCount(TestRows.Length, maps);
        foreach (var map in maps)
        {
            Assert.HasCount(Width * Height, map, "one value per image pixel");
            Assert.IsTrue(map.All(v => v >= 0f && float.IsFinite(v)));
            Assert.IsGreaterThan(map.Min(), map.Max(), "not all equal");
        }
        Assert.IsTrue(probabilities.All(p => p is > 0f and < 1f), string.Join(", ", probabilities));
        for (int i = 0; i < margins.Length; i++)
        {
            Assert.AreEqual(predicted[i], margins[i] > 0, $"row {i}");
            Assert.AreEqual(model.ToProbability(margins[i] + model.Threshold), probabilities[i], 1e-5f, $"row {i}: Probability is the model's ToProbability of its score");
        }
        Assert.AreEqual(TestRows.Length, probabilities.Distinct().Count(), "continuous probabilities");

        var metrics = ml.BinaryClassification.EvaluateNonCalibrated(scored);
        var labels = scored.GetColumn<bool>(nameof(ImageRow.Label)).ToArray();
        Assert.AreEqual(labels.Zip(predicted).Count(p => p.First == p.Second) / (double)labels.Length, metrics.Accuracy, 1e-9);

        using var stream = new MemoryStream();
        ml.Model.SaveWithFewShotAnomaly(transformer, test.Schema, stream);
        stream.Position = 0;
        var fresh = new MLContext(seed: 9);
        var loaded = fresh.Model.LoadWithFewShotAnomaly(stream, out _);
        var rescored = fresh.Data.Cache(loaded.Transform(TestData.View(fresh, TestRows)), columns);
        CollectionAssert.AreEqual(margins, rescored.GetColumn<float>("Score").ToArray());
        CollectionAssert.AreEqual(probabilities, rescored.GetColumn<float>("Probability").ToArray());
        var reloadedMaps = rescored.GetColumn<VBuffer<float>>("AnomalyMap").Select(v => v.DenseValues().ToArray()).ToList();
        for (int i = 0; i < maps.Count; i++) CollectionAssert.AreEqual(maps[i], reloadedMaps[i], $"map {i}");
        var reloadedModel = (FewShotAnomalyClassifier)((FewShotAnomalyTransformer)loaded.Single(t => t is FewShotAnomalyTransformer)).Model;
        Assert.AreEqual(model.Threshold, reloadedModel.Threshold);
        transformer.Dispose();
        ((IDisposable)loaded).Dispose();
    }

    [TestMethod]
    public void AddNormalsOnAPatchCoreModelGrowsItWithoutMovingScoresOfImagesAlreadyInMemory()
    {
        var ml = new MLContext(seed: 1);
        var train = TestData.View(ml, s_normals.Take(2));
        var transformer = ml.Transforms.FewShotAnomaly(Options(AnomalyMethod.PatchCore)).Fit(train);
        var model = (FewShotAnomalyClassifier)transformer.Model;
        var memory = (PatchCoreClassifier)model.Inner;
        var test = TestData.View(ml, [.. s_normals.Skip(2).Take(2), .. s_anomalies.Take(1)]);
        var scored = transformer.Transform(test);
        var before = Raw(scored, model.Threshold);
        long patches = memory.MemoryPatches;

        // The shots again: their patches are in the memory already, so no score moves.
        transformer.AddNormals(train);
        Assert.AreEqual(4, memory.Shots);
        Assert.AreEqual(2 * patches, memory.MemoryPatches);
        var again = Raw(scored, model.Threshold);
        for (int i = 0; i < before.Length; i++) Assert.AreEqual(before[i], again[i], 1e-4f * Math.Max(1f, before[i]), $"row {i}");
        Assert.IsTrue(scored.GetColumn<float>("Probability").All(p => float.IsFinite(p) && p is >= 0f and <= 1f));

        // New normals, with an anomalous row among them that must not be added: the two normals' scores drop.
        transformer.AddNormals(TestData.View(ml, [.. s_normals.Skip(2).Take(2), .. s_anomalies.Take(1)]));
        Assert.AreEqual(6, memory.Shots, "the row labelled anomalous is not a normal");
        var after = Raw(scored, model.Threshold);
        Assert.IsTrue(after.All(float.IsFinite));
        for (int i = 0; i < after.Length; i++) Assert.IsLessThanOrEqualTo(before[i] + 1e-4f, after[i], $"row {i}");
        Assert.IsLessThan(before[0] / 10, after[0], "an added image is (nearly) in the memory");
        Assert.IsLessThan(before[1] / 10, after[1]);
        var predicted = scored.GetColumn<bool>("PredictedLabel").ToArray();
        var margins = scored.GetColumn<float>("Score").ToArray();
        for (int i = 0; i < margins.Length; i++) Assert.AreEqual(predicted[i], margins[i] > 0, $"row {i}: the view follows the new threshold");
        transformer.Dispose();
    }

    [TestMethod]
    [DataRow(AnomalyMethod.Fsac)]
    [DataRow(AnomalyMethod.WinClipPlus)]
    public void AddNormalsOnAModelThatCannotGrowThrowsNotSupported(AnomalyMethod method)
    {
        var ml = new MLContext(seed: 1);
        var train = TestData.View(ml, s_normals.Take(2));
        var transformer = ml.Transforms.FewShotAnomaly(Options(method, s_clip)).Fit(train);
        Assert.AreEqual(method, ((FewShotAnomalyClassifier)transformer.Model).Method);
        var before = transformer.Transform(train).GetColumn<float>("Score").ToArray();

        var e = Assert.ThrowsExactly<NotSupportedException>(() => transformer.AddNormals(train));

        StringAssert.Contains(e.Message, "fit it again");
        CollectionAssert.AreEqual(before, transformer.Transform(train).GetColumn<float>("Score").ToArray());
        transformer.Dispose();
    }

    [TestMethod]
    public void TheFlatOverloadFitsTheNamedMethod()
    {
        var ml = new MLContext(seed: 1);
        var transformer = ml.Transforms.FewShotAnomaly(imageColumnName: nameof(ImageRow.ImagePath), backbone: s_clip, shots: 1, seed: 2,
            method: AnomalyMethod.PatchCore).Fit(TestData.View(ml, s_normals.Take(2)));
        var model = (FewShotAnomalyClassifier)transformer.Model;
        Assert.AreEqual(AnomalyMethod.PatchCore, model.Method);
        Assert.IsInstanceOfType<PatchCoreClassifier>(model.Inner);
        Assert.AreEqual(1, ((PatchCoreClassifier)model.Inner).Shots);
        var probabilities = transformer.Transform(TestData.View(ml, TestRows)).GetColumn<float>("Probability").ToArray();
        Assert.IsTrue(probabilities.All(p => p is > 0f and < 1f), string.Join(", ", probabilities));
        transformer.Dispose();
    }
}
