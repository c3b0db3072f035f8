using Fsac.MLNet.Checkpoints;
using Fsac.MLNet.Classifiers;
using Fsac.MLNet.Encoders;
using Fsac.MLNet.Encoders.Clip;
using Fsac.MLNet.Fitting;
using Fsac.MLNet.Head;
using Fsac.MLNet.Tests.TestDoubles;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.PixelFormats;
using SixLabors.ImageSharp.Processing;
using TorchSharp;
using static TorchSharp.torch;

namespace Fsac.MLNet.Tests.Classifiers;

/// <summary>WinCLIP+ on the tiny random-weight CLIP fixture (64x64 input, 4x4 grids of 64-d patches, 2 blocks of width 128).</summary>
[TestClass]
public sealed class WinClipClassifierTests
{
    private static ClipEncoder s_encoder = null!;
    private static List<Image<Rgb24>> s_normals = null!;
    private static List<Image<Rgb24>> s_anomalies = null!;

    private static readonly WinClipOptions Options = new() { ClassName = "cookie", CalibrationAnomaliesPerNormal = 2, InferenceBatchSize = 4, Seed = 5 };

    public TestContext TestContext { get; set; } = null!;

    [ClassInitialize]
    public static void Load(TestContext _)
    {
        s_encoder = ClipEncoder.Load(SharedData.Path("clip-reference", "tiny-vit"),
            vocabularyPath: SharedData.Path("clip-reference", "vocab", ClipTokenizer.BpeGzFileName));
        // Real cookies, reduced from 576x768 to 144x192 to keep the test fast.
        s_normals = LoadCookies("normal", 5);
        s_anomalies = LoadCookies("anomaly", 3);
    }

    private static List<Image<Rgb24>> LoadCookies(string folder, int count)
        => [.. Directory.GetFiles(SharedData.Path("data", "cookies", folder), "*.jpg").Order(StringComparer.Ordinal).Take(count)
            .Select(f =>
            {
                var image = Image.Load<Rgb24>(f);
                image.Mutate(c => c.Resize(144, 192));
                return image;
            })];

    [ClassCleanup]
    public static void Release()
    {
        s_encoder?.Dispose();
        s_normals?.ForEach(i => i.Dispose());
        s_anomalies?.ForEach(i => i.Dispose());
    }

    private static List<Image<Rgb24>> Shots => s_normals.Take(2).ToList();

    private static List<Image<Rgb24>> TestImages => [.. s_normals.Skip(2), .. s_anomalies];

    private static byte[] SaveToBytes(WinClipClassifier model)
    {
        using var stream = new MemoryStream();
        model.Save(stream);
        return stream.ToArray();
    }

    private static Dictionary<string, byte[]> Entries(byte[] archive)
    {
        using var zip = new System.IO.Compression.ZipArchive(new MemoryStream(archive), System.IO.Compression.ZipArchiveMode.Read);
        return zip.Entries.ToDictionary(e => e.FullName, e =>
        {
            using var s = e.Open();
            using var m = new MemoryStream();
            s.CopyTo(m);
            return m.ToArray();
        });
    }

