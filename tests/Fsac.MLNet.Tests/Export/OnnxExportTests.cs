using Fsac.MLNet.Classifiers;
using Fsac.MLNet.Encoders;
using Fsac.MLNet.Export;
using Fsac.MLNet.Head;
using Fsac.MLNet.PatchCore;
using Fsac.MLNet.Tests.TestDoubles;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.PixelFormats;
using SixLabors.ImageSharp.Processing;
using TorchSharp;

namespace Fsac.MLNet.Tests.Export;

/// <summary>
/// ONNX export of fitted PatchCore models on the real offline ResNet18, run with ONNX Runtime and compared with the
/// TorchSharp model on the same resized pixels (exact float32 search on both sides).
/// </summary>
[TestClass]
public sealed class OnnxExportTests
{
    private const double Tolerance = 1e-5;

    private static ResNet18Encoder s_encoder = null!;

    public TestContext TestContext { get; set; } = null!;

    [ClassInitialize]
    public static void Load(TestContext _) => s_encoder = ResNet18Encoder.LoadDefault();

    [ClassCleanup]
    public static void Release() => s_encoder?.Dispose();

    [TestMethod]
    public void DefaultModelOnRealCookies_ScoresDecidesAndMapsAsTorchSharpDoes()
    {
        if (SharedData.TryRoot is null) Assert.Inconclusive("The shared data folder (../shared or FSAC_SHARED) is absent: no real cookie images to fit on.");
        // Portrait cookies reduced from 576x768 to 96x128: the default's input is then 224x288 (its grid 28x36).
        // The default's settings with an exact search, and without the flipped and rotated copies, which only make the
        // fit slower here: they grow the memory, which the export stores as it is.
        var normals = Cookies("normal", 3);
        var anomalies = Cookies("anomaly", 2);
        var options = DefaultMethod.For(s_encoder, seed: 5) with
        {
            Search = SearchPrecision.Float32, Augmentations = PatchAugmentations.None, CalibrationAnomaliesPerNormal = 1,
        };
        using var model = PatchCoreClassifier.Fit(s_encoder, normals.Take(2).ToList(), options);
        using var view = (ResNet18Encoder)s_encoder.WithResolution(options.Resolution!.Value);

        AssertParity(model, view, [.. normals.Skip(2), .. anomalies], imageWidth: 96, imageHeight: 128);
        DisposeAll(normals);
        DisposeAll(anomalies);
    }

    [TestMethod]
    public void RawFeatureMaxScoreModelOnSyntheticImages_ScoresDecidesAndMapsAsTorchSharpDoes()
    {
        // PatchCore's own settings: a 224x224 centre crop, raw (not unit-length) features, the single most distant patch.
        var rng = new Random(11);
        var normals = SyntheticImages.Normals(2, seed: 7);
        List<Image<Rgb24>> test = [SyntheticImages.Normal(rng), SyntheticImages.Defective(rng), SyntheticImages.Defective(rng)];
        var options = new PatchCoreOptions { Search = SearchPrecision.Float32, CalibrationAnomaliesPerNormal = 1, Seed = 2 };
        using var model = PatchCoreClassifier.Fit(s_encoder, normals, options);

        var decisions = AssertParity(model, s_encoder, test, imageWidth: null, imageHeight: null);
        CollectionAssert.AreEquivalent(new[] { false, true }, decisions.Distinct().ToArray(), "the decisions compared include both outcomes");
        DisposeAll(normals);
        DisposeAll(test);
    }

