using Fsac.MLNet.Classifiers;
using Fsac.MLNet.Encoders;
using Fsac.MLNet.Encoders.Clip;
using Fsac.MLNet.Imaging;
using Fsac.MLNet.Tests.Checkpoints;
using System.Text.Json;
using Fsac.Cli;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.PixelFormats;
using SixLabors.ImageSharp.Processing;

namespace Fsac.MLNet.Tests.Cli;

/// <summary>
/// <c>fsac fit --method</c>, <c>fsac predict --heatmaps</c> on a memory model and <c>fsac update</c>, in-process
/// (<see cref="CliRunner"/>). One ResNet18 PatchCore fit at 224 px on two real cookies reduced to 96x128
/// PNGs, and one CLIP-FSAC fit on the tiny CLIP, are shared by the class.
/// </summary>
[TestClass]
public class MethodCommandTests
{
    private static TempDir folder = null!;
    private static string shots = null!;
    private static string more = null!;
    private static string[] tests = null!;
    private static string model = null!;
    private static string fsacModel = null!;
    private static CliRun fit = null!;
    private static CliRun fsacFit = null!;
    private static ResNet18Encoder encoder = null!;

    [ClassInitialize]
    public static void FitOnce(TestContext _)
    {
        folder = new TempDir();
        shots = Directory.CreateDirectory(folder.File("shots")).FullName;
        more = Directory.CreateDirectory(folder.File("more")).FullName;
        var test = Directory.CreateDirectory(folder.File("test")).FullName;
        Small("normal", 1, shots);
        Small("normal", 2, shots);
        Small("normal", 3, more);
        Small("normal", 4, more);
        tests = [Small("normal", 5, test), Small("anomaly", 1, test)];
        encoder = ResNet18Encoder.LoadDefault();

        model = folder.File("patchcore.fsac");
        fit = CliRunner.Run("fit", "--method", "patchcore", "--resolution", "224", "--shots", "2", "--seed", "1", "--out", model, shots);

        var clip = Directory.CreateDirectory(folder.File("tiny-clip")).FullName;
        foreach (var file in new[] { "open_clip_config.json", "open_clip_model.safetensors" })
            File.Copy(SharedData.Path("clip-reference", "tiny-vit", file), Path.Combine(clip, file));
        File.Copy(SharedData.Path("clip-reference", "vocab", ClipTokenizer.BpeGzFileName), Path.Combine(clip, ClipTokenizer.BpeGzFileName));
        fsacModel = folder.File("fsac.fsac");
        fsacFit = CliRunner.Run("fit", "--method", "fsac", "--backbone", clip, "--class", "cookie", "--epochs", "2", "--shots", "1", "--out", fsacModel,
            Path.Combine(shots, "normal-1.png"));
    }

    [ClassCleanup]
    public static void Cleanup()
    {
        encoder?.Dispose();
        folder?.Dispose();
    }

    /// <summary>A cookie photograph reduced from 576x768 to 96x128, written as a PNG into <paramref name="into"/>.</summary>
    private static string Small(string kind, int i, string into)
    {
        using var image = Image.Load<Rgb24>(SharedData.Path("data", "cookies", kind, $"{kind}-{i}.jpg"));
        image.Mutate(c => c.Resize(96, 128));
        var path = Path.Combine(into, $"{kind}-{i}.png");
        image.SaveAsPng(path);
        return path;
    }

    /// <summary>The model file loaded on the class's ResNet18 (the same encoder the file's backbone re-creates).</summary>
    private static FewShotAnomalyClassifier LoadOnResNet(string path)
    {
        using var file = File.OpenRead(path);
        return FewShotAnomalyClassifier.Load(file, encoder, path);
    }

    private string Copy(string path, string name)
    {
        var copy = folder.File(name);
        File.Copy(path, copy, overwrite: true);
        return copy;
    }

    [TestMethod]
    public void FitPatchCoreAtAResolutionSavesAMemoryModelThatRecordsItsMethodAndBackbone()
    {
        Assert.AreEqual(ExitCodes.Success, fit.ExitCode, fit.ToString());
        using var loaded = FewShotAnomalyClassifier.Load(model);
        Assert.AreEqual(AnomalyMethod.PatchCore, loaded.Method);
        Assert.AreEqual("resnet18", loaded.Backbone?.Spec);
        var memory = (PatchCoreClassifier)loaded.Inner;
        Assert.AreEqual(224, memory.Options.Resolution);
        Assert.AreEqual(2, memory.Shots);
        Assert.IsTrue(loaded.CanAddNormals);
        StringAssert.Contains(fit.Output, "; method patchcore");
        StringAssert.Contains(fit.Output, "shorter side 224 px");
        StringAssert.Contains(fit.Output, $"{memory.MemoryPatches} patches");
        StringAssert.Contains(fit.Output, $"{loaded.Threshold:F4}", "the summary prints the threshold");
        Assert.IsEmpty(Directory.GetFiles(folder.Path, "*.tmp"), "no temp file is left beside the model");
    }