    [TestMethod]
    public void ScoresOfRealCookiesAreFiniteInTheUnitIntervalAndContinuous()
    {
        using var model = WinClipClassifier.Fit(s_encoder, Shots, Options);
        Assert.AreEqual(s_encoder.Name, model.BackboneName);
        Assert.AreEqual(2, model.Shots);
        Assert.AreEqual(2L * 16, model.MemoryPatches);
        Assert.IsNull(model.Resolution);
        Assert.IsTrue(float.IsFinite(model.Threshold) && model.Threshold is >= 0 and <= 1, $"threshold {model.Threshold}");

        var images = TestImages;
        var detailed = model.ScoreDetailed(images);
        TestContext.WriteLine($"scores {string.Join(", ", detailed.Scores.Select(s => s.ToString("G6")))}; threshold {model.Threshold:G6}");
        foreach (var s in detailed.Scores.Concat(detailed.ZeroShotScores).Concat(detailed.PatchMaps.SelectMany(m => m))
                     .Concat(detailed.ZeroShotMaps.SelectMany(m => m)).Concat(detailed.FewShotMaps.SelectMany(m => m)))
            Assert.IsTrue(float.IsFinite(s) && s is >= 0 and <= 1, $"value {s}");
        Assert.AreEqual(images.Count, detailed.Scores.Distinct().Count(), "continuous scores differ between images");
        for (int i = 0; i < images.Count; i++)
        {
            Assert.HasCount(16, detailed.PatchMaps[i]);
            for (int p = 0; p < 16; p++)
                Assert.AreEqual((detailed.ZeroShotMaps[i][p] + detailed.FewShotMaps[i][p]) / 2, detailed.PatchMaps[i][p], 1e-6f);
            Assert.AreEqual((detailed.ZeroShotScores[i] + detailed.PatchMaps[i].Max()) / 2, detailed.Scores[i], 1e-6f);
        }

        var (scores, maps) = model.ScoreWithMaps(images, withMaps: true);
        CollectionAssert.AreEqual(detailed.Scores, scores);
        CollectionAssert.AreEqual(scores, model.Score(images));
        Assert.HasCount(144 * 192, maps[0]);
        Assert.IsTrue(maps.SelectMany(m => m).All(v => float.IsFinite(v) && v >= 0));
        CollectionAssert.AreEqual(maps[1], model.AnomalyMap(images[1]));
        Assert.AreEqual(0.3f, model.ToProbability(0.3f));
    }

    [TestMethod]
    public void AnExactCopyOfAShotHasANearZeroFewShotMap()
    {
        foreach (var layers in new int[]?[] { null, [1], [1, 2] })
        {
            using var model = WinClipClassifier.Fit(s_encoder, Shots, Options with { MemoryLayers = layers });
            var detailed = model.ScoreDetailed([s_normals[0], s_normals[3]]);
            Assert.IsLessThanOrEqualTo(1e-5f, detailed.FewShotMaps[0].Max(), $"layers {layers?.Length}: copy of a shot");
            Assert.IsGreaterThan(1e-4f, detailed.FewShotMaps[1].Max(), $"layers {layers?.Length}: an unseen cookie");
        }
    }

    [TestMethod]
    public void APastedSquareRaisesTheFewShotMapInOrNextToItsPatch()
    {
        using var model = WinClipClassifier.Fit(s_encoder, Shots, Options);
        // Square on patch (1, 2) of the 4x4 grid: input pixels [32, 48) x [16, 32), mapped onto the image through the layout.
        var region = s_encoder.Layout(144, 192).Region;
        float sx = region.Width / 64, sy = region.Height / 64;
        int x0 = (int)Math.Ceiling(region.X + 32 * sx), x1 = (int)Math.Floor(region.X + 48 * sx);
        int y0 = (int)Math.Ceiling(region.Y + 16 * sy), y1 = (int)Math.Floor(region.Y + 32 * sy);
        using var defect = s_normals[0].Clone();
        for (int y = y0; y < y1; y++)
            for (int x = x0; x < x1; x++)
                defect[x, y] = new Rgb24(255, 255, 255);
        var detailed = model.ScoreDetailed([s_normals[0], defect]);
        var few = detailed.FewShotMaps[1];
        int best = Array.IndexOf(few, few.Max());
        TestContext.WriteLine($"few-shot map {string.Join(", ", few.Select(v => v.ToString("G3")))}; scores {detailed.Scores[0]:G4} → {detailed.Scores[1]:G4}");
        Assert.IsLessThanOrEqualTo(1, Math.Abs(best / 4 - 1), $"peak at patch {best}");
        Assert.IsLessThanOrEqualTo(1, Math.Abs(best % 4 - 2), $"peak at patch {best}");
        // The weights are random, so the zero-shot parts say nothing; the few-shot part is ~0 on the clean shot.
        Assert.IsGreaterThan(detailed.FewShotMaps[0].Max() + 0.05f, few.Max());
    }

