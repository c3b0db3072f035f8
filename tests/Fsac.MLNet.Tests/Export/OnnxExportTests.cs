using Fsac.MLNet.Encoders.Onnx;
using Fsac.MLNet.Checkpoints.Onnx;
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
using Google.Protobuf;
using TorchSharp;

namespace Fsac.MLNet.Tests.Export;

/// <summary>
/// ONNX export of fitted PatchCore models on the real offline ResNet18, run with ONNX Runtime and compared with the
/// TorchSharp model on the same resized pixels (exact float32 search on both sides); exports with the in-graph resize
/// compared with the library on the decoded images.
/// </summary>
[TestClass]
public sealed class OnnxExportTests
{
    private const double Tolerance = 1e-5;

    // The in-graph resize against ResNet18Encoder.Pixels: at most one level on the 0..255 scale, where float rounding
    // puts a value next to a half, on under 1 value in 1,000 (measured: 1 level on 6e-5 of the cookies' values).
    private const double ResizeLevels = 1;
    private const double ResizeDifferingFraction = 1e-3;

    // Scores of an export with the in-graph resize, fed the decoded images, against the library's on the same images,
    // relative. Measured: 3.1e-5 (the default method: unit-length features, mean of the top patches) and 2.2e-4 (raw
    // features, the single most distant patch, which a one-level pixel follows most); the bound has a margin for
    // other CPUs' float kernels.
    internal const double ResizeInGraphTolerance = 1e-3;

    private static ResNet18Encoder s_encoder = null!;

    public TestContext TestContext { get; set; } = null!;

    [ClassInitialize]
    // TorchSharp, the reference engine: the exported graph is checked against it, not against ONNX Runtime itself.
    public static void Load(TestContext _) => s_encoder = ResNet18Encoder.LoadDefault(EncoderPrecision.Float32, EncoderEngine.TorchSharp);

    [ClassCleanup]
    public static void Release() => s_encoder?.Dispose();