    [TestMethod]
    public void PredictWithHeatmapsWritesAnOverlayPngPerImageAndTheModelsScores()
    {
        Assert.AreEqual(ExitCodes.Success, fit.ExitCode, fit.ToString());
        var heatmaps = folder.File("patchcore-heatmaps");
        var run = CliRunner.Run(["predict", "--model", model, "--format", "json", "--heatmaps", heatmaps, .. tests]);

        Assert.AreEqual(ExitCodes.Success, run.ExitCode, run.ToString());
        using var json = JsonDocument.Parse(run.Output);
        using var loaded = LoadOnResNet(model);
        Assert.AreEqual(loaded.Threshold, json.RootElement.GetProperty("threshold").GetSingle());
        var predictions = json.RootElement.GetProperty("predictions").EnumerateArray().ToList();
        Assert.HasCount(tests.Length, predictions);
        var decoded = tests.Select(ImageLoader.Default.Load).ToList();
        var expected = loaded.Score(decoded);
        CollectionAssert.AreEquivalent(tests.Select(t => Path.GetFileNameWithoutExtension(t) + ".png").ToArray(),
            Directory.GetFiles(heatmaps).Select(Path.GetFileName).ToArray(), "one PNG per image, nothing else");
        for (int i = 0; i < tests.Length; i++)
        {
            var p = predictions[i];
            float score = p.GetProperty("score").GetSingle();
            Assert.AreEqual(expected[i], score, 1e-4f * Math.Max(1f, expected[i]), "the CLI's score is the model's");
            Assert.AreEqual(score >= loaded.Threshold, p.GetProperty("anomalous").GetBoolean());
            var heatmap = p.GetProperty("heatmap").GetString()!;
            using var overlay = Image.Load<Rgb24>(heatmap);
            Assert.AreEqual((decoded[i].Width, decoded[i].Height), (overlay.Width, overlay.Height), "the overlay has the image's size");
            int changed = 0;
            for (int y = 0; y < overlay.Height; y++)
                for (int x = 0; x < overlay.Width; x++)
                    if (!overlay[x, y].Equals(decoded[i][x, y])) changed++;
            Assert.IsGreaterThan(overlay.Width * overlay.Height / 2, changed, "the map is drawn over the image");
        }
        decoded.ForEach(d => d.Dispose());
    }

    [TestMethod]
    public void PredictAsJsonWithAnUnreadableImageKeepsStdoutValidJsonAndNamesTheImageOnStderr()
    {
        Assert.AreEqual(ExitCodes.Success, fit.ExitCode, fit.ToString());
        var broken = folder.File("half.png");
        File.WriteAllBytes(broken, File.ReadAllBytes(tests[0])[..200]);

        var run = CliRunner.Run("predict", "--model", model, "--format", "json", tests[0], broken);

        Assert.AreEqual(ExitCodes.BadInput, run.ExitCode, run.ToString());
        using var json = JsonDocument.Parse(run.Output);
        var predictions = json.RootElement.GetProperty("predictions").EnumerateArray().ToList();
        Assert.HasCount(2, predictions);
        Assert.IsTrue(predictions[0].TryGetProperty("score", out _), "the readable image is scored");
        Assert.AreEqual(broken, predictions[1].GetProperty("image").GetString());
        StringAssert.Contains(predictions[1].GetProperty("error").GetString(), broken);
        Assert.HasCount(1, run.ErrorLines, run.ToString());
        StringAssert.StartsWith(run.ErrorLines[0], "error: ");
        StringAssert.Contains(run.ErrorLines[0], $"'{broken}'");
    }

    [TestMethod]
    public void UpdateAddsNormalsToTheMemoryModelInPlaceAndPrintsTheThresholdChange()
    {
        Assert.AreEqual(ExitCodes.Success, fit.ExitCode, fit.ToString());
        var copy = Copy(model, "grown.fsac");
        float before;
        long patches;
        using (var original = LoadOnResNet(model))
        {
            before = original.Threshold;
            patches = ((PatchCoreClassifier)original.Inner).MemoryPatches;
        }

        var run = CliRunner.Run("update", "--model", copy, "--normal", more);

        Assert.AreEqual(ExitCodes.Success, run.ExitCode, run.ToString());
        using var grown = LoadOnResNet(copy);
        var memory = (PatchCoreClassifier)grown.Inner;
        Assert.AreEqual(AnomalyMethod.PatchCore, grown.Method);
        Assert.AreEqual(4, memory.Shots);
        Assert.AreEqual(2 * patches, memory.MemoryPatches, "two more 96x128 images at the same resolution");
        StringAssert.Contains(run.Output, "2 normal image(s); 4 in all");
        StringAssert.Contains(run.Output, $"{before:F4} -> {grown.Threshold:F4}");
        StringAssert.Contains(run.Output, $"{memory.MemoryPatches} patches");
        Assert.IsEmpty(Directory.GetFiles(folder.Path, "*.tmp"));
    }

