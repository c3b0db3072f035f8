using Fsac.MLNet.Checkpoints;
using Fsac.MLNet.Checkpoints.Onnx;
using Fsac.MLNet.Encoders;
using Fsac.MLNet.Encoders.Clip;
using Fsac.MLNet.Encoders.Onnx;
using Fsac.MLNet.Tests.Encoders.Clip;
using Google.Protobuf;
using Microsoft.ML.OnnxRuntime;
using static TorchSharp.torch;

namespace Fsac.MLNet.Tests.Export;

/// <summary>
/// The CLIP image tower as an ONNX graph (<see cref="ClipOnnxGraph"/>) under ONNX Runtime against the TorchSharp
/// tower on the same pixels, and against OpenCLIP's reference outputs: pooled features, projected patch tokens and
/// the hidden residual streams.
/// </summary>
[TestClass]
public sealed class ClipOnnxGraphTests
{
    private const double Tolerance = 1e-5;

    public TestContext TestContext { get; set; } = null!;

    [TestMethod]
    [DataRow("tiny-vit")]
    [DataRow("tiny-vit-quickgelu")]
    public void ReferenceModel_GraphMatchesTorchSharpAndOpenClip(string model)
    {
        using var clip = ClipModelTests.LoadReference(model);
        var expected = ClipModelTests.Expected(model);
        var reference = SafeTensors.ReadTensors(SharedData.Path("clip-reference", model, "expected_tokens.safetensors"));
        int layers = clip.Config.Vision.Layers;
        var all = Enumerable.Range(1, layers).ToArray();
        using var session = Session(ClipOnnxGraph.Build(clip, all));
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        foreach (var input in new[] { "random", "files" })
        {
            var pixels = expected[$"pixels_{input}"];
            var onnx = Run(session, pixels);
            var (_, patches, hidden) = clip.visual.Tokens(pixels, pooled: false, patches: true, projectPatches: true, all);
            var what = $"{model} pixels_{input}";
            AssertClose(onnx[ClipOnnxGraph.ImageEmbedsOutput], clip.EncodeImage(pixels), $"{what} image_embeds vs TorchSharp");
            AssertClose(onnx[ClipOnnxGraph.PatchTokensOutput], patches!, $"{what} patch_tokens vs TorchSharp");
            for (int i = 0; i < layers; i++)
                AssertClose(onnx[ClipOnnxGraph.HiddenOutput(i + 1)], hidden[i], $"{what} hidden_{i + 1} vs TorchSharp");

            AssertClose(onnx[ClipOnnxGraph.ImageEmbedsOutput], expected[$"image_features_{input}"], $"{what} image_embeds vs OpenCLIP");
            AssertClose(onnx[ClipOnnxGraph.PatchTokensOutput], reference[$"tokens_{input}_proj"], $"{what} patch_tokens vs OpenCLIP");
        }
        var randomPixels = Run(session, expected["pixels_random"]);
        for (int i = 0; i < layers; i++)
            AssertClose(randomPixels[ClipOnnxGraph.HiddenOutput(i + 1)], reference["hidden_random"][i], $"{model} hidden_{i + 1} vs OpenCLIP");
    }

    [TestMethod]
    public void ViTB16Plus240Architecture_TwoRandomBlocks_HasTheDocumentedShapesAndMatchesTorchSharp()
    {
        // The paper's architecture (896 wide, 14 heads, 240 px, 15x15 patches, E = 640, exact GELU), two of its twelve blocks.
        var config = ClipConfig.FromName("ViT-B-16-plus-240");
        var vision = config.Vision with { Layers = 2 };
        using var visual = new VisionTransformer(vision, config.EmbedDim, config.QuickGelu);
        visual.eval();
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        using (var generator = new Generator(17, CPU))
            foreach (var (name, p) in visual.named_parameters())
            {
                p.normal_(0, 0.02, generator);
                if (name.EndsWith(".weight", StringComparison.Ordinal) && name.Contains("ln_", StringComparison.Ordinal)) p.add_(1);
            }
        var model = ClipOnnxGraph.Build(visual, vision, config.QuickGelu, [1]);
        using var session = Session(model);

        CollectionAssert.AreEqual(new[] { -1, 3, 240, 240 }, session.InputMetadata[ClipOnnxGraph.PixelsInput].Dimensions);
        CollectionAssert.AreEqual(new[] { ClipOnnxGraph.HiddenOutput(1), ClipOnnxGraph.ImageEmbedsOutput, ClipOnnxGraph.PatchTokensOutput },
            session.OutputNames.ToArray());
        CollectionAssert.AreEqual(new[] { -1, 640 }, session.OutputMetadata[ClipOnnxGraph.ImageEmbedsOutput].Dimensions);
        CollectionAssert.AreEqual(new[] { -1, 225, 640 }, session.OutputMetadata[ClipOnnxGraph.PatchTokensOutput].Dimensions);
        CollectionAssert.AreEqual(new[] { -1, 226, 896 }, session.OutputMetadata[ClipOnnxGraph.HiddenOutput(1)].Dimensions);
        Assert.AreEqual("1", session.ModelMetadata.CustomMetadataMap["fsac.hidden_layers"]);
        // Every float32 weight is one initializer, named after its state-dict key (linear weights transposed, ".T").
        var initializers = model.Graph.Initializer.Where(t => t.DataType == (int)TensorProto.Types.DataType.Float).ToDictionary(t => t.Name);
        foreach (var (name, p) in visual.named_parameters())
        {
            bool linear = p.dim() == 2 && name != "positional_embedding" && name != "proj";
            Assert.IsTrue(initializers.Remove(linear ? name + ".T" : name, out var t), name);
            Assert.AreEqual(p.numel(), t.RawData.Length / sizeof(float), name);
        }
        CollectionAssert.AreEquivalent(new[] { "attn.scale", "gelu.sqrt2", "gelu.one", "gelu.half" }, initializers.Keys.ToArray());

        using var pixelGenerator = new Generator(3, CPU);
        var pixels = randn([1, 3, 240, 240], generator: pixelGenerator);
        var onnx = Run(session, pixels);
        var (pooled, patches, hidden) = visual.Tokens(pixels, pooled: true, patches: true, projectPatches: true, [1]);
        AssertClose(onnx[ClipOnnxGraph.ImageEmbedsOutput], pooled!, "image_embeds");
        AssertClose(onnx[ClipOnnxGraph.PatchTokensOutput], patches!, "patch_tokens");
        AssertClose(onnx[ClipOnnxGraph.HiddenOutput(1)], hidden[0], "hidden_1");
    }