    [TestMethod]
    public void DefaultModelOnRealCookies_ScoresDecidesAndMapsAsTorchSharpDoes()
    {
        if (SharedData.TryRoot is null) Assert.Inconclusive("The shared data folder (../shared or FSAC_SHARED) is absent: no real cookie images to fit on.");
        // Portrait cookies reduced from 576x768 to 96x128: the default's input is then 224x288 (its grid 28x36).
        // The default's settings with an exact search, and without the flipped and rotated copies, which only make the
        // fit slower here: they grow the memory, which the export stores as it is.
        var normals = ExportParity.Cookies("normal", 3);
        var anomalies = ExportParity.Cookies("anomaly", 2);
        var options = DefaultMethod.For(s_encoder, seed: 5) with
        {
            Search = SearchPrecision.Float32, Augmentations = PatchAugmentations.None, CalibrationAnomaliesPerNormal = 1,
        };
        using var model = PatchCoreClassifier.Fit(s_encoder, normals.Take(2).ToList(), options);
        using var view = (ResNet18Encoder)s_encoder.WithResolution(options.Resolution!.Value);

        AssertParity(model, view, [.. normals.Skip(2), .. anomalies], imageWidth: 96, imageHeight: 128);
        ExportParity.DisposeAll(normals);
        ExportParity.DisposeAll(anomalies);
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
        ExportParity.DisposeAll(normals);
        ExportParity.DisposeAll(test);
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
            ExportParity.DisposeAll(normals);
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
            ExportParity.DisposeAll(normals);
        }
    }

    [TestMethod]
    public void InGraphResize_GivesTheLibrarysResizedPixels_ForTheDefaultViewAndTheSquareInput()
    {
        // Landscape, portrait, upscaled, shrunk, extreme and nearly square sizes; the first real cookies at full size too.
        var rng = new Random(21);
        var images = new[] { (60, 40), (40, 60), (400, 300), (1000, 333), (31, 90), (230, 224) }
            .Select(s => SyntheticImages.Defective(rng, s.Item1, s.Item2)).ToList();
        if (SharedData.TryRoot is not null)
            images.AddRange(Directory.GetFiles(SharedData.Path("data", "cookies", "normal"), "*.jpg").Order(StringComparer.Ordinal).Take(2).Select(Image.Load<Rgb24>));
        using var view = (ResNet18Encoder)s_encoder.WithResolution(224);
        double worst = 0;
        long differing = 0, values = 0;
        foreach (var image in images)
            foreach (var encoder in new[] { view, s_encoder })
            {
                var plan = ImageResizeGraph.For(encoder, image.Width, image.Height);
                using var session = new InferenceSession(ResizeOnly(plan));
                using var scope = torch.NewDisposeScope();
                var expected = encoder.Pixels([image]).data<float>().ToArray();
                var input = new DenseTensor<float>(Planes([image]), [1, 3, image.Height, image.Width]);
                using var results = session.Run([NamedOnnxValue.CreateFromTensor(OnnxExport.PixelsInput, input)]);
                var resized = results.Single().AsTensor<float>();
                CollectionAssert.AreEqual(new[] { 1, 3, plan.Height, plan.Width }, resized.Dimensions.ToArray(), $"{image.Width}x{image.Height}: {plan}");
                var got = resized.ToArray();
                for (int i = 0; i < got.Length; i++)
                {
                    double d = Math.Abs(got[i] - expected[i]);
                    worst = Math.Max(worst, d);
                    if (d > 0) differing++;
                }
                values += got.Length;
            }
        TestContext.WriteLine($"{images.Count} images, both layouts: worst {worst} levels, {differing} of {values} values differ");
        Assert.IsLessThanOrEqualTo(ResizeLevels, worst, "levels");
        Assert.IsLessThanOrEqualTo(ResizeDifferingFraction, (double)differing / values, "fraction of values that differ");
        ExportParity.DisposeAll(images);
    }

    [TestMethod]
    public void InGraphResizeCrop_IsTheLayoutsRegionRoundedAsTheEncoderCropsIt()
    {
        // The export computes the region without ImageSharp's RectangleF; on a grid of image sizes it must be
        // InputLayout's, and the plan's crop the one ResNet18Encoder takes (rounded, inside the image).
        using var view = (ResNet18Encoder)s_encoder.WithResolution(224);
        for (int width = 1; width <= 1200; width += 37)
            for (int height = 1; height <= 1200; height += 41)
            {
                var layout = view.Layout(width, height);
                var r = layout.Region;
                Assert.AreEqual((r.X, r.Y, r.Width, r.Height), ImageResizeGraph.CentreCropRegion(width, height, layout.Width, layout.Height), $"{width}x{height}");
                var expected = Rectangle.Intersect(new Rectangle((int)MathF.Round(r.X), (int)MathF.Round(r.Y), (int)MathF.Round(r.Width), (int)MathF.Round(r.Height)),
                    new Rectangle(0, 0, width, height));
                var plan = ImageResizeGraph.For(view, width, height);
                Assert.AreEqual(expected, new Rectangle(plan.CropX, plan.CropY, plan.CropWidth, plan.CropHeight), $"{width}x{height}");
                Assert.AreEqual((layout.Width, layout.Height), (plan.Width, plan.Height));
            }
    }

    [TestMethod]
    public void ResizeInGraph_DefaultModelOnLandscapeSyntheticImages_ScoresAndDecidesAsTheLibraryDoes()
    {
        // 60x40 surfaces: the default's input is 320x224 (a 57x40 centre crop, upscaled).
        var rng = new Random(12);
        var normals = Enumerable.Range(0, 2).Select(_ => SyntheticImages.Normal(rng, 60, 40)).ToList();
        List<Image<Rgb24>> test = [SyntheticImages.Normal(rng, 60, 40), SyntheticImages.Defective(rng, 60, 40), SyntheticImages.Defective(rng, 60, 40)];
        var options = DefaultMethod.For(s_encoder, seed: 5) with
        {
            Search = SearchPrecision.Float32, Augmentations = PatchAugmentations.None, CalibrationAnomaliesPerNormal = 1,
        };
        using var model = PatchCoreClassifier.Fit(s_encoder, normals, options);
        var decisions = AssertResizeInGraphParity(model, test, 60, 40);
        CollectionAssert.AreEquivalent(new[] { false, true }, decisions.Distinct().ToArray(), "the decisions compared include both outcomes");
        ExportParity.DisposeAll(normals);
        ExportParity.DisposeAll(test);
    }

    [TestMethod]
    public void ResizeInGraph_PatchCoreSquareInputOnPortraitSyntheticImages_ScoresAndDecidesAsTheLibraryDoes()
    {
        // PatchCore's own 224x224 centre crop of 40x60 surfaces (ImageSharp's crop mode: resized to 224x336, cut centred);
        // the defects are larger blots than SyntheticImages.Defective's, so that some images score above the threshold.
        var rng = new Random(13);
        var normals = Enumerable.Range(0, 2).Select(_ => SyntheticImages.Normal(rng, 40, 60)).ToList();
        List<Image<Rgb24>> test = [SyntheticImages.Normal(rng, 40, 60), Blot(SyntheticImages.Normal(rng, 40, 60), 12, 24, new Rgb24(200, 60, 40)),
            Blot(SyntheticImages.Normal(rng, 40, 60), 20, 30, new Rgb24(30, 30, 30))];
        var options = new PatchCoreOptions { Search = SearchPrecision.Float32, CalibrationAnomaliesPerNormal = 1, Seed = 2 };
        using var model = PatchCoreClassifier.Fit(s_encoder, normals, options);
        var decisions = AssertResizeInGraphParity(model, test, 40, 60);
        CollectionAssert.AreEquivalent(new[] { false, true }, decisions.Distinct().ToArray(), "the decisions compared include both outcomes");
        ExportParity.DisposeAll(normals);
        ExportParity.DisposeAll(test);
    }

    [TestMethod]
    public void ResizeInGraphExport_TakesTheDecodedImage_AtOpset18_AndSaysSoInItsMetadata()
    {
        var normals = SyntheticImages.Normals(1, seed: 3);
        using var model = FewShotAnomalyClassifier.Fit(s_encoder, normals, new AnomalyMethodOptions { Seed = 1 });
        using var resized = new MemoryStream();
        model.ExportOnnx(resized, imageWidth: 400, imageHeight: 300, resizeInGraph: true);
        using var plain = new MemoryStream();
        model.ExportOnnx(plain, imageWidth: 400, imageHeight: 300);

        Assert.AreEqual(18L, ModelProto.Parser.ParseFrom(resized.ToArray()).OpsetImport.Single().Version);
        Assert.AreEqual(17L, ModelProto.Parser.ParseFrom(plain.ToArray()).OpsetImport.Single().Version, "the plain export keeps opset 17");
        using var session = new InferenceSession(resized.ToArray());
        CollectionAssert.AreEqual(new[] { -1, 3, 300, 400 }, session.InputMetadata[OnnxExport.PixelsInput].Dimensions, "the decoded image's size");
        CollectionAssert.AreEqual(new[] { -1, 224 / 8, 288 / 8 }, session.OutputMetadata[OnnxExport.AnomalyMapOutput].Dimensions, "the patch grid of the 288x224 input");
        var metadata = session.ModelMetadata.CustomMetadataMap;
        Assert.AreEqual("true", metadata["fsac.resize_in_graph"]);
        Assert.AreEqual("400", metadata["fsac.image_width"]);
        Assert.AreEqual("300", metadata["fsac.image_height"]);
        Assert.AreEqual("288", metadata["fsac.input_width"]);
        Assert.AreEqual("224", metadata["fsac.input_height"]);
        using (var plainSession = new InferenceSession(plain.ToArray()))
        {
            Assert.AreEqual("false", plainSession.ModelMetadata.CustomMetadataMap["fsac.resize_in_graph"]);
            Assert.IsFalse(plainSession.ModelMetadata.CustomMetadataMap.ContainsKey("fsac.image_width"));
        }

        var (scores, decisions, maps) = Run(session, new float[2 * 3 * 300 * 400], 2, 300, 400);
        Assert.HasCount(2, scores);
        Assert.HasCount(2, decisions);
        CollectionAssert.AreEqual(new[] { 2, 28, 36 }, maps.Dimensions.ToArray());
        Assert.IsTrue(scores.All(float.IsFinite));

        var repository = Path.Combine(Path.GetTempPath(), "fsac-triton-" + Guid.NewGuid().ToString("N"));
        try
        {
            model.ExportTriton(repository, "cookie", 400, 300, resizeInGraph: true);
            StringAssert.Contains(File.ReadAllText(Path.Combine(repository, "cookie", "config.pbtxt")),
                $"{{ name: \"{OnnxExport.PixelsInput}\" data_type: TYPE_FP32 dims: [ 3, 300, 400 ] }}");
        }
        finally
        {
            if (Directory.Exists(repository)) Directory.Delete(repository, recursive: true);
            ExportParity.DisposeAll(normals);
        }
    }

    [TestMethod]
    public void ResizeInGraph_WithoutTheImageSize_OrOnAnEncoderWithoutIt_IsRefused_AndTheMessageNamesTheOption()
    {
        var normals = SyntheticImages.Normals(2, seed: 9);
        using var model = FewShotAnomalyClassifier.Fit(s_encoder, normals.Take(1).ToList(), new AnomalyMethodOptions { Seed = 1 });
        var missing = Assert.ThrowsExactly<ArgumentException>(() => model.ExportOnnx(new MemoryStream(), null, null, resizeInGraph: true));
        StringAssert.Contains(missing.Message, "resizeInGraph");
        StringAssert.Contains(missing.Message, "--image-size");

        using var tiny = new TinyEncoder();
        using var onTiny = PatchCoreClassifier.Fit(tiny, normals, new PatchCoreOptions { CalibrationAnomaliesPerNormal = 1 });
        var unsupported = Assert.ThrowsExactly<NotSupportedException>(() => onTiny.ExportOnnx(new MemoryStream(), 60, 40, resizeInGraph: true));
        StringAssert.Contains(unsupported.Message, "resizeInGraph");
        StringAssert.Contains(unsupported.Message, $"'{tiny.Name}'");
        ExportParity.DisposeAll(normals);
    }

    // Exports the model with the in-graph resize for width x height images, runs the graph on the decoded images and
    // compares it with the library's scores on the same images: relative difference within ResizeInGraphTolerance,
    // equal decisions, which it returns.
    private bool[] AssertResizeInGraphParity(PatchCoreClassifier model, IReadOnlyList<Image<Rgb24>> images, int width, int height)
    {
        using var stream = new MemoryStream();
        model.ExportOnnx(stream, width, height, resizeInGraph: true);
        using var session = new InferenceSession(stream.ToArray());
        var expected = model.Score(images);
        var (scores, decisions, _) = Run(session, Planes(images), images.Count, height, width);
        double worst = 0;
        for (int i = 0; i < images.Count; i++)
        {
            worst = Math.Max(worst, Math.Abs(scores[i] - expected[i]) / Math.Abs(expected[i]));
            Assert.AreEqual(expected[i] >= model.Threshold, decisions[i], $"image {i}: ONNX {scores[i]:G9}, library {expected[i]:G9}, threshold {model.Threshold:G9}");
        }
        TestContext.WriteLine($"{images.Count} images of {width}x{height}, resized in the graph: worst relative score difference {worst:G3}; " +
                              $"scores [{string.Join(", ", expected.Select(s => s.ToString("G5")))}], threshold {model.Threshold:G5}");
        Assert.IsLessThanOrEqualTo(ResizeInGraphTolerance, worst, "scores");
        return decisions;
    }

    // Paints a 10x10 square of one colour at (x, y).
    private static Image<Rgb24> Blot(Image<Rgb24> image, int x, int y, Rgb24 colour)
    {
        for (int j = y; j < y + 10; j++)
            for (int i = x; i < x + 10; i++)
                image[i, j] = colour;
        return image;
    }

    // A graph of the in-graph resize alone: the decoded image in, the resized pixels out.
    private static byte[] ResizeOnly(ImageResizeGraph.Plan plan)
    {
        var g = new OnnxGraphBuilder("resize", OnnxGraphBuilder.ResizeOpset);
        g.Input(OnnxExport.PixelsInput, TensorProto.Types.DataType.Float, OnnxGraphBuilder.Batch, 3, plan.ImageHeight, plan.ImageWidth);
        var resized = ImageResizeGraph.Add(g, plan, OnnxExport.PixelsInput);
        g.Output("resized", resized, TensorProto.Types.DataType.Float, OnnxGraphBuilder.Batch, 3, plan.Height, plan.Width);
        return g.Build("Fsac.MLNet.Tests", "", "The in-graph resize.", new Dictionary<string, string>()).ToByteArray();
    }

    // The decoded images as the graph's input: float32 [N, 3, H, W], RGB planes on the 0..255 scale.
    internal static float[] Planes(IReadOnlyList<Image<Rgb24>> images)
    {
        int width = images[0].Width, height = images[0].Height, plane = width * height;
        var data = new float[images.Count * 3 * plane];
        for (int i = 0; i < images.Count; i++)
        {
            int offset = i * 3 * plane;
            images[i].ProcessPixelRows(rows =>
            {
                for (int y = 0; y < height; y++)
                {
                    var row = rows.GetRowSpan(y);
                    for (int x = 0; x < width; x++)
                    {
                        data[offset + y * width + x] = row[x].R;
                        data[offset + plane + y * width + x] = row[x].G;
                        data[offset + 2 * plane + y * width + x] = row[x].B;
                    }
                }
            });
        }
        return data;
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
}