    [TestMethod]
    public void HarmonicWindowMeanEqualsAHandComputation()
    {
        const int rows = 4, columns = 5;
        var random = new Random(3);
        foreach (var s in new[] { 1, 2, 3, 4 })
        {
            int h = rows - s + 1, w = columns - s + 1;
            var values = Enumerable.Range(0, 2 * h * w).Select(_ => (float)(0.01 + 0.98 * random.NextDouble())).ToArray();
            using var windows = tensor(values, [2, h, w]);
            using var aggregated = WinClipClassifier.HarmonicWindowMean(windows, s);
            CollectionAssert.AreEqual(new long[] { 2, rows, columns }, aggregated.shape);
            var actual = aggregated.data<float>().ToArray();
            for (int n = 0; n < 2; n++)
                for (int i = 0; i < rows; i++)
                    for (int j = 0; j < columns; j++)
                    {
                        double reciprocals = 0;
                        int count = 0;
                        for (int r = 0; r < h; r++)
                            for (int c = 0; c < w; c++)
                                if (r <= i && i < r + s && c <= j && j < c + s)
                                {
                                    reciprocals += 1.0 / values[(n * h + r) * w + c];
                                    count++;
                                }
                        Assert.AreEqual(count / reciprocals, actual[(n * rows + i) * columns + j], 1e-5, $"s={s} ({n}, {i}, {j})");
                    }
        }
    }

    [TestMethod]
    public void TheZeroShotMapIsTheMeanOverScalesOfHarmonicWindowScores()
    {
        using var model = WinClipClassifier.Fit(s_encoder, Shots, Options with { WindowSizes = [3] });
        var image = s_normals[4];
        var detailed = model.ScoreDetailed([image]);

        // By hand: T± from the prompts, window means of the projected patches, softmax at τ, harmonic mean, mean of 1x1 and 3x3.
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var anchors = nn.functional.normalize(Fsac.MLNet.Fitting.TextAnchors.FromPrompts(s_encoder, new Fsac.MLNet.Head.PromptEnsemble("cookie"), false), 2, 1);
        var (global, encoded) = s_encoder.EncodeBatches([image], 1, EncoderOutputs.Both);
        using var patches = encoded!;
        var tokens = patches.Of(0);                                                  // [16, 64]
        double[] Probability(Tensor feature)
        {
            var f = nn.functional.normalize(feature, 2, 1).matmul(anchors.t()).div(0.07).softmax(1).select(1, 1);
            return [.. f.data<float>().ToArray().Select(v => (double)v)];
        }
        var single = Probability(tokens);
        var windows = new double[2, 2];
        for (int r = 0; r < 2; r++)
            for (int c = 0; c < 2; c++)
            {
                var rowsOf = new List<long>();
                for (int i = r; i < r + 3; i++) for (int j = c; j < c + 3; j++) rowsOf.Add(i * 4 + j);
                windows[r, c] = Probability(tokens.index_select(0, tensor(rowsOf.ToArray())).mean([0], keepdim: true))[0];
            }
        for (int i = 0; i < 4; i++)
            for (int j = 0; j < 4; j++)
            {
                double reciprocals = 0;
                int count = 0;
                for (int r = Math.Max(0, i - 2); r <= Math.Min(1, i); r++)
                    for (int c = Math.Max(0, j - 2); c <= Math.Min(1, j); c++)
                    {
                        reciprocals += 1 / windows[r, c];
                        count++;
                    }
                double expected = (single[i * 4 + j] + count / reciprocals) / 2;
                Assert.AreEqual(expected, detailed.ZeroShotMaps[0][i * 4 + j], 1e-5, $"patch ({i}, {j})");
            }
        var s0 = Probability(global!)[0];
        Assert.AreEqual(s0, detailed.ZeroShotScores[0], 1e-5);
    }

