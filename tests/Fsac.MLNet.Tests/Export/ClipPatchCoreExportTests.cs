using Fsac.MLNet.Classifiers;
using Fsac.MLNet.Encoders;
using Fsac.MLNet.Export;
using Fsac.MLNet.PatchCore;
using Fsac.MLNet.Tests.Cli;
using Microsoft.ML.OnnxRuntime;
using TorchSharp;

namespace Fsac.MLNet.Tests.Export;

/// <summary>
/// ONNX export of PatchCore models (the default method and PatchCore's own settings) on the tiny random-weight CLIPs of
/// the shared fixtures, fitted and scored on real cookie images: ONNX Runtime on the CLIP's resized pixels (the
/// normalisation inside the graph) against the TorchSharp model, scores, patch maps and decisions.
/// </summary>
[TestClass]
public sealed class ClipPatchCoreExportTests
{
    public TestContext TestContext { get; set; } = null!;

    [TestMethod]
    [DataRow("tiny-vit", "default")]
    [DataRow("tiny-vit", "patchcore")]
    [DataRow("tiny-vit-quickgelu", "default")]
    public void PatchCoreOnTinyClip_OnRealCookies_ScoresMapsAndDecidesAsTorchSharpDoes(string fixture, string method)
    {
        using var clip = ClipEncoder.Load(SharedData.Path("clip-reference", fixture), vocabularyPath: TinyClip.Vocabulary, engine: EncoderEngine.TorchSharp);
        var normals = ExportParity.Cookies("normal", 4);
        var anomalies = ExportParity.Cookies("anomaly", 3);
        var options = (method == "default" ? DefaultMethod.For(clip, seed: 3) : new PatchCoreOptions { Seed = 3 }) with
        {
            Search = SearchPrecision.Float32, CalibrationAnomaliesPerNormal = 1,
        };
        using var model = PatchCoreClassifier.Fit(clip, normals.Take(2).ToList(), options);
        List<SixLabors.ImageSharp.Image<SixLabors.ImageSharp.PixelFormats.Rgb24>> test = [.. normals.Skip(2), .. anomalies];

        using var stream = new MemoryStream();
        model.ExportOnnx(stream);
        using var session = new InferenceSession(stream.ToArray());
        using var scope = torch.NewDisposeScope();
        var pixels = clip.Pixels(test);
        int size = (int)pixels.shape[2];
        var (mean, std) = (clip.Preprocessor.Config.Mean, clip.Preprocessor.Config.Std);
        var normalised = pixels.div(255f).sub(torch.tensor(new[] { mean.R, mean.G, mean.B }).view(1, 3, 1, 1))
            .div(torch.tensor(new[] { std.R, std.G, std.B }).view(1, 3, 1, 1));
        CollectionAssert.AreEqual(clip.Preprocess(test).data<float>().ToArray(), normalised.data<float>().ToArray(),
            "Pixels / 255, minus the mean, over the std is Preprocess, bit for bit");
        using var patches = clip.EncodePatches(test, 8);
        var expected = model.ScorePatches(patches);
        CollectionAssert.AreEqual(model.Score(test), expected.Scores);

        var (scores, decisions, maps) = ExportParity.Run(session, pixels.data<float>().ToArray(), test.Count, size, size);
        var grid = patches.Grids[0];
        CollectionAssert.AreEqual(new[] { test.Count, grid.Rows, grid.Columns }, maps.Dimensions.ToArray());
        double worstMap = 0;
        for (int i = 0; i < test.Count; i++)
        {
            var map = Enumerable.Range(0, grid.Count).Select(p => maps.GetValue(i * grid.Count + p)).ToArray();
            worstMap = Math.Max(worstMap, map.Zip(expected.PatchMaps[i], (a, b) => Math.Abs(a - b)).Max() / expected.PatchMaps[i].Max(Math.Abs));
        }
        double worst = ExportParity.AssertScoresAndDecisions(scores, decisions, expected.Scores, model.Threshold);
        TestContext.WriteLine($"{fixture} {method}: {test.Count} cookies at {size}x{size}, memory {model.MemoryPatches} patches: worst relative difference, " +
                              $"scores {worst:G3}, maps {worstMap:G3}; decisions [{string.Join(", ", decisions)}], threshold {model.Threshold:G5}");
        Assert.IsLessThanOrEqualTo(ExportParity.Tolerance, worstMap, "patch maps");
        Assert.AreEqual(clip.Name, session.ModelMetadata.CustomMetadataMap["fsac.backbone"]);
        ExportParity.DisposeAll(normals);
        ExportParity.DisposeAll(anomalies);
    }

    [TestMethod]
    public void ResizeInGraph_OnAClipModel_IsRefused_AndTheMessageNamesTheOption()
    {
        using var clip = ClipEncoder.Load(SharedData.Path("clip-reference", "tiny-vit"), vocabularyPath: TinyClip.Vocabulary, engine: EncoderEngine.TorchSharp);
        var normals = ExportParity.Cookies("normal", 1);
        using var model = PatchCoreClassifier.Fit(clip, normals, new PatchCoreOptions { CalibrationAnomaliesPerNormal = 1 });
        var e = Assert.ThrowsExactly<NotSupportedException>(() => model.ExportOnnx(new MemoryStream(), 96, 128, resizeInGraph: true));
        StringAssert.Contains(e.Message, "resizeInGraph");
        StringAssert.Contains(e.Message, "--resize");
        ExportParity.DisposeAll(normals);
    }
}
