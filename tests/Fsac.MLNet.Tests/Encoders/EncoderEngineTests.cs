using System.Diagnostics;
using System.Text.Json;
using Fsac.MLNet.Classifiers;
using Fsac.MLNet.Encoders;
using Fsac.MLNet.Encoders.ResNet;
using Fsac.MLNet.Tests.Checkpoints;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.PixelFormats;
using SixLabors.ImageSharp.Processing;
using TorchSharp;

namespace Fsac.MLNet.Tests.Encoders;

/// <summary>
/// ResNet18's two engines on the real offline model: ONNX Runtime's frozen features equal TorchSharp's, gradients stay
/// on TorchSharp, fitted models decide alike on either, and Auto's choice is measured, cached and never fails.
/// </summary>
[TestClass]
public sealed class EncoderEngineTests
{
    /// <summary>Largest relative score and threshold difference between models fitted and scored on the two engines.</summary>
    private const double ScoreTolerance = 1e-5;

    private static ResNet18Encoder s_torchSharp = null!;
    private static ResNet18Encoder s_onnxRuntime = null!;
    private static List<Image<Rgb24>> s_cookies = null!;

    public TestContext TestContext { get; set; } = null!;

    [ClassInitialize]
    public static void Load(TestContext _)
    {
        s_torchSharp = ResNet18Encoder.LoadDefault(EncoderPrecision.Float32, EncoderEngine.TorchSharp);
        s_onnxRuntime = ResNet18Encoder.LoadDefault(EncoderPrecision.Float32, EncoderEngine.OnnxRuntime);
        // Portrait photographs (576x768) reduced to 96x128: small to encode, the same aspect ratio.
        s_cookies = Cookies("normal", 6);
    }

    [ClassCleanup]
    public static void Release()
    {
        s_torchSharp?.Dispose();
        s_onnxRuntime?.Dispose();
        s_cookies?.ForEach(i => i.Dispose());
    }

    [TestMethod]
    public void TheEnginesAreTheOnesAskedFor_AndShareTheWeightsIdentity()
    {
        Assert.AreEqual(EncoderEngine.TorchSharp, s_torchSharp.Engine);
        Assert.AreEqual(EncoderEngine.OnnxRuntime, s_onnxRuntime.Engine);
        Assert.AreEqual(s_torchSharp.Name, s_onnxRuntime.Name, "the engine is not part of the weights' identity");
        Assert.AreEqual(EncoderEngine.OnnxRuntime, ((ResNet18Encoder)s_onnxRuntime.WithResolution(256)).Engine, "views keep the engine");
    }

    [TestMethod]
    [DataRow(null, EncoderOutputs.Both, DisplayName = "224x224 centre crop, pooled and patches")]
    [DataRow(null, EncoderOutputs.Global, DisplayName = "224x224 centre crop, pooled only")]
    [DataRow(224, EncoderOutputs.Both, DisplayName = "aspect kept at 224 px (224x288), pooled and patches")]
    [DataRow(320, EncoderOutputs.Patches, DisplayName = "aspect kept at 320 px (320x416), patches only")]
    public void OnnxRuntimeFeaturesEqualTorchSharps(int? resolution, EncoderOutputs outputs)
    {
        var reference = resolution is { } r ? s_torchSharp.WithResolution(r) : s_torchSharp;
        var candidate = resolution is { } side ? s_onnxRuntime.WithResolution(side) : s_onnxRuntime;
        using var scope = torch.NewDisposeScope();
        using var noGrad = torch.no_grad();
        var pixels = reference.Preprocess(s_cookies.Take(2).ToList());
        var expected = reference.Encode(pixels, outputs);
        var actual = candidate.Encode(pixels, outputs);
        TestContext.WriteLine($"input {string.Join("x", pixels.shape.Skip(2))}");
        EngineParity.AssertClose(TestContext, expected.Global, actual.Global, "pooled");
        EngineParity.AssertClose(TestContext, expected.Patches, actual.Patches, "patches");
    }