    [TestMethod]
    public void CachedFeaturesScoreAsTheImagesDo()
    {
        using var model = WinClipClassifier.Fit(s_encoder, Shots, Options);
        var images = TestImages;
        var expected = model.ScoreDetailed(images);
        var (global, patches) = s_encoder.EncodeBatches(images, 3, EncoderOutputs.Both);
        using var g = global!;
        using var p = patches!;

        var encoded = model.ScoreEncoded(g, p);
        var fromPatches = model.ScorePatches(p);
        for (int i = 0; i < images.Count; i++)
        {
            Assert.AreEqual(expected.Scores[i], encoded.Scores[i], 1e-5f);
            for (int k = 0; k < 16; k++)
            {
                Assert.AreEqual(expected.PatchMaps[i][k], encoded.PatchMaps[i][k], 1e-5f);
                Assert.AreEqual(expected.PatchMaps[i][k], fromPatches.PatchMaps[i][k], 1e-5f);
            }
            Assert.AreEqual((0.5f + expected.PatchMaps[i].Max()) / 2, fromPatches.Scores[i], 1e-5f, "without the class token s0 is 0.5");
        }
        Assert.ThrowsExactly<ArgumentException>(() => model.ScoreEncoded(g.narrow(0, 0, 2), p));

        using var layered = WinClipClassifier.Fit(s_encoder, Shots, Options with { MemoryLayers = [1] });
        Assert.ThrowsExactly<NotSupportedException>(() => layered.ScoreEncoded(g, p));
    }

    [TestMethod]
    public void BackbonesWithoutACompatibleTextTowerAreNotSupported()
    {
        using var tiny = new TinyEncoder();
        using var imageOnly = new ImageOnlyEncoder(new TinyEncoder());
        var e = Assert.ThrowsExactly<NotSupportedException>(() => WinClipClassifier.Fit(imageOnly, Shots, Options));
        StringAssert.Contains(e.Message, imageOnly.Name);
        // A text tower whose patches (24-d) are not in the text space (32-d).
        e = Assert.ThrowsExactly<NotSupportedException>(() => WinClipClassifier.Fit(tiny, Shots, Options));
        StringAssert.Contains(e.Message, tiny.Name);

        // A wrapper that keeps the text tower works (as the CLI's counting encoder), but not with hidden-layer memories.
        var wrapper = new TextWrapper(s_encoder);
        using var wrapped = WinClipClassifier.Fit(wrapper, Shots, Options);
        using var direct = WinClipClassifier.Fit(s_encoder, Shots, Options);
        var images = TestImages;
        CollectionAssert.AreEqual(direct.Score(images), wrapped.Score(images));
        e = Assert.ThrowsExactly<NotSupportedException>(() => WinClipClassifier.Fit(wrapper, Shots, Options with { MemoryLayers = [1] }));
        StringAssert.Contains(e.Message, "MemoryLayers");
    }

    [TestMethod]
    public void SaveAndLoadGiveIdenticalScores()
    {
        var images = TestImages;
        foreach (var layers in new int[]?[] { null, [2, 1] })
        {
            using var model = WinClipClassifier.Fit(s_encoder, Shots, Options with { MemoryLayers = layers });
            var bytes = SaveToBytes(model);
            using var loaded = WinClipClassifier.Load(new MemoryStream(bytes), s_encoder);
            Assert.AreEqual(model.Threshold, loaded.Threshold);
            Assert.AreEqual(model.Shots, loaded.Shots);
            CollectionAssert.AreEqual(model.Score(images), loaded.Score(images));
            CollectionAssert.AreEqual(model.AnomalyMap(images[0]), loaded.AnomalyMap(images[0]));
            var (first, second) = (Entries(bytes), Entries(SaveToBytes(loaded)));
            CollectionAssert.AreEquivalent(first.Keys.ToArray(), second.Keys.ToArray());
            foreach (var (entry, data) in first) CollectionAssert.AreEqual(data, second[entry], $"a loaded model saves the same {entry}");

            Assert.ThrowsExactly<IncompatibleModelException>(() => WinClipClassifier.Load(new MemoryStream(bytes), new TextWrapper(s_encoder, "other")));
            Assert.ThrowsExactly<InvalidOperationException>(() => FewShotAnomalyClassifier.Load(new MemoryStream(bytes)));
            if (layers is not null)
                Assert.ThrowsExactly<NotSupportedException>(() => WinClipClassifier.Load(new MemoryStream(bytes), new TextWrapper(s_encoder)));
        }

        var path = Path.Combine(Path.GetTempPath(), $"winclip-{Guid.NewGuid():N}.zip");
        try
        {
            using var model = WinClipClassifier.Fit(s_encoder, s_normals.Take(1).ToList(), Options);
            Assert.IsTrue(float.IsFinite(model.Threshold));
            model.Save(path);
            using var stream = File.OpenRead(path);
            using var loaded = WinClipClassifier.Load(stream, s_encoder, path);
            CollectionAssert.AreEqual(model.Score(images), loaded.Score(images));
        }
        finally { File.Delete(path); }

        Assert.ThrowsExactly<CheckpointFormatException>(() => WinClipClassifier.Load(new MemoryStream([1, 2, 3, 4]), s_encoder));
    }

