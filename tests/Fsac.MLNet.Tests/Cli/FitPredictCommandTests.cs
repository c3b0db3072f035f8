using Fsac.MLNet.Classifiers;
using Fsac.MLNet.Imaging;
using Fsac.MLNet.Tests.Checkpoints;
using System.Text.Json;
using Fsac.Cli;
using SixLabors.ImageSharp;

namespace Fsac.MLNet.Tests.Cli;

/// <summary>
/// <c>fsac fit</c> and <c>fsac predict</c> run in-process through Spectre's CommandAppTester, configured as the real
/// program (<see cref="CliRunner"/>). One ResNet18 CLIP-FSAC fit (<c>--method fsac</c>: 2 real cookie images, 2 epochs per
/// stage) is shared by the class; the other methods are in <see cref="MethodCommandTests"/>.
/// </summary>
[TestClass]
public class FitPredictCommandTests
{
    private static TempDir folder = null!;
    private static string model = null!;
    private static string fitOutput = null!;
    private static int fitExitCode;

    private static string Normal(int i) => SharedData.Path("data", "cookies", "normal", $"normal-{i}.jpg");
    private static string Anomaly(int i) => SharedData.Path("data", "cookies", "anomaly", $"anomaly-{i}.jpg");

    [ClassInitialize]
    public static void FitOnce(TestContext _)
    {
        folder = new TempDir();
        model = folder.File("cookies.fsac");
        var fit = CliRunner.Run("fit", "--method", "fsac", "--normal", Normal(1), Normal(2), Normal(3), "--class", "cookie",
            "--shots", "2", "--epochs", "2", "--seed", "3", "--out", model);
        (fitExitCode, fitOutput) = (fit.ExitCode, fit.ToString());
    }

    [ClassCleanup]
    public static void Cleanup() => folder.Dispose();

    [TestMethod]
    public void FitSamplesTheShotsAndSavesAModelThatRecordsItsBackbone()
    {
        Assert.AreEqual(ExitCodes.Success, fitExitCode, fitOutput);
        StringAssert.Contains(fitOutput, "sampled 2 of 3 normal images (seed 3)");
        Assert.AreEqual(2, fitOutput.Split('\n').Count(l => l.Contains("shot: ")), fitOutput);
        using var file = FewShotAnomalyClassifier.Load(model);
        var loaded = (FsacClassifier)file.Inner;
        Assert.AreEqual("resnet18", loaded.Backbone?.Spec);
        Assert.AreEqual("cookie", loaded.Options.ClassName);
        Assert.AreEqual(2, loaded.Options.EpochsPerStage);
        Assert.IsTrue(loaded.History.Stages.All(s => s.Losses.Count == 2));
        StringAssert.Contains(fitOutput, $"{loaded.Threshold:F4}", "the summary prints the threshold");
        StringAssert.Matches(fitOutput, new System.Text.RegularExpressions.Regex(@"fit \d+\.\d s, encoding included; backbone loading \d+\.\d s"), "the summary prints the fit's time");
        Assert.IsEmpty(Directory.GetFiles(folder.Path, "*.tmp"), "no temp file is left beside the model");
    }

    [TestMethod]
    public void PredictPrintsParseableJsonWithTheModelsScoresDecisionsAndHeatmaps()
    {
        var heatmaps = folder.File("heatmaps");
        string[] images = [Normal(4), Anomaly(1)];
        var run = CliRunner.Run(["predict", "--model", model, "--format", "json", "--heatmaps", heatmaps, .. images]);

        Assert.AreEqual(ExitCodes.Success, run.ExitCode, run.ToString());
        Assert.AreEqual("", run.Error);
        using var json = JsonDocument.Parse(run.Output);
        var root = json.RootElement;
        using var loaded = FewShotAnomalyClassifier.Load(model);
        Assert.AreEqual(loaded.Threshold, root.GetProperty("threshold").GetSingle());
        Assert.AreEqual("resnet18", root.GetProperty("backbone").GetString());
        var predictions = root.GetProperty("predictions").EnumerateArray().ToList();
        Assert.HasCount(2, predictions);

        var decoded = images.Select(ImageLoader.Default.Load).ToList();
        var expected = loaded.Score(decoded);
        for (int i = 0; i < images.Length; i++)
        {
            var p = predictions[i];
            Assert.AreEqual(images[i], p.GetProperty("image").GetString());
            float score = p.GetProperty("score").GetSingle();
            Assert.IsTrue(float.IsFinite(score), $"score {score} is not finite");
            Assert.AreEqual(expected[i], score, 1e-5f, "the CLI's score is the model's");
            Assert.AreEqual(score >= loaded.Threshold, p.GetProperty("anomalous").GetBoolean());
            var heatmap = p.GetProperty("heatmap").GetString()!;
            var info = Image.Identify(heatmap);
            Assert.AreEqual((decoded[i].Width, decoded[i].Height), (info.Width, info.Height), "the overlay has the image's size");
        }
        decoded.ForEach(d => d.Dispose());
    }

