using Fsac.MLNet.Classifiers;
using Fsac.MLNet.Encoders;
using Fsac.MLNet.Encoders.Clip;
using Fsac.MLNet.Tests.Checkpoints;
using Fsac.MLNet.Tests.Cli;
using Fsac.MLNet.Tests.TestDoubles;
using Fsac.Cli;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.PixelFormats;
using TorchSharp;

namespace Fsac.MLNet.Tests.Encoders;

/// <summary>
/// Int8 (<see cref="EncoderPrecision.Int8"/>, ONNX Runtime): offered for CLIP image towers, where it stays close to
/// float32, and refused for ResNet18, which missed the bar on real images; bfloat16's ResNet18 features against float32
/// on real images; an int8 CLIP model saved and loaded.
/// </summary>
[TestClass]
public sealed class Int8EncoderTests
{
    // The least cosine to float32 per image. Int8 is offered at 0.99 or more (the issue's rule); the reference CLIPs
    // measured 0.9998 or more, hence 0.999 here. Bfloat16 stays at 0.999 or more: with ResNet18's stem in float32 the
    // nine images below measured 0.99959 pooled and 0.99989 patches at the least (0.99864 on the circuit boards when the
    // stem ran in bfloat16 too).
    private const double ClipInt8Cosine = 0.999, BFloat16Cosine = 0.999;

    private static List<Image<Rgb24>> s_references = null!;

    public TestContext TestContext { get; set; } = null!;

    [ClassInitialize]
    public static void Load(TestContext _)
        => s_references = [.. Directory.GetFiles(SharedData.Path("clip-reference", "images"), "*.jpg").Order(StringComparer.Ordinal).Select(f => Image.Load<Rgb24>(f))];

    [ClassCleanup]
    public static void Release() => s_references?.ForEach(i => i.Dispose());

    private static ClipEncoder TinyClip(EncoderPrecision precision, EncoderEngine engine)
        => ClipEncoder.Load(SharedData.Path("clip-reference", "tiny-vit"), precision, SharedData.Path("clip-reference", "vocab", ClipTokenizer.BpeGzFileName), engine);

    [TestMethod]
    public void OnRealImages_ResNet18BFloat16FeaturesStayCloseToFloat32()
    {
        if (SharedData.TryRoot is not { } root || !Directory.Exists(Path.Combine(root, "data")))
        {
            Assert.Inconclusive("The real images of ../shared/data (or FSAC_SHARED) are not here; bfloat16's cosine to float32 was not measured.");
            return;
        }
        // Two normal and one anomalous image of each kind of data: solar cells, circuit boards, cookies.
        var files = new[] { ("elpv/mono", "*.png"), ("deeppcb/group12100", "*.jpg"), ("cookies", "*.jpg") }.SelectMany(set =>
            new[] { "normal", "normal", "anomaly" }.Select((kind, i) =>
                Directory.GetFiles(Path.Combine(root, "data", set.Item1, kind), set.Item2).Order(StringComparer.Ordinal).Skip(i % 2).First())).ToList();
        using var fp32 = ResNet18Encoder.LoadDefault(EncoderPrecision.Float32, EncoderEngine.TorchSharp);
        using var bf16 = ResNet18Encoder.LoadDefault(EncoderPrecision.BFloat16, EncoderEngine.TorchSharp);
        using var scope = torch.NewDisposeScope();
        using var noGrad = torch.no_grad();
        foreach (var file in files)
        {
            using var image = Image.Load<Rgb24>(file);
            var pixels = fp32.Preprocess([image]);
            var reference = fp32.Encode(pixels, EncoderOutputs.Both);
            var features = bf16.Encode(pixels, EncoderOutputs.Both);
            double pooled = torch.nn.functional.cosine_similarity(features.Global!, reference.Global!).item<float>();
            var perPatch = torch.nn.functional.cosine_similarity(features.Patches!, reference.Patches!, dim: 1);
            double patches = perPatch.mean().item<float>(), worst = perPatch.min().item<float>();
            var what = $"BFloat16 {Path.GetRelativePath(Path.Combine(root, "data"), file)}";
            TestContext.WriteLine($"{what}: pooled cosine {pooled:F5}, patch cosine mean {patches:F5} (least {worst:F4})");
            Assert.IsGreaterThanOrEqualTo(BFloat16Cosine, pooled, $"{what} pooled");
            Assert.IsGreaterThanOrEqualTo(BFloat16Cosine, patches, $"{what} patches");
        }
    }

    [TestMethod]
    public void ResNet18RefusesInt8_OnEveryPath_WithTheMeasuredReason()
    {
        foreach (var engine in new[] { EncoderEngine.Auto, EncoderEngine.OnnxRuntime, EncoderEngine.TorchSharp })
        {
            var e = Assert.ThrowsExactly<NotSupportedException>(() => ResNet18Encoder.LoadDefault(EncoderPrecision.Int8, engine));
            StringAssert.Contains(e.Message, "not offered for ResNet18", engine.ToString());
            StringAssert.Contains(e.Message, "I-AUROC", engine.ToString());
        }
        Assert.ThrowsExactly<NotSupportedException>(() => Backbones.Create("resnet18", EncoderPrecision.Int8));

        using var dir = new TempDir();
        var normal = dir.File("normal.png");
        using (var image = new Image<Rgb24>(64, 64, new Rgb24(90, 100, 110))) image.SaveAsPng(normal);
        var run = CliRunner.Run("fit", "--normal", normal, "--out", dir.File("m.fsac"), "--shots", "1", "--dtype", "int8");
        Assert.AreEqual(ExitCodes.BadInput, run.ExitCode, run.ToString());
        StringAssert.Contains(string.Join("\n", run.ErrorLines), "--dtype int8", run.ToString());
        Assert.IsFalse(File.Exists(dir.File("m.fsac")));
    }