    [TestMethod]
    public void BatchedEncodingEqualsTorchSharps_AndRepeatsBitForBit()
    {
        using var expected = s_torchSharp.WithResolution(224).EncodePatches(s_cookies, batchSize: 4);
        using var first = s_onnxRuntime.WithResolution(224).EncodePatches(s_cookies, batchSize: 4);
        using var second = s_onnxRuntime.WithResolution(224).EncodePatches(s_cookies, batchSize: 4);
        CollectionAssert.AreEqual(expected.Grids.ToArray(), first.Grids.ToArray());
        EngineParity.AssertClose(TestContext, expected.Values, first.Values, "patch rows");
        Assert.IsTrue(first.Values.eq(second.Values).all().item<bool>(), "the same images give the same features bit for bit");
    }

    [TestMethod]
    public void GradientsRunOnTorchSharp_AndEqualItsOwn()
    {
        using var scope = torch.NewDisposeScope();
        var pixels = s_torchSharp.Preprocess(s_cookies.Take(1).ToList());
        torch.Tensor Gradient(ResNet18Encoder encoder)
        {
            var input = pixels.detach().clone().requires_grad_();
            var features = encoder.EncodeImage(input);
            Assert.IsTrue(features.requires_grad, "the pass that needs a gradient runs on TorchSharp");
            features.pow(2).sum().backward();
            return input.grad!;
        }
        Assert.IsTrue(Gradient(s_torchSharp).eq(Gradient(s_onnxRuntime)).all().item<bool>(), "the same network computes the gradient");

        using var noGrad = torch.no_grad();
        Assert.IsFalse(s_onnxRuntime.EncodeImage(pixels.requires_grad_()).requires_grad, "without gradients the pass runs on ONNX Runtime");
    }

    [TestMethod]
    public void AModelFittedOnEitherEngineDecidesAlike()
    {
        // The default method (unit-length patches, flipped and rotated copies, 224 px with the aspect ratio kept) through
        // the front door, each on its own encoder; both saved files record their engine.
        var anomalies = Cookies("anomaly", 4, reduce: false);
        try
        {
            var options = new AnomalyMethodOptions { Seed = 3 };
            var shots = s_cookies.Take(2).ToList();
            using var fullSize = Image.Load<Rgb24>(Directory.GetFiles(SharedData.Path("data", "cookies", "normal"), "*.jpg").Order(StringComparer.Ordinal).Last());
            List<Image<Rgb24>> test = [.. s_cookies.Skip(2), fullSize, .. anomalies];
            using var onTorchSharp = FewShotAnomalyClassifier.Fit(new BackboneReference("resnet18") { Engine = EncoderEngine.TorchSharp }, shots, options);
            using var onOnnxRuntime = FewShotAnomalyClassifier.Fit(new BackboneReference("resnet18") { Engine = EncoderEngine.OnnxRuntime }, shots, options);
            Assert.AreEqual(EncoderEngine.OnnxRuntime, onOnnxRuntime.Backbone!.Engine);

            var thresholdError = Math.Abs(onOnnxRuntime.Threshold - onTorchSharp.Threshold) / onTorchSharp.Threshold;
            float[] expected = onTorchSharp.Score(test), actual = onOnnxRuntime.Score(test);
            var scoreError = expected.Zip(actual, (e, a) => Math.Abs(a - e) / Math.Abs(e)).Max();
            TestContext.WriteLine($"threshold {onTorchSharp.Threshold:R} vs {onOnnxRuntime.Threshold:R} (relative {thresholdError:G3}); " +
                $"largest relative score difference {scoreError:G3}; TorchSharp scores {string.Join(", ", expected.Select(s => s.ToString("F4")))}");
            Assert.IsLessThanOrEqualTo(ScoreTolerance, thresholdError);
            Assert.IsLessThanOrEqualTo(ScoreTolerance, scoreError);
            for (int i = 0; i < test.Count; i++)
                Assert.AreEqual(expected[i] >= onTorchSharp.Threshold, actual[i] >= onOnnxRuntime.Threshold, $"decision on test image {i}");
            Assert.IsTrue(expected.Any(s => s >= onTorchSharp.Threshold) && expected.Any(s => s < onTorchSharp.Threshold),
                "the test images get both decisions, so that agreeing on them means something");

            using var saved = new MemoryStream();
            onOnnxRuntime.Save(saved);
            saved.Position = 0;
            Assert.AreEqual(EncoderEngine.OnnxRuntime, ModelLoader.RecordedBackbone(saved, "test").Engine);
        }
        finally
        {
            anomalies.ForEach(i => i.Dispose());
        }
    }

