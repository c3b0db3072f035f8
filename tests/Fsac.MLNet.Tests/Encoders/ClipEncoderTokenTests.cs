using Fsac.MLNet.Checkpoints;
using Fsac.MLNet.Classifiers;
using Fsac.MLNet.Encoders;
using Fsac.MLNet.Encoders.Clip;
using Fsac.MLNet.PatchCore;
using static TorchSharp.torch;

namespace Fsac.MLNet.Tests.Encoders;

/// <summary>CLIP's patch tokens, projected tokens and hidden states against OpenCLIP's (expected_tokens.safetensors).</summary>
[TestClass]
public sealed class ClipEncoderTokenTests
{
    private const double Tolerance = 1e-5;

    /// <summary>A model folder as a user has it (config, weights, vocabulary), as <see cref="ClipEncoderTests"/> builds it.</summary>
    private static ClipEncoder LoadEncoder(string model, out string folder)
    {
        folder = Directory.CreateTempSubdirectory("fsac-clip-tokens").FullName;
        var src = SharedData.Path("clip-reference", model);
        File.Copy(Path.Combine(src, "open_clip_config.json"), Path.Combine(folder, "open_clip_config.json"));
        File.Copy(Path.Combine(src, "open_clip_model.safetensors"), Path.Combine(folder, "open_clip_model.safetensors"));
        File.Copy(SharedData.Path("clip-reference", "vocab", ClipTokenizer.BpeGzFileName), Path.Combine(folder, ClipTokenizer.BpeGzFileName));
        return ClipEncoder.Load(folder);
    }

    private static Dictionary<string, Tensor> ExpectedTokens(string model)
        => SafeTensors.ReadTensors(SharedData.Path("clip-reference", model, "expected_tokens.safetensors"));

    /// <summary>‖a − b‖ / ‖b‖ (Frobenius), in double precision; fails on a shape mismatch.</summary>
    private static double RelativeError(Tensor actual, Tensor expected, string what)
    {
        CollectionAssert.AreEqual(expected.shape, actual.shape, $"{what}: shape [{string.Join(",", actual.shape)}] vs [{string.Join(",", expected.shape)}]");
        var a = actual.contiguous().data<float>().ToArray();
        var b = expected.contiguous().data<float>().ToArray();
        double diff = 0, norm = 0;
        for (int i = 0; i < a.Length; i++)
        {
            double d = (double)a[i] - b[i];
            diff += d * d;
            norm += (double)b[i] * b[i];
        }
        Assert.IsGreaterThan(0.0, norm, $"{what}: the reference is all zeros");
        return Math.Sqrt(diff / norm);
    }

