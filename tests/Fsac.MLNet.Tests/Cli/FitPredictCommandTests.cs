using System.Text.Json;
using Fsac.Cli;
using Fsac.Cli.Commands;
using Fsac.MLNet.Classification;
using Fsac.MLNet.Imaging;
using Fsac.MLNet.Tests.IO;
using SixLabors.ImageSharp;
using Spectre.Console;
using Spectre.Console.Cli;
using Spectre.Console.Cli.Testing;

namespace Fsac.MLNet.Tests.Cli;

/// <summary>
/// <c>fsac fit</c> and <c>fsac predict</c> run in-process through Spectre's CommandAppTester, with the exception
/// handler of the real program. One ResNet18 CLIP-FSAC fit (<c>--method fsac</c>: 2 real cookie images, 2 epochs per
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
        (fitExitCode, fitOutput) = Run("fit", "--method", "fsac", "--normal", Normal(1), Normal(2), Normal(3), "--class", "cookie",
            "--shots", "2", "--epochs", "2", "--seed", "3", "--out", model);
    }

    [ClassCleanup]
    public static void Cleanup() => folder.Dispose();

    /// <summary>Runs <c>fsac</c> with <paramref name="args"/>; returns the exit code and everything written to the console.</summary>
    private static (int ExitCode, string Output) Run(params string[] args)
    {
        var app = new CommandAppTester();
        app.Configure(config =>
        {
            config.SetExceptionHandler((ex, resolver) => ErrorReporter.Report(ex, args, (IAnsiConsole)resolver!.Resolve(typeof(IAnsiConsole))!));
            config.AddCommand<FitCommand>("fit");
            config.AddCommand<PredictCommand>("predict");
        });
        var result = app.Run(args);
        return (result.ExitCode, result.Output);
    }

    [TestMethod]
    public void FitSamplesTheShotsAndSavesAModelThatRecordsItsBackbone()
    {
        Assert.AreEqual(ExitCodes.Success, fitExitCode, fitOutput);
        StringAssert.Contains(fitOutput, "sampled 2 of 3 normal images (seed 3)");
        Assert.AreEqual(2, fitOutput.Split('\n').Count(l => l.Contains("shot: ")), fitOutput);
        using var loaded = FsacClassifier.Load(model);
        Assert.AreEqual("resnet18", loaded.Backbone?.Spec);
        Assert.AreEqual("cookie", loaded.Options.ClassName);
        Assert.AreEqual(2, loaded.Options.EpochsPerStage);
        Assert.IsTrue(loaded.History.Stages.All(s => s.Losses.Count == 2));
        StringAssert.Contains(fitOutput, $"{loaded.Threshold:F4}", "the summary prints the threshold");
        Assert.IsFalse(File.Exists(model + ".partial"));
    }

    [TestMethod]
    public void PredictPrintsParseableJsonWithTheModelsScoresDecisionsAndHeatmaps()
    {
        var heatmaps = folder.File("heatmaps");
        string[] images = [Normal(4), Anomaly(1)];
        var (code, output) = Run(["predict", "--model", model, "--format", "json", "--heatmaps", heatmaps, .. images]);

        Assert.AreEqual(ExitCodes.Success, code, output);
        using var json = JsonDocument.Parse(output);
        var root = json.RootElement;
        using var loaded = FsacClassifier.Load(model);
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
        var (code, output) = Run("predict", "--model", model, "--format", "csv", Normal(5), broken, Normal(6));

        Assert.AreEqual(ExitCodes.BadInput, code, output);
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
            var (code, output) = Run("predict", "--model", bad, Normal(4));
            Assert.AreEqual(ExitCodes.BadInput, code, output);
            StringAssert.StartsWith(output, $"error: Cannot read model '{bad}'");
            StringAssert.Contains(output, "hint: pass a model written by 'fsac fit");
            Assert.DoesNotContain("   at ", output, "no stack trace without --verbose");
        }
    }

    [TestMethod]
    public void FitWithAMissingNormalFolderExitsWith2()
    {
        var missing = folder.File("no-such-folder");
        var (code, output) = Run("fit", "--normal", missing, "--class", "cookie", "--out", folder.File("never.fsac"));
        Assert.AreEqual(ExitCodes.BadInput, code, output);
        StringAssert.Contains(output, $"'{missing}' is neither a file nor a folder");
        Assert.IsFalse(File.Exists(folder.File("never.fsac")));
    }

    [TestMethod]
    public void FitWithoutTheRequiredOptionsExitsWith2()
    {
        // --class is optional since fit has methods without prompts; --normal and --out are required.
        var (code, output) = Run("fit", "--normal", Normal(1));
        Assert.AreEqual(ExitCodes.BadInput, code, output);
        StringAssert.Contains(output, "--out <FILE> is required");
        (code, output) = Run("fit", "--out", folder.File("never.fsac"));
        Assert.AreEqual(ExitCodes.BadInput, code, output);
        StringAssert.Contains(output, "--normal <PATHS> is required");
        Assert.IsFalse(File.Exists(folder.File("never.fsac")));
    }
}
