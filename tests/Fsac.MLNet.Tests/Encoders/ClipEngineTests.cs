using Fsac.MLNet.Checkpoints;
using System.Text.Json;
using Fsac.MLNet.Classifiers;
using Fsac.MLNet.Encoders;
using Fsac.MLNet.Encoders.Clip;
using Fsac.MLNet.Tests.Checkpoints;
using Fsac.MLNet.Tests.Export;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.PixelFormats;
using TorchSharp;

namespace Fsac.MLNet.Tests.Encoders;

/// <summary>
/// The CLIP image tower's two engines on the tiny random-weight CLIPs (exact GELU and QuickGELU) and real photographs:
/// ONNX Runtime's frozen features equal TorchSharp's, gradients stay on TorchSharp, models fitted on either decide
/// alike, and Auto measures the tower under its own cache key.
/// </summary>
[TestClass]
public sealed class ClipEngineTests
{
    private static List<Image<Rgb24>> s_images = null!;

    public TestContext TestContext { get; set; } = null!;

    [ClassInitialize]
    public static void Load(TestContext _)
        => s_images = [.. Directory.GetFiles(SharedData.Path("clip-reference", "images"), "*.jpg").Order(StringComparer.Ordinal).Select(f => Image.Load<Rgb24>(f))];

    [ClassCleanup]
    public static void Release() => s_images?.ForEach(i => i.Dispose());

    private static ClipEncoder Encoder(string model, EncoderEngine engine, EncoderPrecision precision = EncoderPrecision.Float32)
        => ClipEncoder.Load(SharedData.Path("clip-reference", model), precision,
            SharedData.Path("clip-reference", "vocab", ClipTokenizer.BpeGzFileName), engine);

    [TestMethod]
    [DataRow("tiny-vit", EncoderOutputs.Both)]
    [DataRow("tiny-vit-quickgelu", EncoderOutputs.Both)]
    [DataRow("tiny-vit", EncoderOutputs.Patches)]
    [DataRow("tiny-vit", EncoderOutputs.Global)]
    public void OnnxRuntimeFeaturesEqualTorchSharps(string model, EncoderOutputs outputs)
    {
        using var torchSharp = Encoder(model, EncoderEngine.TorchSharp);
        using var onnxRuntime = Encoder(model, EncoderEngine.OnnxRuntime);
        Assert.AreEqual(EncoderEngine.TorchSharp, torchSharp.Engine);
        Assert.AreEqual(EncoderEngine.OnnxRuntime, onnxRuntime.Engine);
        Assert.AreEqual(torchSharp.Name, onnxRuntime.Name, "the engine is not part of the weights' identity");
        using var scope = torch.NewDisposeScope();
        using var noGrad = torch.no_grad();
        var pixels = torchSharp.Preprocess(s_images);
        var expected = torchSharp.Encode(pixels, outputs);
        var actual = onnxRuntime.Encode(pixels, outputs);
        EngineParity.AssertClose(TestContext, expected.Global, actual.Global, "class token");
        EngineParity.AssertClose(TestContext, expected.Patches, actual.Patches, "patch grid");
        var again = onnxRuntime.Encode(pixels, outputs);
        Assert.IsTrue((again.Patches ?? again.Global!).eq(actual.Patches ?? actual.Global!).all().item<bool>(), "the same pixels give the same features bit for bit");
    }

    [TestMethod]
    [DataRow("tiny-vit")]
    [DataRow("tiny-vit-quickgelu")]
    public void TextFeaturesOnOnnxRuntimeEqualTorchSharps_AndOpenClips(string model)
    {
        using var torchSharp = Encoder(model, EncoderEngine.TorchSharp);
        using var onnxRuntime = Encoder(model, EncoderEngine.OnnxRuntime);
        using var scope = torch.NewDisposeScope();
        using var noGrad = torch.no_grad();
        string[] texts = ["a photo of a flawless object", "a cropped photo of the damaged object with a scratch on its left side", "crack"];
        var expected = torchSharp.EncodeText(texts);
        var actual = onnxRuntime.EncodeText(texts);
        EngineParity.AssertClose(TestContext, expected, actual, "text features");

        // OpenCLIP's own text features of its reference tokens, on the ONNX Runtime graph.
        var reference = SafeTensors.ReadTensors(SharedData.Path("clip-reference", model, "expected.safetensors"));
        using var graph = OnnxRuntimeClip.Create(onnxRuntime.Model);
        var onnx = graph.EncodeText(reference["tokens_texts"]);
        EngineParity.AssertClose(TestContext, reference["text_features_texts"], onnx, "OpenCLIP's text features");
    }