    [TestMethod]
    [DataRow("tiny-vit")]
    [DataRow("tiny-vit-quickgelu")]
    public void PatchTokensAndHiddenStatesMatchOpenClip(string model)
    {
        using var encoder = LoadEncoder(model, out var folder);
        try
        {
            var pixels = ClipModelTestsExpected(model);
            var tokens = ExpectedTokens(model);
            int layers = (int)tokens["hidden_random"].shape[0];
            Assert.AreEqual(encoder.Model.visual.transformer.resblocks.Count, layers);
            using var scope = NewDisposeScope();
            using var noGrad = no_grad();
            foreach (var input in new[] { "random", "files" })
            {
                var (plain, noHidden) = encoder.EncodeTokens(pixels[$"pixels_{input}"], projected: false);
                Assert.IsEmpty(noHidden);
                var rel = RelativeError(plain, tokens[$"tokens_{input}"], $"tokens_{input}");
                Assert.IsLessThanOrEqualTo(Tolerance, rel, $"{model} tokens_{input}: relative error {rel:E2}");

                var (projected, _) = encoder.EncodeTokens(pixels[$"pixels_{input}"], projected: true);
                rel = RelativeError(projected, tokens[$"tokens_{input}_proj"], $"tokens_{input}_proj");
                Assert.IsLessThanOrEqualTo(Tolerance, rel, $"{model} tokens_{input}_proj: relative error {rel:E2}");
            }

            var all = Enumerable.Range(1, layers).ToArray();
            var (patches, hidden) = encoder.EncodeTokens(pixels["pixels_random"], projected: false, hiddenLayers: all);
            Assert.HasCount(layers, hidden);
            for (int i = 0; i < layers; i++)
            {
                var rel = RelativeError(hidden[i], tokens["hidden_random"][i], $"hidden_random[{i}]");
                Assert.IsLessThanOrEqualTo(Tolerance, rel, $"{model} hidden_random[{i}]: relative error {rel:E2}");
            }
            // Reading the hidden states does not change the final tokens.
            var relTokens = RelativeError(patches, tokens["tokens_random"], "tokens_random with hidden layers");
            Assert.IsLessThanOrEqualTo(Tolerance, relTokens);

            // A single intermediate layer alone.
            var (_, last) = encoder.EncodeTokens(pixels["pixels_random"], projected: false, hiddenLayers: [layers]);
            Assert.HasCount(1, last);
            Assert.IsLessThanOrEqualTo(Tolerance, RelativeError(last[0], tokens["hidden_random"][layers - 1], "last hidden alone"));

            Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => encoder.EncodeTokens(pixels["pixels_random"], false, [layers + 1]));
            Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => encoder.EncodeTokens(pixels["pixels_random"], false, [0]));
        }
        finally { Directory.Delete(folder, true); }
    }

    [TestMethod]
    [DataRow("tiny-vit")]
    [DataRow("tiny-vit-quickgelu")]
    public void EncodeBothGivesPooledFeaturesAndTheProjectedTokensAsAGrid(string model)
    {
        using var encoder = LoadEncoder(model, out var folder);
        try
        {
            var expected = ClipModelTestsExpected(model);
            var tokens = ExpectedTokens(model);
            using var scope = NewDisposeScope();
            using var noGrad = no_grad();
            foreach (var input in new[] { "random", "files" })
            {
                var encoded = encoder.Encode(expected[$"pixels_{input}"], EncoderOutputs.Both);
                Assert.IsNotNull(encoded.Global);
                Assert.IsNotNull(encoded.Patches);
                var rel = RelativeError(encoded.Global, expected[$"image_features_{input}"], $"image_features_{input}");
                Assert.IsLessThanOrEqualTo(Tolerance, rel, $"{model} pooled {input}: relative error {rel:E2}");

                // The reference tokens [N, P, E] laid out by hand as [N, E, G, G], P = G·G row-major.
                var reference = tokens[$"tokens_{input}_proj"];
                int n = (int)reference.shape[0], p = (int)reference.shape[1], e = (int)reference.shape[2];
                int g = (int)Math.Round(Math.Sqrt(p));
                Assert.AreEqual(p, g * g);
                Assert.AreEqual(encoder.PatchDim, e);
                var source = reference.contiguous().data<float>().ToArray();
                var grid = new float[n * e * g * g];
                for (int b = 0; b < n; b++)
                    for (int c = 0; c < e; c++)
                        for (int i = 0; i < g; i++)
                            for (int j = 0; j < g; j++)
                                grid[((b * e + c) * g + i) * g + j] = source[(b * p + i * g + j) * e + c];
                using var expectedGrid = tensor(grid, [n, e, g, g]);
                rel = RelativeError(encoded.Patches, expectedGrid, $"patch grid {input}");
                Assert.IsLessThanOrEqualTo(Tolerance, rel, $"{model} patch grid {input}: relative error {rel:E2}");

                // Patches alone and pooled alone agree with the joint pass.
                var onlyPatches = encoder.Encode(expected[$"pixels_{input}"], EncoderOutputs.Patches);
                Assert.IsNull(onlyPatches.Global);
                Assert.IsLessThanOrEqualTo(1e-6, RelativeError(onlyPatches.Patches!, encoded.Patches, "patches alone"));
                var onlyGlobal = encoder.Encode(expected[$"pixels_{input}"], EncoderOutputs.Global);
                Assert.IsNull(onlyGlobal.Patches);
                Assert.IsLessThanOrEqualTo(1e-6, RelativeError(onlyGlobal.Global!, encoded.Global, "pooled alone"));
            }
        }
        finally { Directory.Delete(folder, true); }
    }

    [TestMethod]
    public void WithResolutionIsNotSupportedAndPatchCoreSaysSo()
    {
        using var encoder = LoadEncoder("tiny-vit", out var folder);
        try
        {
            var e = Assert.ThrowsExactly<NotSupportedException>(() => encoder.WithResolution(320));
            StringAssert.Contains(e.Message, encoder.Name);
            using var image = TestDoubles.SyntheticImages.Normal(new Random(1), 64, 64);
            Assert.ThrowsExactly<NotSupportedException>(() =>
                PatchCoreClassifier.Fit(encoder, [image], new PatchCoreOptions { Resolution = 320 }));
        }
        finally { Directory.Delete(folder, true); }
    }

    private static Dictionary<string, Tensor> ClipModelTestsExpected(string model)
        => SafeTensors.ReadTensors(SharedData.Path("clip-reference", model, "expected.safetensors"));
}