    [TestMethod]
    public void UpdateWithOutWritesTheGrownModelThereAndLeavesTheOriginal()
    {
        Assert.AreEqual(ExitCodes.Success, fit.ExitCode, fit.ToString());
        var source = Copy(model, "source.fsac");
        var bytes = File.ReadAllBytes(source);
        var target = Path.Combine(folder.File("out"), "grown.fsac");

        var run = CliRunner.Run("update", "--model", source, "--normal", Path.Combine(more, "normal-3.png"), "--out", target);

        Assert.AreEqual(ExitCodes.Success, run.ExitCode, run.ToString());
        CollectionAssert.AreEqual(bytes, File.ReadAllBytes(source), "--out leaves the original untouched");
        using var grown = LoadOnResNet(target);
        Assert.AreEqual(3, ((PatchCoreClassifier)grown.Inner).Shots);
    }

    [TestMethod]
    public void UpdateOnAnFsacModelExitsWithBadInputInOneLineAndLeavesTheFile()
    {
        Assert.AreEqual(ExitCodes.Success, fsacFit.ExitCode, fsacFit.ToString());
        var bytes = File.ReadAllBytes(fsacModel);

        var run = CliRunner.Run("update", "--model", fsacModel, "--normal", more);

        Assert.AreEqual(ExitCodes.BadInput, run.ExitCode, run.ToString());
        Assert.AreEqual("", run.Output);
        Assert.HasCount(1, run.ErrorLines, run.ToString());
        StringAssert.StartsWith(run.ErrorLines[0], "error: A 'fsac' model cannot add normal images");
        StringAssert.Contains(run.ErrorLines[0], "Fit it again");
        CollectionAssert.AreEqual(bytes, File.ReadAllBytes(fsacModel), "the model is not rewritten");
    }

    [TestMethod]
    public void PredictLoadsAnFsacModelToo()
    {
        Assert.AreEqual(ExitCodes.Success, fsacFit.ExitCode, fsacFit.ToString());
        var heatmaps = folder.File("fsac-heatmaps");
        var run = CliRunner.Run(["predict", "--model", fsacModel, "--format", "csv", "--heatmaps", heatmaps, .. tests]);

        Assert.AreEqual(ExitCodes.Success, run.ExitCode, run.ToString());
        var lines = run.Output.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.HasCount(1 + tests.Length, lines, run.ToString());
        Assert.HasCount(tests.Length, Directory.GetFiles(heatmaps, "*.png"));
    }

    [TestMethod]
    public void UpdateWithoutAModelOrWithAMissingOneExitsWithBadInput()
    {
        var run = CliRunner.Run("update", "--normal", more);
        Assert.AreEqual(ExitCodes.BadInput, run.ExitCode, run.ToString());
        Assert.HasCount(1, run.ErrorLines, run.ToString());
        StringAssert.Contains(run.ErrorLines[0], "--model <FILE> is required");

        var missing = folder.File("missing.fsac");
        run = CliRunner.Run("update", "--model", missing, "--normal", more);
        Assert.AreEqual(ExitCodes.BadInput, run.ExitCode, run.ToString());
        Assert.HasCount(1, run.ErrorLines, run.ToString());
        StringAssert.Contains(run.ErrorLines[0], missing);
        Assert.IsFalse(File.Exists(missing));
    }

    [TestMethod]
    [DataRow("200")]
    [DataRow("16")]
    [DataRow("4096")]
    public void FitWithAResolutionThatIsNotAMultipleOf32InRangeIsRefused(string resolution)
    {
        var never = folder.File($"never-{resolution}.fsac");
        var run = CliRunner.Run("fit", "--method", "patchcore", "--resolution", resolution, "--out", never, shots);
        Assert.AreEqual(ExitCodes.BadInput, run.ExitCode, run.ToString());
        Assert.HasCount(1, run.ErrorLines, run.ToString());
        StringAssert.Contains(run.ErrorLines[0], "--resolution must be a multiple of 32");
        StringAssert.Contains(run.ErrorLines[0], resolution);
        Assert.IsFalse(File.Exists(never));
    }

    [TestMethod]
    public void FitWithAnUnknownMethodListsTheValidOnes()
    {
        var run = CliRunner.Run("fit", "--method", "knn", "--out", folder.File("never.fsac"), shots);
        Assert.AreEqual(ExitCodes.BadInput, run.ExitCode, run.ToString());
        Assert.HasCount(1, run.ErrorLines, run.ToString());
        StringAssert.Contains(run.ErrorLines[0], "Unknown method 'knn'");
        StringAssert.Contains(run.ErrorLines[0], "fsac+patchcore");
    }
}