    [TestMethod]
    public void AutoMeasuresOnce_CachesPerMachine_AndFollowsTheCache()
    {
        using var cache = new TempDir();
        var watch = Stopwatch.StartNew();
        var (engine, reason, runtime) = EngineSelection.Choose(EncoderEngine.Auto, EncoderPrecision.Float32, s_torchSharp.Backbone, cache.Path,
            loadAverage: Idle);
        var seconds = watch.Elapsed.TotalSeconds;
        runtime?.Dispose();
        TestContext.WriteLine($"{seconds:F2} s (load {File.ReadAllText("/proc/loadavg").Split(' ')[0]}): {reason}");
        Assert.AreNotEqual(EncoderEngine.Auto, engine);
        Assert.AreEqual(engine == EncoderEngine.OnnxRuntime, runtime is not null, "the runner comes back only when it is the engine");
        StringAssert.Matches(reason, new System.Text.RegularExpressions.Regex(@"measured now in \d+\.\d s, cached in "));
        Assert.IsLessThan(30.0, seconds, "a measurement takes about a second on an idle machine; this bound allows for a busy one");

        var file = Path.Combine(cache.Path, EngineSelection.CacheFileName);
        using (var doc = JsonDocument.Parse(File.ReadAllText(file)))
        {
            var entry = doc.RootElement.GetProperty(EngineSelection.Key(EngineSelection.ResNetName));
            Assert.AreEqual(engine.ToString(), entry.GetProperty("engine").GetString());
            Assert.IsGreaterThan(0.0, entry.GetProperty("torchSharpMs").GetDouble());
            Assert.IsGreaterThan(0.0, entry.GetProperty("onnxRuntimeMs").GetDouble());
        }
        var again = EngineSelection.Choose(EncoderEngine.Auto, EncoderPrecision.Float32, s_torchSharp.Backbone, cache.Path);
        again.Runtime?.Dispose();
        Assert.AreEqual(engine, again.Engine);
        StringAssert.Contains(again.Reason, "measured earlier in this process");

        // Another machine's file, written by hand: the cache decides, nothing is measured.
        foreach (var (cached, torchSharpMs, onnxRuntimeMs) in new[] { (EncoderEngine.TorchSharp, 1.0, 2.0), (EncoderEngine.OnnxRuntime, 2.0, 1.0) })
        {
            using var other = new TempDir();
            var entries = new Dictionary<string, object>
            {
                [EngineSelection.Key(EngineSelection.ResNetName)] = new { engine = cached.ToString(), torchSharpMs, onnxRuntimeMs, measured = "2020-01-02T00:00:00+00:00" },
            };
            File.WriteAllText(Path.Combine(other.Path, EngineSelection.CacheFileName), JsonSerializer.Serialize(entries));
            var chosen = EngineSelection.Choose(EncoderEngine.Auto, EncoderPrecision.Float32, s_torchSharp.Backbone, other.Path);
            chosen.Runtime?.Dispose();
            Assert.AreEqual(cached, chosen.Engine, chosen.Reason);
            StringAssert.Contains(chosen.Reason, "measured 2020-01-02, cached in");
        }
    }

