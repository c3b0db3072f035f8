using Fsac.MLNet.Checkpoints;
using Fsac.MLNet.Encoders;
using Fsac.MLNet.Encoders.Clip;
using TorchSharp;
using static TorchSharp.torch;

namespace Fsac.MLNet.Tests.Encoders.Clip;

/// <summary>The TorchSharp CLIP against OpenCLIP's own outputs for the two tiny reference models.</summary>
[TestClass]
public class ClipModelTests
{
    public static IEnumerable<object[]> Models =>
    [
        ["tiny-vit", "open_clip_model.safetensors"], ["tiny-vit", "open_clip_pytorch_model.bin"],
        ["tiny-vit-quickgelu", "open_clip_model.safetensors"], ["tiny-vit-quickgelu", "open_clip_pytorch_model.bin"],
    ];

    internal static ClipModel LoadReference(string model, string weightsFile = "open_clip_model.safetensors")
    {
        var dir = SharedData.Path("clip-reference", model);
        var config = ClipConfig.Parse(File.ReadAllText(Path.Combine(dir, "open_clip_config.json")));
        var clip = new ClipModel(config);
        var weights = Path.Combine(dir, weightsFile);
        clip.LoadStateDict(CheckpointReader.ReadStateDict(weights), weights);
        return clip;
    }

    internal static Dictionary<string, Tensor> Expected(string model)
        => SafeTensors.ReadTensors(SharedData.Path("clip-reference", model, "expected.safetensors"));

    /// <summary>max |a - b| / max |b|, the relative error the reference comparison uses.</summary>
    internal static double RelativeError(Tensor actual, Tensor expected)
    {
        Assert.IsTrue(actual.shape.SequenceEqual(expected.shape), $"shape [{string.Join(",", actual.shape)}] vs [{string.Join(",", expected.shape)}]");
        var err = (actual - expected).abs().max().item<float>();
        var scale = expected.abs().max().item<float>();
        return err / scale;
    }

    [TestMethod]
    [DynamicData(nameof(Models))]
    public void ImageFeaturesMatchOpenClip(string model, string weightsFile)
    {
        using var clip = LoadReference(model, weightsFile);
        var expected = Expected(model);
        using var _ = no_grad();
        foreach (var input in new[] { "random", "files" })
        {
            using var features = clip.EncodeImage(expected[$"pixels_{input}"]);
            var rel = RelativeError(features, expected[$"image_features_{input}"]);
            Assert.IsLessThanOrEqualTo(1e-5, rel, $"{model} pixels_{input}: relative error {rel:E2}");
        }
    }

    [TestMethod]
    [DynamicData(nameof(Models))]
    public void TextFeaturesMatchOpenClip(string model, string weightsFile)
    {
        using var clip = LoadReference(model, weightsFile);
        var expected = Expected(model);
        using var _ = no_grad();
        foreach (var input in new[] { "texts", "cpe" })
        {
            using var features = clip.EncodeText(expected[$"tokens_{input}"]);
            var rel = RelativeError(features, expected[$"text_features_{input}"]);
            Assert.IsLessThanOrEqualTo(1e-5, rel, $"{model} tokens_{input}: relative error {rel:E2}");
        }
        Assert.AreEqual(expected["logit_scale"].item<float>(), clip.logit_scale.exp().item<float>(), 1e-6f);
    }

    [TestMethod]
    public void TextsOfDifferentLengthsEncodedTogetherEqualEachEncodedAlone()
    {
        using var clip = LoadReference("tiny-vit");
        var tokens = Expected("tiny-vit")["tokens_texts"];
        using var _ = no_grad();
        var ends = tokens.argmax(-1).data<long>().ToArray();
        Assert.IsGreaterThan(1, ends.Distinct().Count(), "the reference texts have end-of-text tokens at several positions");
        // Reversed, so that the lengths are not in the order the batch is computed in.
        using var order = arange(tokens.shape[0] - 1, -1, -1);
        using var together = clip.EncodeText(tokens.index_select(0, order));
        for (long i = 0; i < tokens.shape[0]; i++)
        {
            using var alone = clip.EncodeText(tokens.narrow(0, tokens.shape[0] - 1 - i, 1));
            var rel = RelativeError(together.narrow(0, i, 1), alone);
            Assert.IsLessThanOrEqualTo(1e-6, rel, $"text {i}: relative error {rel:E2}");
        }
    }