    [TestMethod]
    public void HiddenLayers_AreOutputInBlockOrderOnce_AndOutOfRangeOrMismatchedWeightsAreRefused()
    {
        using var clip = ClipModelTests.LoadReference("tiny-vit");
        using (var session = Session(ClipOnnxGraph.Build(clip, [2, 1, 2])))
            CollectionAssert.AreEqual(new[] { "hidden_1", "hidden_2", ClipOnnxGraph.ImageEmbedsOutput, ClipOnnxGraph.PatchTokensOutput }, session.OutputNames.ToArray());
        using (var session = Session(ClipOnnxGraph.Build(clip)))
            CollectionAssert.AreEqual(new[] { ClipOnnxGraph.ImageEmbedsOutput, ClipOnnxGraph.PatchTokensOutput }, session.OutputNames.ToArray());

        Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => ClipOnnxGraph.Build(clip, [0]));
        Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => ClipOnnxGraph.Build(clip, [3]));
        var vision = clip.Config.Vision;
        var e = Assert.ThrowsExactly<ArgumentException>(() => ClipOnnxGraph.Build(clip.visual, vision with { Layers = 3 }, quickGelu: false));
        StringAssert.Contains(e.Message, "blocks");
        e = Assert.ThrowsExactly<ArgumentException>(() => ClipOnnxGraph.Build(clip.visual, vision with { ImageSize = 2 * vision.ImageSize }, quickGelu: false));
        StringAssert.Contains(e.Message, "positional_embedding");
    }

    private static InferenceSession Session(ModelProto model) => new(model.ToByteArray());

    private static Dictionary<string, (float[] Values, long[] Shape)> Run(InferenceSession session, Tensor pixels)
    {
        var values = pixels.contiguous().data<float>().ToArray();
        using var input = OrtValue.CreateTensorValueFromMemory(values, pixels.shape);
        using var outputs = session.Run(new RunOptions(), [ClipOnnxGraph.PixelsInput], [input], session.OutputNames);
        return session.OutputNames.Zip(outputs).ToDictionary(
            o => o.First, o => (o.Second.GetTensorDataAsSpan<float>().ToArray(), o.Second.GetTensorTypeAndShape().Shape));
    }

    // Same shape, and max |a − b| / max |b| within Tolerance; logs the max absolute and relative differences.
    private void AssertClose((float[] Values, long[] Shape) actual, Tensor expected, string what)
    {
        CollectionAssert.AreEqual(expected.shape, actual.Shape, $"{what}: shape [{string.Join(",", actual.Shape)}] vs [{string.Join(",", expected.shape)}]");
        var b = expected.contiguous().data<float>().ToArray();
        double maxAbs = 0, scale = 0;
        for (int i = 0; i < b.Length; i++)
        {
            maxAbs = Math.Max(maxAbs, Math.Abs((double)actual.Values[i] - b[i]));
            scale = Math.Max(scale, Math.Abs(b[i]));
        }
        Assert.IsGreaterThan(0.0, scale, $"{what}: the reference is all zeros");
        double relative = maxAbs / scale;
        TestContext.WriteLine($"{what}: max abs {maxAbs:E2}, relative {relative:E2}");
        Assert.IsLessThanOrEqualTo(Tolerance, relative, $"{what}: max abs {maxAbs:E2}, relative {relative:E2}");
    }
}