    [TestMethod]
    public void PredictReportsACorruptImageScoresTheOthersAndExitsWith2()
    {
        var broken = folder.File("broken.jpg");
        File.WriteAllBytes(broken, File.ReadAllBytes(Normal(5))[..2000]);
        var run = CliRunner.Run("predict", "--model", model, "--format", "csv", Normal(5), broken, Normal(6));
        var (code, output) = (run.ExitCode, run.Output);

        Assert.AreEqual(ExitCodes.BadInput, code, output);
        Assert.HasCount(1, run.ErrorLines, run.ToString());
        StringAssert.StartsWith(run.ErrorLines[0], $"error: Cannot decode image '{broken}'");
        var lines = output.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.AreEqual("image,score,anomalous,heatmap,error", lines[0]);
        Assert.HasCount(4, lines, output);
        StringAssert.StartsWith(lines[1], Normal(5) + ",");
        Assert.IsTrue(float.TryParse(lines[1].Split(',')[1], System.Globalization.CultureInfo.InvariantCulture, out _), lines[1]);
        StringAssert.StartsWith(lines[2], broken + ",,,,");
        StringAssert.Contains(lines[2], "Cannot decode image");
        StringAssert.StartsWith(lines[3], Normal(6) + ",");
    }

    [TestMethod]
    public void PredictWithACorruptModelFileSaysSoInOneLineWithAHint()
    {
        var garbage = folder.File("garbage.fsac");
        File.WriteAllText(garbage, "not a model");
        var truncated = folder.File("truncated.fsac");
        File.WriteAllBytes(truncated, File.ReadAllBytes(model)[..1000]);

        foreach (var bad in new[] { garbage, truncated })
        {
            var run = CliRunner.Run("predict", "--model", bad, Normal(4));
            Assert.AreEqual(ExitCodes.BadInput, run.ExitCode, run.ToString());
            Assert.HasCount(1, run.ErrorLines, "one line, no stack trace without --verbose: " + run);
            StringAssert.StartsWith(run.ErrorLines[0], $"error: Cannot read model '{bad}'");
            StringAssert.Contains(run.ErrorLines[0], "(hint: pass a model written by 'fsac fit");
            Assert.AreEqual("", run.Output);
        }
    }

    [TestMethod]
    public void FitWithAMissingNormalFolderExitsWith2()
    {
        var missing = folder.File("no-such-folder");
        var run = CliRunner.Run("fit", "--normal", missing, "--class", "cookie", "--out", folder.File("never.fsac"));
        Assert.AreEqual(ExitCodes.BadInput, run.ExitCode, run.ToString());
        Assert.HasCount(1, run.ErrorLines, run.ToString());
        StringAssert.Contains(run.ErrorLines[0], $"'{missing}' is neither a file nor a folder");
        Assert.IsFalse(File.Exists(folder.File("never.fsac")));
    }

    [TestMethod]
    public void FitWithoutTheRequiredOptionsExitsWith2()
    {
        // --class is optional since fit has methods without prompts; --normal and --out are required.
        var run = CliRunner.Run("fit", "--normal", Normal(1));
        Assert.AreEqual(ExitCodes.BadInput, run.ExitCode, run.ToString());
        StringAssert.Contains(run.Error, "--out <FILE> is required");
        run = CliRunner.Run("fit", "--out", folder.File("never.fsac"));
        Assert.AreEqual(ExitCodes.BadInput, run.ExitCode, run.ToString());
        Assert.HasCount(1, run.ErrorLines, run.ToString());
        StringAssert.Contains(run.Error, "--normal <PATHS> is required");
        Assert.IsFalse(File.Exists(folder.File("never.fsac")));
    }
}