    [TestMethod]
    public void SaliencyIsANonNegativeMapOfTheImage()
    {
        foreach (var layers in new int[]?[] { null, [1] })
        {
            using var model = WinClipClassifier.Fit(s_encoder, Shots, Options with { MemoryLayers = layers });
            var saliency = model.Saliency(s_anomalies[0]);
            Assert.HasCount(144 * 192, saliency);
            Assert.IsTrue(saliency.All(v => float.IsFinite(v) && v >= 0));
            Assert.IsGreaterThan(0f, saliency.Max());
        }
    }

    [TestMethod]
    [DataRow("ClassName")]
    [DataRow("ScoreTemperature")]
    [DataRow("WindowSizes")]
    [DataRow("MemoryLayers")]
    [DataRow("MapSigma")]
    [DataRow("CalibrationAnomaliesPerNormal")]
    [DataRow("InferenceBatchSize")]
    public void BadOptionsThrowNamingTheProperty(string property)
    {
        var bad = property switch
        {
            "ClassName" => Options with { ClassName = " " },
            "ScoreTemperature" => Options with { ScoreTemperature = 0 },
            "WindowSizes" => Options with { WindowSizes = [2, 1] },
            "MemoryLayers" => Options with { MemoryLayers = [0] },
            "MapSigma" => Options with { MapSigma = double.NaN },
            "CalibrationAnomaliesPerNormal" => Options with { CalibrationAnomaliesPerNormal = 0 },
            "InferenceBatchSize" => Options with { InferenceBatchSize = 0 },
            _ => throw new ArgumentOutOfRangeException(nameof(property)),
        };
        var e = Assert.Throws<ArgumentException>(() => WinClipClassifier.Fit(s_encoder, Shots, bad));
        Assert.AreEqual(property, e.ParamName);
        StringAssert.Contains(e.Message, property);
    }

    [TestMethod]
    public void OtherInvalidArgumentsAreRefused()
    {
        Assert.AreEqual("WindowSizes", Assert.Throws<ArgumentException>(() => (Options with { WindowSizes = [2, 2] }).Validate()).ParamName);
        Assert.AreEqual("MemoryLayers", Assert.Throws<ArgumentException>(() => (Options with { MemoryLayers = [] }).Validate()).ParamName);
        // The tiny model has 2 blocks.
        Assert.AreEqual("MemoryLayers", Assert.Throws<ArgumentException>(() => WinClipClassifier.Fit(s_encoder, Shots, Options with { MemoryLayers = [3] })).ParamName);
        Assert.Throws<ArgumentException>(() => WinClipClassifier.Fit(s_encoder, [], Options));
        // Window sides larger than the 4x4 grid are skipped.
        using var model = WinClipClassifier.Fit(s_encoder, Shots, Options with { WindowSizes = [2, 8] });
        Assert.IsTrue(model.Score(TestImages).All(float.IsFinite));
    }

    /// <summary>Forwards to a CLIP encoder, keeping its text tower but not its type (as the CLI's counting wrapper).</summary>
    private sealed class TextWrapper(ClipEncoder inner, string? name = null) : IImageEncoder, ITextEncoder
    {
        public string Name => name ?? inner.Name;
        public int FeatureDim => inner.FeatureDim;
        public int PatchDim => inner.PatchDim;
        public int ImageSize => inner.ImageSize;
        public InputLayout Layout(int width, int height) => inner.Layout(width, height);
        public Tensor Preprocess(IReadOnlyList<Image<Rgb24>> images) => inner.Preprocess(images);
        public EncodedImages Encode(Tensor pixels, EncoderOutputs outputs) => inner.Encode(pixels, outputs);
        public IImageEncoder WithResolution(int shorterSide) => inner.WithResolution(shorterSide);
        public Tensor EncodeText(IReadOnlyList<string> texts) => inner.EncodeText(texts);
        public void Dispose() { }
    }
}