    [TestMethod]
    public void GradientsRunOnTorchSharp_AndTheWrongSizeIsNamed()
    {
        using var torchSharp = Encoder("tiny-vit", EncoderEngine.TorchSharp);
        using var onnxRuntime = Encoder("tiny-vit", EncoderEngine.OnnxRuntime);
        using var scope = torch.NewDisposeScope();
        var pixels = torchSharp.Preprocess(s_images.Take(1).ToList());
        torch.Tensor Gradient(ClipEncoder encoder)
        {
            var input = pixels.detach().clone().requires_grad_();
            var features = encoder.Encode(input, EncoderOutputs.Patches).Patches!;
            Assert.IsTrue(features.requires_grad, "the pass that needs a gradient runs on TorchSharp");
            features.pow(2).sum().backward();
            return input.grad!;
        }
        Assert.IsTrue(Gradient(torchSharp).eq(Gradient(onnxRuntime)).all().item<bool>(), "the same network computes the gradient");

        var wrong = torch.zeros(1, 3, onnxRuntime.ImageSize + 16, onnxRuntime.ImageSize + 16);
        var e = Assert.ThrowsExactly<ArgumentException>(() => onnxRuntime.Encode(wrong, EncoderOutputs.Both));
        StringAssert.Contains(e.Message, $"[N, 3, {onnxRuntime.ImageSize}, {onnxRuntime.ImageSize}]");
    }

    [TestMethod]
    public void AModelFittedOnEitherEngineDecidesAlike()
    {
        // The default method (patch memory) on the tiny CLIP's projected patch tokens: 2 shots, the other photographs scored.
        using var torchSharpEncoder = Encoder("tiny-vit", EncoderEngine.TorchSharp);
        using var onnxRuntimeEncoder = Encoder("tiny-vit", EncoderEngine.OnnxRuntime);
        List<Image<Rgb24>> cookies = [.. ExportParity.Cookies("normal", 4), .. ExportParity.Cookies("anomaly", 4)];
        try
        {
            var options = new AnomalyMethodOptions { Seed = 3 };
            var shots = cookies.Take(2).ToList();
            var test = cookies.Skip(2).ToList();
            using var onTorchSharp = FewShotAnomalyClassifier.Fit(torchSharpEncoder, shots, options);
            using var onOnnxRuntime = FewShotAnomalyClassifier.Fit(onnxRuntimeEncoder, shots, options);
            float[] expected = onTorchSharp.Score(test), actual = onOnnxRuntime.Score(test);
            var scoreError = expected.Zip(actual, (e, a) => Math.Abs(a - e) / Math.Abs(e)).Max();
            var thresholdError = Math.Abs(onOnnxRuntime.Threshold - onTorchSharp.Threshold) / Math.Abs(onTorchSharp.Threshold);
            TestContext.WriteLine($"threshold relative difference {thresholdError:G3}; largest relative score difference {scoreError:G3}");
            Assert.IsLessThanOrEqualTo(1e-5, thresholdError);
            Assert.IsLessThanOrEqualTo(1e-5, scoreError);
            for (int i = 0; i < test.Count; i++)
                Assert.AreEqual(expected[i] >= onTorchSharp.Threshold, actual[i] >= onOnnxRuntime.Threshold, $"decision on test image {i}");
        }
        finally
        {
            cookies.ForEach(i => i.Dispose());
        }
    }

    [TestMethod]
    public void AutoMeasuresTheTowerUnderItsOwnKey_AndBFloat16StaysOnTorchSharp()
    {
        using var cache = new TempDir();
        using var torchSharp = Encoder("tiny-vit", EncoderEngine.TorchSharp);
        var (engine, reason, runtime) = EngineSelection.Choose(EncoderEngine.Auto, EncoderPrecision.Float32, torchSharp.Model, cache.Path, loadAverage: () => 0.0);
        using (runtime)
        {
            TestContext.WriteLine(reason);
            Assert.AreEqual(engine == EncoderEngine.OnnxRuntime, runtime is not null, "a runner comes with ONNX Runtime only");
            var name = EngineSelection.ClipName(torchSharp.Model.Config.Vision);
            StringAssert.Contains(reason, name);
            var file = Path.Combine(cache.Path, EngineSelection.CacheFileName);
            using var cached = JsonDocument.Parse(File.ReadAllText(file));
            Assert.IsTrue(cached.RootElement.TryGetProperty(EngineSelection.Key(name), out _), "the measurement is cached under the tower's key");
            Assert.AreNotEqual(EngineSelection.Key(EngineSelection.ResNetName), EngineSelection.Key(name), "each network has its own entry");
        }

        using var bf16 = Encoder("tiny-vit", EncoderEngine.Auto, EncoderPrecision.BFloat16);
        Assert.AreEqual(EncoderEngine.TorchSharp, bf16.Engine);
        StringAssert.Contains(bf16.EngineReason, "ONNX Runtime runs float32 and int8");
        var asked = Assert.ThrowsExactly<NotSupportedException>(() => Encoder("tiny-vit", EncoderEngine.OnnxRuntime, EncoderPrecision.BFloat16));
        StringAssert.Contains(asked.Message, "runs float32 and int8");
    }
}