    [TestMethod]
    public void ModuleNamesEqualOpenClipKeys()
    {
        var dir = SharedData.Path("clip-reference", "tiny-vit");
        using var clip = new ClipModel(ClipConfig.Parse(File.ReadAllText(Path.Combine(dir, "open_clip_config.json"))));
        var keys = SafeTensors.Read(Path.Combine(dir, "open_clip_model.safetensors")).Keys.Order().ToList();
        CollectionAssert.AreEqual(keys, clip.ExpectedShapes().Keys.Order().ToList());
    }

    [TestMethod]
    public void BFloat16FeaturesStayCloseToFloat32()
    {
        var expected = Expected("tiny-vit");
        using var clip = LoadReference("tiny-vit");
        using var _ = no_grad();
        using var img32 = clip.EncodeImage(expected["pixels_files"]);
        using var txt32 = clip.EncodeText(expected["tokens_cpe"]);
        clip.ToDtype(ScalarType.BFloat16);
        Assert.AreEqual(ScalarType.BFloat16, clip.visual.conv1.weight!.dtype);
        Assert.AreEqual(ScalarType.Float32, clip.visual.ln_pre.weight.dtype);
        using var img16 = clip.EncodeImage(expected["pixels_files"]);
        using var txt16 = clip.EncodeText(expected["tokens_cpe"]);
        Assert.AreEqual(ScalarType.Float32, img16.dtype);
        var cosImg = nn.functional.cosine_similarity(img16, img32).min().item<float>();
        var cosTxt = nn.functional.cosine_similarity(txt16, txt32).min().item<float>();
        Assert.IsGreaterThanOrEqualTo(0.999f, cosImg, $"image cosine {cosImg}");
        Assert.IsGreaterThanOrEqualTo(0.999f, cosTxt, $"text cosine {cosTxt}");
    }

    [TestMethod]
    public void MisShapedAndMissingTensorsAreListed()
    {
        var dir = SharedData.Path("clip-reference", "tiny-vit");
        var sd = SafeTensors.Read(Path.Combine(dir, "open_clip_model.safetensors"));
        sd.Remove("visual.proj");
        sd["ln_final.weight"] = new TensorData(ScalarType.Float32, [3], new byte[12]);
        sd["extra.tensor"] = new TensorData(ScalarType.Float32, [1], new byte[4]);
        using var clip = new ClipModel(ClipConfig.Parse(File.ReadAllText(Path.Combine(dir, "open_clip_config.json"))));
        var ex = Assert.ThrowsExactly<CheckpointMismatchException>(() => clip.LoadStateDict(sd, "test.safetensors"));
        CollectionAssert.AreEqual(new[] { "visual.proj" }, ex.Missing.ToArray());
        CollectionAssert.AreEqual(new[] { "extra.tensor" }, ex.Unexpected.ToArray());
        Assert.AreEqual("ln_final.weight", ex.WrongShapes.Single().Name);
        StringAssert.Contains(ex.Message, "test.safetensors");
    }

    [TestMethod]
    public void WeightsOfAnotherArchitectureAreRejected()
    {
        var dir = SharedData.Path("clip-reference", "tiny-vit-quickgelu");
        using var clip = LoadReference("tiny-vit");
        var ex = Assert.ThrowsExactly<CheckpointMismatchException>(() =>
            clip.LoadStateDict(SafeTensors.Read(Path.Combine(dir, "open_clip_model.safetensors")), "quickgelu"));
        Assert.IsNotEmpty(ex.WrongShapes);
    }
}