    [TestMethod]
    public void ClipInt8FeaturesStayCloseToFloat32()
    {
        using var fp32 = TinyClip(EncoderPrecision.Float32, EncoderEngine.TorchSharp);
        using var int8 = TinyClip(EncoderPrecision.Int8, EncoderEngine.OnnxRuntime);
        Assert.AreEqual(EncoderPrecision.Int8, int8.Precision);
        Assert.AreEqual(fp32.Name, int8.Name, "the precision is not part of the weights' identity");
        using var scope = torch.NewDisposeScope();
        using var noGrad = torch.no_grad();
        var pixels = fp32.Preprocess(s_references);
        var reference = fp32.Encode(pixels, EncoderOutputs.Both);
        var features = int8.Encode(pixels, EncoderOutputs.Both);
        var pooled = torch.nn.functional.cosine_similarity(features.Global!, reference.Global!);
        var patches = torch.nn.functional.cosine_similarity(features.Patches!, reference.Patches!, dim: 1).mean([1, 2]);
        TestContext.WriteLine($"class token cosines {string.Join(", ", pooled.data<float>().ToArray().Select(c => c.ToString("F5")))}; " +
            $"patch cosine means {string.Join(", ", patches.data<float>().ToArray().Select(c => c.ToString("F5")))}");
        Assert.IsGreaterThanOrEqualTo(ClipInt8Cosine, (double)pooled.min().item<float>(), "class token");
        Assert.IsGreaterThanOrEqualTo(ClipInt8Cosine, (double)patches.min().item<float>(), "patch tokens");
        Assert.IsLessThan(1.0 - 1e-6, (double)patches.min().item<float>(), "int8 is not float32 under another name");

        // Gradients run on TorchSharp in float32.
        var input = pixels[..1].detach().clone().requires_grad_();
        using var enabled = torch.enable_grad();
        var grid = int8.Encode(input, EncoderOutputs.Patches).Patches!;
        Assert.IsTrue(grid.requires_grad);
    }

    [TestMethod]
    public void ClipInt8RunsOnOnnxRuntimeOnly_WhichAutoThenMeans()
    {
        using var auto = TinyClip(EncoderPrecision.Int8, EncoderEngine.Auto);
        Assert.AreEqual(EncoderEngine.OnnxRuntime, auto.Engine);
        StringAssert.Contains(auto.EngineReason, "int8 runs there only");
        var onTorchSharp = Assert.ThrowsExactly<NotSupportedException>(() => TinyClip(EncoderPrecision.Int8, EncoderEngine.TorchSharp));
        StringAssert.Contains(onTorchSharp.Message, "--dtype int8");
        StringAssert.Contains(onTorchSharp.Message, "ONNX Runtime only");

        using var cache = new TempDir();
        OnnxRuntimeClip Missing(ClipModel _) => throw new DllNotFoundException("libonnxruntime.so: cannot open shared object file");
        foreach (var requested in new[] { EncoderEngine.Auto, EncoderEngine.OnnxRuntime })
        {
            var missing = Assert.ThrowsExactly<NotSupportedException>(() => EngineSelection.Choose(requested, EncoderPrecision.Int8, auto.Model, cache.Path, Missing));
            StringAssert.Contains(missing.Message, "int8 runs on it only", $"{requested}: int8 has nowhere else to go");
        }
        Assert.IsFalse(File.Exists(Path.Combine(cache.Path, EngineSelection.CacheFileName)), "nothing was measured");
        var bf16 = Assert.ThrowsExactly<NotSupportedException>(() => TinyClip(EncoderPrecision.BFloat16, EncoderEngine.OnnxRuntime));
        StringAssert.Contains(bf16.Message, "runs float32 and int8");
    }

    [TestMethod]
    public void AClipModelFittedInInt8RecordsItAndLoadsBackInInt8()
    {
        // A CLIP folder as a user has it (config, weights, vocabulary), named by the backbone reference.
        using var folder = new TempDir();
        var source = SharedData.Path("clip-reference", "tiny-vit");
        foreach (var name in new[] { "open_clip_config.json", "open_clip_model.safetensors" }) File.Copy(Path.Combine(source, name), folder.File(name));
        File.Copy(SharedData.Path("clip-reference", "vocab", ClipTokenizer.BpeGzFileName), folder.File(ClipTokenizer.BpeGzFileName));
        var shots = SyntheticImages.Normals(2, seed: 1);
        var test = SyntheticImages.Normals(3, seed: 7);
        try
        {
            var backbone = new BackboneReference(folder.Path, EncoderPrecision.Int8);
            using var model = FewShotAnomalyClassifier.Fit(backbone, shots, new AnomalyMethodOptions { Seed = 3 });
            Assert.AreEqual(backbone, model.Backbone, "recorded as asked for: int8 on Auto");
            using var saved = new MemoryStream();
            model.Save(saved);
            saved.Position = 0;
            Assert.AreEqual(EncoderPrecision.Int8, ModelLoader.RecordedBackbone(saved, "test").Precision);
            saved.Position = 0;
            using var loaded = FewShotAnomalyClassifier.Load(saved);
            Assert.AreEqual(model.Backbone, loaded.Backbone);
            CollectionAssert.AreEqual(model.Score(test), loaded.Score(test), "the same int8 graph scores the same");
        }
        finally
        {
            shots.Concat(test).ToList().ForEach(i => i.Dispose());
        }
    }
}
