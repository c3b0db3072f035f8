using Fsac.MLNet.Tests.Checkpoints;
using Fsac.Cli;
using SixLabors.ImageSharp;

namespace Fsac.MLNet.Tests.Cli;

/// <summary>Bad command lines and outputs that cannot be written: exit 2, one line on stderr naming the problem, nothing half-written.</summary>
[TestClass]
public class CommandErrorTests
{
    [TestMethod]
    public void AMisspeltOptionIsAnErrorNotIgnored()
    {
        using var dir = new TempDir();
        var image = TinyClip.Images(dir.File("images"), 1)[0];
        var run = CliRunner.Run("fit", "--shot", "1", "--out", dir.File("m.fsac"), image);

        Assert.AreEqual(ExitCodes.BadInput, run.ExitCode, run.ToString());
        Assert.AreEqual("", run.Output);
        Assert.HasCount(1, run.ErrorLines, run.ToString());
        StringAssert.StartsWith(run.ErrorLines[0], "error: Unknown option 'shot'.");
        Assert.IsFalse(File.Exists(dir.File("m.fsac")));
    }

    [TestMethod]
    [DataRow("fit", "--normal", "x.png", "--out", "m.fsac")]
    [DataRow("eval", "--data", "d", "--out", "o")]
    [DataRow("embed", "--model", "m", "--out", "o", "--texts", "a")]
    public void EveryCommandRefusesAnUnknownDTypeWithTheSameMessage(params string[] args)
    {
        var run = CliRunner.Run([.. args, "--dtype", "BF16"]);

        Assert.AreEqual(ExitCodes.BadInput, run.ExitCode, run.ToString());
        Assert.HasCount(1, run.ErrorLines, run.ToString());
        StringAssert.StartsWith(run.ErrorLines[0], "error: --dtype must be fp32, bf16 or int8; got 'BF16'.");
    }

    [TestMethod]
    [DataRow("fit", "--normal", "x.png", "--out", "m.fsac")]
    [DataRow("eval", "--data", "d", "--out", "o")]
    [DataRow("embed", "--model", "m", "--out", "o", "--texts", "a")]
    public void EveryCommandWithADTypeRefusesAnUnknownEngineWithTheSameMessage(params string[] args)
    {
        var run = CliRunner.Run([.. args, "--engine", "ONNX"]);

        Assert.AreEqual(ExitCodes.BadInput, run.ExitCode, run.ToString());
        Assert.HasCount(1, run.ErrorLines, run.ToString());
        StringAssert.StartsWith(run.ErrorLines[0], "error: --engine must be auto, torchsharp or onnxruntime; got 'ONNX'.");
    }

    [TestMethod]
    public void BenchWithAMissingVocabularyFailsBeforeMeasuringAndNamesTheFile()
    {
        using var dir = new TempDir();
        var missing = dir.File("no-such-vocab.txt.gz");
        var run = CliRunner.Run("bench", "--vocab", missing, "--shots", "4");

        Assert.AreEqual(ExitCodes.BadInput, run.ExitCode, run.ToString());
        Assert.AreEqual("", run.Output, "nothing was measured");
        Assert.HasCount(1, run.ErrorLines, run.ToString());
        StringAssert.Contains(run.ErrorLines[0], missing);
    }

    [TestMethod]
    public void BenchRefusesASoakWithoutRounds()
    {
        var run = CliRunner.Run("bench", "--soak", "0");
        Assert.AreEqual(ExitCodes.BadInput, run.ExitCode, run.ToString());
        StringAssert.Contains(run.ErrorLines[0], "--soak");
    }

    [TestMethod]
    public void PredictAsJsonWithAMissingModelPrintsNothingOnStdoutAndTheWholePathOnStderr()
    {
        var model = Path.Combine(Path.GetTempPath(), string.Join("/", Enumerable.Repeat("a-rather-long-folder-name", 8)), "model.fsac");

        var run = CliRunner.Run("predict", "--model", model, "--format", "json", SharedData.Path("clip-reference", "images"));

        Assert.AreEqual(ExitCodes.BadInput, run.ExitCode, run.ToString());
        Assert.AreEqual("", run.Output, "stdout carries JSON or nothing");
        Assert.HasCount(1, run.ErrorLines, run.ToString());
        Assert.AreEqual($"error: Model not found: '{model}'. (hint: check the path)", run.ErrorLines[0]);
    }

    [TestMethod]
    public void FitIntoAFolderThatCannotBeMadeFailsBeforeFittingAndNamesTheModelFile()
    {
        using var dir = new TempDir();
        var image = TinyClip.Images(dir.File("images"), 1)[0];
        File.WriteAllText(dir.File("a-file"), "x");
        var target = Path.Combine(dir.File("a-file"), "model.fsac");

        var run = CliRunner.Run("fit", "--shots", "1", "--out", target, image);

        Assert.AreEqual(ExitCodes.BadInput, run.ExitCode, run.ToString());
        Assert.HasCount(1, run.ErrorLines, run.ToString());
        StringAssert.StartsWith(run.ErrorLines[0], $"error: Cannot write '{target}': ");
        Assert.DoesNotContain("loading backbone", run.Output, "it fails before loading the backbone");
    }

    [TestMethod]
    public void SynthWritesEveryPngWholeAndLeavesNoTempFile()
    {
        using var dir = new TempDir();
        var image = TinyClip.Images(dir.File("images"), 1)[0];
        var output = dir.File("synth");

        var run = CliRunner.Run("synth", "--method", "gaussian", "--input", image, "--count", "2", "--out", output);

        Assert.AreEqual(ExitCodes.Success, run.ExitCode, run.ToString());
        CollectionAssert.AreEquivalent(new[] { "anomaly-000.png", "anomaly-001.png", "mask-000.png", "mask-001.png", "grid.png" },
            Directory.GetFiles(output).Select(Path.GetFileName).ToArray());
        foreach (var png in Directory.GetFiles(output)) Assert.IsNotNull(Image.Identify(png), png);
    }
}