    [TestMethod]
    public void AutoIgnoresACorruptCache_AndSurvivesAnUnwritableOne()
    {
        using var cache = new TempDir();
        var file = Path.Combine(cache.Path, EngineSelection.CacheFileName);
        File.WriteAllText(file, "{ not json");
        var chosen = EngineSelection.Choose(EncoderEngine.Auto, EncoderPrecision.Float32, s_torchSharp.Backbone, cache.Path, loadAverage: Idle);
        chosen.Runtime?.Dispose();
        StringAssert.Contains(chosen.Reason, " s, cached in ");
        using (JsonDocument.Parse(File.ReadAllText(file))) { }

        // A cache root that is a file: the choice is made all the same and says it was not cached.
        var blocked = Path.Combine(cache.Path, "a-file");
        File.WriteAllText(blocked, "");
        var uncached = EngineSelection.Choose(EncoderEngine.Auto, EncoderPrecision.Float32, s_torchSharp.Backbone, blocked, loadAverage: Idle);
        uncached.Runtime?.Dispose();
        Assert.AreNotEqual(EncoderEngine.Auto, uncached.Engine);
        StringAssert.Contains(uncached.Reason, "not cached");
    }

    [TestMethod]
    public void AutoDoesNotCacheWhatItMeasuredOnABusyMachine()
    {
        using var cache = new TempDir();
        var busy = EngineSelection.Choose(EncoderEngine.Auto, EncoderPrecision.Float32, s_torchSharp.Backbone, cache.Path,
            loadAverage: () => Environment.ProcessorCount + 3.5);
        busy.Runtime?.Dispose();
        Assert.AreNotEqual(EncoderEngine.Auto, busy.Engine);
        var load = (Environment.ProcessorCount + 3.5).ToString("F1", System.Globalization.CultureInfo.InvariantCulture);
        StringAssert.Contains(busy.Reason, $"not cached: the machine was busy, load {load} on {Environment.ProcessorCount} cores");
        Assert.IsFalse(File.Exists(Path.Combine(cache.Path, EngineSelection.CacheFileName)));
    }

    [TestMethod]
    public void AutoFallsBackToTorchSharpWithTheReason_WhereOnnxRuntimeCannotRun()
    {
        using var cache = new TempDir();
        OnnxRuntimeResNet Missing(ResNetBackbone _) => throw new DllNotFoundException("libonnxruntime.so: cannot open shared object file");
        var (engine, reason, runtime) = EngineSelection.Choose(EncoderEngine.Auto, EncoderPrecision.Float32, s_torchSharp.Backbone, cache.Path, Missing);
        Assert.AreEqual(EncoderEngine.TorchSharp, engine);
        Assert.IsNull(runtime);
        StringAssert.Contains(reason, "ONNX Runtime is unavailable here (DllNotFoundException: libonnxruntime.so");
        Assert.IsFalse(File.Exists(Path.Combine(cache.Path, EngineSelection.CacheFileName)), "nothing was measured");

        var asked = Assert.ThrowsExactly<NotSupportedException>(
            () => EngineSelection.Choose(EncoderEngine.OnnxRuntime, EncoderPrecision.Float32, s_torchSharp.Backbone, cache.Path, Missing));
        StringAssert.Contains(asked.Message, "unavailable");

        var bf16 = EngineSelection.Choose(EncoderEngine.Auto, EncoderPrecision.BFloat16, s_torchSharp.Backbone, cache.Path);
        Assert.AreEqual(EncoderEngine.TorchSharp, bf16.Engine);
        StringAssert.Contains(bf16.Reason, "ONNX Runtime runs float32 and int8");
        Assert.ThrowsExactly<NotSupportedException>(() => ResNet18Encoder.LoadDefault(EncoderPrecision.BFloat16, EncoderEngine.OnnxRuntime));
    }

    private static double? Idle() => 0.0;

    private static List<Image<Rgb24>> Cookies(string kind, int count, bool reduce = true)
        => [.. Directory.GetFiles(SharedData.Path("data", "cookies", kind), "*.jpg").Order(StringComparer.Ordinal).Take(count).Select(f =>
        {
            var image = Image.Load<Rgb24>(f);
            if (reduce) image.Mutate(c => c.Resize(96, 128));
            return image;
        })];
}
