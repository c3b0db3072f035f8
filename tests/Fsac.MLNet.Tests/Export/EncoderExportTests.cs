using Fsac.MLNet.Encoders;
using Fsac.MLNet.Export;
using Fsac.MLNet.Tests.Cli;
using Fsac.MLNet.Tests.TestDoubles;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using TorchSharp;

namespace Fsac.MLNet.Tests.Export;

/// <summary>
/// The frozen encoders alone as ONNX graphs (<see cref="EncoderExport"/>), the normalisation inside: ONNX Runtime on
/// the resized pixels of real cookie images against the TorchSharp encoder on the same images, for ResNet18 and the
/// tiny CLIP; and through <c>fsac export --backbone</c>.
/// </summary>
[TestClass]
public sealed class EncoderExportTests
{
    public TestContext TestContext { get; set; } = null!;

    [TestMethod]
    public void ResNet18Graph_OnRealCookies_GivesTorchSharpsPooledAndPatchFeatures()
    {
        using var encoder = ResNet18Encoder.LoadDefault(EncoderPrecision.Float32, EncoderEngine.TorchSharp);
        using var view = (ResNet18Encoder)encoder.WithResolution(224);
        var images = ExportParity.Cookies("normal", 2);
        using var scope = torch.NewDisposeScope();
        var pixels = view.Pixels(images);
        var expected = view.Encode(view.Preprocess(images), EncoderOutputs.Global | EncoderOutputs.Patches);
        var outputs = Run(view, pixels, 96, 128);
        double pooled = Worst(outputs[EncoderExport.PooledFeaturesOutput], expected.Global!);
        double patches = Worst(outputs[EncoderExport.PatchFeaturesOutput], expected.Patches!);
        TestContext.WriteLine($"ResNet18 at {pixels.shape[3]}x{pixels.shape[2]}: worst difference relative to the largest value, pooled {pooled:G3}, patches {patches:G3}");
        Assert.IsLessThanOrEqualTo(ExportParity.Tolerance, pooled, "pooled features");
        Assert.IsLessThanOrEqualTo(ExportParity.Tolerance, patches, "patch features");
        ExportParity.DisposeAll(images);
    }

    [TestMethod]
    [DataRow("tiny-vit")]
    [DataRow("tiny-vit-quickgelu")]
    public void ClipGraph_OnRealCookies_GivesTorchSharpsImageEmbedsAndPatchTokens(string fixture)
    {
        using var clip = ClipEncoder.Load(SharedData.Path("clip-reference", fixture), vocabularyPath: TinyClip.Vocabulary, engine: EncoderEngine.TorchSharp);
        var images = ExportParity.Cookies("anomaly", 3);
        using var scope = torch.NewDisposeScope();
        var pixels = clip.Pixels(images);
        var expected = clip.Encode(clip.Preprocess(images), EncoderOutputs.Global | EncoderOutputs.Patches);
        var outputs = Run(clip, pixels, null, null);
        // The encoder's patch grid [N, E, G, G] as the graph's rows [N, G·G, E].
        var rows = expected.Patches!.flatten(2).transpose(1, 2);
        double embeds = Worst(outputs[EncoderExport.ImageEmbedsOutput], expected.Global!);
        double tokens = Worst(outputs[EncoderExport.PatchTokensOutput], rows);
        TestContext.WriteLine($"{fixture}: worst difference relative to the largest value, image_embeds {embeds:G3}, patch_tokens {tokens:G3}");
        Assert.IsLessThanOrEqualTo(ExportParity.Tolerance, embeds, "image embeds");
        Assert.IsLessThanOrEqualTo(ExportParity.Tolerance, tokens, "patch tokens");
        ExportParity.DisposeAll(images);
    }

    [TestMethod]
    public void AnEncoderWithoutAnOnnxForm_IsNotSupported_AndTheMessageNamesIt()
    {
        using var tiny = new TinyEncoder();
        var e = Assert.ThrowsExactly<NotSupportedException>(() => EncoderExport.Write(tiny, new MemoryStream()));
        StringAssert.Contains(e.Message, $"'{tiny.Name}'");
    }

    [TestMethod]
    public void ABFloat16Encoder_IsNotSupported_AndTheMessageNamesThePrecision()
    {
        using var clip = ClipEncoder.Load(TinyClip.Folder, EncoderPrecision.BFloat16, TinyClip.Vocabulary);
        var e = Assert.ThrowsExactly<NotSupportedException>(() => EncoderExport.Write(clip, new MemoryStream()));
        StringAssert.Contains(e.Message, "EncoderPrecision.BFloat16");
        StringAssert.Contains(e.Message, $"'{clip.Name}'");
    }

    [TestMethod]
    public void ExportBackbone_WritesTheClipEncodersGraph_WithItsDocumentedOutputs()
    {
        using var folder = new Checkpoints.TempDir();
        var onnx = folder.File("enc.onnx");
        var run = CliRunner.Run("export", "--backbone", TinyClip.Folder, "--vocab", TinyClip.Vocabulary, "--out", onnx);
        Assert.AreEqual(0, run.ExitCode, run.ToString());
        StringAssert.Contains(run.Output, EncoderExport.PatchTokensOutput);
        using var session = new InferenceSession(onnx);
        CollectionAssert.AreEqual(new[] { EncoderExport.ImageEmbedsOutput, EncoderExport.PatchTokensOutput }, session.OutputNames.ToArray());
        CollectionAssert.AreEqual(new[] { -1, 3, 64, 64 }, session.InputMetadata[OnnxExport.PixelsInput].Dimensions);
        CollectionAssert.AreEqual(new[] { -1, 16, 64 }, session.OutputMetadata[EncoderExport.PatchTokensOutput].Dimensions);

        var refused = CliRunner.Run("export", "--backbone", TinyClip.Folder, "--out", onnx, "--resize", "--image-size", "60x40");
        Assert.AreNotEqual(0, refused.ExitCode);
        StringAssert.Contains(refused.Output + refused.Error, "--resize");
    }

    // Exports the encoder for the images' layout and runs it on the pixels; the outputs by name.
    private static Dictionary<string, float[]> Run(IImageEncoder encoder, torch.Tensor pixels, int? width, int? height)
    {
        using var stream = new MemoryStream();
        EncoderExport.Write(encoder, stream, width, height);
        using var session = new InferenceSession(stream.ToArray());
        var input = new DenseTensor<float>(pixels.data<float>().ToArray(), [.. pixels.shape.Select(d => (int)d)]);
        using var results = session.Run([NamedOnnxValue.CreateFromTensor(OnnxExport.PixelsInput, input)]);
        return results.ToDictionary(r => r.Name, r => r.AsTensor<float>().ToArray());
    }

    // The largest absolute difference relative to the largest absolute expected value.
    private static double Worst(float[] got, torch.Tensor expected)
    {
        var want = expected.contiguous().data<float>().ToArray();
        Assert.HasCount(want.Length, got);
        return got.Zip(want, (a, b) => Math.Abs(a - b)).Max() / want.Max(Math.Abs);
    }
}