    [TestMethod]
    public void ExportedGraph_LoadsInOnnxRuntime_WithTheDocumentedNamesTypesShapesAndMetadata()
    {
        var normals = SyntheticImages.Normals(1, seed: 3);
        using var model = FewShotAnomalyClassifier.Fit(s_encoder, normals, new AnomalyMethodOptions { Seed = 1 });
        var folder = Path.Combine(Path.GetTempPath(), "fsac-onnx-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(folder);
        try
        {
            var path = Path.Combine(folder, "model.onnx");
            // A landscape 400x300 camera: the default keeps the aspect ratio, 224 px high, 299 rounded to 288 wide.
            model.ExportOnnx(path, imageWidth: 400, imageHeight: 300);
            CollectionAssert.AreEqual(new[] { "model.onnx" }, Directory.GetFiles(folder).Select(Path.GetFileName).ToArray(), "no temp file is left");
            using var view = s_encoder.WithResolution(224);
            var layout = view.Layout(400, 300);
            Assert.AreEqual((288, 224), (layout.Width, layout.Height));

            using var session = new InferenceSession(path);
            var input = session.InputMetadata.Single();
            Assert.AreEqual(OnnxExport.PixelsInput, input.Key);
            Assert.AreEqual(typeof(float), input.Value.ElementType);
            CollectionAssert.AreEqual(new[] { -1, 3, layout.Height, layout.Width }, input.Value.Dimensions);
            CollectionAssert.AreEqual(new[] { OnnxExport.ScoreOutput, OnnxExport.IsAnomalyOutput, OnnxExport.AnomalyMapOutput }, session.OutputMetadata.Keys.ToArray());
            Assert.AreEqual(typeof(float), session.OutputMetadata[OnnxExport.ScoreOutput].ElementType);
            Assert.AreEqual(typeof(bool), session.OutputMetadata[OnnxExport.IsAnomalyOutput].ElementType);
            Assert.AreEqual(typeof(float), session.OutputMetadata[OnnxExport.AnomalyMapOutput].ElementType);
            CollectionAssert.AreEqual(new[] { -1 }, session.OutputMetadata[OnnxExport.ScoreOutput].Dimensions);
            CollectionAssert.AreEqual(new[] { -1 }, session.OutputMetadata[OnnxExport.IsAnomalyOutput].Dimensions);
            CollectionAssert.AreEqual(new[] { -1, layout.Height / 8, layout.Width / 8 }, session.OutputMetadata[OnnxExport.AnomalyMapOutput].Dimensions);
            var metadata = session.ModelMetadata.CustomMetadataMap;
            Assert.AreEqual(model.Threshold, float.Parse(metadata["fsac.threshold"], System.Globalization.CultureInfo.InvariantCulture));
            Assert.AreEqual(model.BackboneName, metadata["fsac.backbone"]);
            Assert.AreEqual("default", metadata["fsac.method"]);

            // Two images of the batch give outputs of the declared shapes.
            var (scores, decisions, maps) = Run(session, new float[2 * 3 * layout.Height * layout.Width], 2, layout.Height, layout.Width);
            Assert.HasCount(2, scores);
            Assert.HasCount(2, decisions);
            CollectionAssert.AreEqual(new[] { 2, layout.Height / 8, layout.Width / 8 }, maps.Dimensions.ToArray());
            Assert.IsTrue(scores.All(float.IsFinite));
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
            DisposeAll(normals);
        }
    }

    [TestMethod]
    public void AnEncoderWithoutAnOnnxForm_OrANonPatchCoreMethod_IsNotSupported_AndTheMessageNamesIt()
    {
        var normals = SyntheticImages.Normals(2, seed: 9);
        using var tiny = new TinyEncoder();
        using var onTiny = PatchCoreClassifier.Fit(tiny, normals, new PatchCoreOptions { CalibrationAnomaliesPerNormal = 1 });
        var e = Assert.ThrowsExactly<NotSupportedException>(() => onTiny.ExportOnnx(new MemoryStream()));
        StringAssert.Contains(e.Message, $"'{tiny.Name}'");

        var fsacOptions = new AnomalyMethodOptions
        {
            Method = AnomalyMethod.Fsac,
            Fsac = FsacPreset.MVTec with { ClassName = "surface", EpochsPerStage = 1, AnomaliesPerNormal = 1, CalibrationAnomaliesPerNormal = 1 },
            BatchSize = 8,
        };
        using var fsac = FewShotAnomalyClassifier.Fit(tiny, normals, fsacOptions);
        var folder = Path.Combine(Path.GetTempPath(), "fsac-onnx-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(folder);
        try
        {
            e = Assert.ThrowsExactly<NotSupportedException>(() => fsac.ExportOnnx(Path.Combine(folder, "fsac.onnx")));
            StringAssert.Contains(e.Message, $"'{AnomalyMethodOptions.NameOf(AnomalyMethod.Fsac)}'");
            Assert.IsEmpty(Directory.GetFiles(folder), "a refused export leaves no file");
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
            DisposeAll(normals);
        }
    }

    // Exports the model for the images' layout, runs the graph on the images' resized pixels and compares it with the
    // TorchSharp model on the same encoder view: scores and patch maps within Tolerance (relative), equal decisions,
    // which it returns.
    private bool[] AssertParity(PatchCoreClassifier model, ResNet18Encoder view, IReadOnlyList<Image<Rgb24>> images, int? imageWidth, int? imageHeight)
    {
        using var stream = new MemoryStream();
        model.ExportOnnx(stream, imageWidth, imageHeight);
        using var session = new InferenceSession(stream.ToArray());

        using var scope = torch.NewDisposeScope();
        var pixels = view.Pixels(images);
        int height = (int)pixels.shape[2], width = (int)pixels.shape[3];
        using var patches = view.EncodePatches(images, 8);
        var expected = model.ScorePatches(patches);
        CollectionAssert.AreEqual(model.Score(images), expected.Scores, "the view is the model's own encoder");

        var (scores, decisions, maps) = Run(session, pixels.data<float>().ToArray(), images.Count, height, width);
        var grid = patches.Grids[0];
        CollectionAssert.AreEqual(new[] { images.Count, grid.Rows, grid.Columns }, maps.Dimensions.ToArray());
        double worstScore = 0, worstMap = 0;
        for (int i = 0; i < images.Count; i++)
        {
            worstScore = Math.Max(worstScore, Math.Abs(scores[i] - expected.Scores[i]) / Math.Abs(expected.Scores[i]));
            var map = Enumerable.Range(0, grid.Rows * grid.Columns).Select(p => maps.GetValue(i * grid.Rows * grid.Columns + p)).ToArray();
            double scale = expected.PatchMaps[i].Max(Math.Abs);
            worstMap = Math.Max(worstMap, map.Zip(expected.PatchMaps[i], (a, b) => Math.Abs(a - b)).Max() / scale);
            Assert.AreEqual(expected.Scores[i] >= model.Threshold, decisions[i], $"image {i}: ONNX {scores[i]:G9}, TorchSharp {expected.Scores[i]:G9}, threshold {model.Threshold:G9}");
        }
        TestContext.WriteLine($"{images.Count} images at {width}x{height}, memory {model.MemoryPatches} patches: worst relative difference, scores {worstScore:G3}, maps {worstMap:G3}; " +
                              $"scores [{string.Join(", ", expected.Scores.Select(s => s.ToString("G5")))}], threshold {model.Threshold:G5}");
        Assert.IsLessThanOrEqualTo(Tolerance, worstScore, "scores");
        Assert.IsLessThanOrEqualTo(Tolerance, worstMap, "patch maps");
        return decisions;
    }

    private static (float[] Scores, bool[] Decisions, Tensor<float> Maps) Run(InferenceSession session, float[] pixels, int count, int height, int width)
    {
        var input = new DenseTensor<float>(pixels, [count, 3, height, width]);
        using var results = session.Run([NamedOnnxValue.CreateFromTensor(OnnxExport.PixelsInput, input)]);
        var scores = results.Single(r => r.Name == OnnxExport.ScoreOutput).AsTensor<float>().ToArray();
        var decisions = results.Single(r => r.Name == OnnxExport.IsAnomalyOutput).AsTensor<bool>().ToArray();
        var maps = results.Single(r => r.Name == OnnxExport.AnomalyMapOutput).AsTensor<float>().ToDenseTensor();
        return (scores, decisions, maps);
    }

    private static List<Image<Rgb24>> Cookies(string kind, int count)
        => [.. Directory.GetFiles(SharedData.Path("data", "cookies", kind), "*.jpg").Order(StringComparer.Ordinal).Take(count).Select(f =>
        {
            var image = Image.Load<Rgb24>(f);
            image.Mutate(c => c.Resize(96, 128));
            return image;
        })];

    private static void DisposeAll(IEnumerable<Image<Rgb24>> images)
    {
        foreach (var image in images) image.Dispose();
    }
}
