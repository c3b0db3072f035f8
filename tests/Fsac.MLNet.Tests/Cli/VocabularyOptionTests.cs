using Fsac.MLNet.Classifiers;
using Fsac.MLNet.Encoders;
using Fsac.MLNet.Tests.Checkpoints;
using Fsac.MLNet.Tests.Evaluation;
using System.Text.Json;
using Fsac.Cli;

namespace Fsac.MLNet.Tests.Cli;

/// <summary>
/// <c>--vocab &lt;FILE&gt;</c> wherever a CLIP model folder is read (fit, predict, update, embed, eval), on the tiny CLIP
/// whose folder has no vocabulary. One PatchCore fit on it is shared by the class.
/// </summary>
[TestClass]
public class VocabularyOptionTests
{
    private static TempDir folder = null!;
    private static string[] images = null!;
    private static string model = null!;
    private static CliRun fit = null!;

    [ClassInitialize]
    public static void FitOnce(TestContext _)
    {
        folder = new TempDir();
        images = TinyClip.Images(folder.File("images"), 3);
        model = folder.File("clip.fsac");
        fit = CliRunner.Run("fit", "--method", "patchcore", "--backbone", TinyClip.Folder, "--vocab", TinyClip.Vocabulary,
            "--shots", "2", "--out", model, images[0], images[1]);
    }

    [ClassCleanup]
    public static void Cleanup() => folder?.Dispose();

    private static FewShotAnomalyClassifier LoadWithVocabulary(string path)
        => FewShotAnomalyClassifier.Load(path, b => ClipEncoder.Load(b.Spec, b.Precision, TinyClip.Vocabulary));

    [TestMethod]
    public void FitOnAClipFolderWithoutAVocabularyTakesTheFileAndRecordsTheFolder()
    {
        Assert.AreEqual(ExitCodes.Success, fit.ExitCode, fit.ToString());
        Assert.AreEqual("", fit.Error);
        using var loaded = LoadWithVocabulary(model);
        Assert.AreEqual(Path.GetFullPath(TinyClip.Folder), loaded.Backbone?.Spec);
        StringAssert.StartsWith(loaded.BackboneName, "clip:tiny-vit:");
    }

    [TestMethod]
    public void PredictAndUpdateTakeTheVocabularyForTheModelsClipFolder()
    {
        Assert.AreEqual(ExitCodes.Success, fit.ExitCode, fit.ToString());
        var predict = CliRunner.Run("predict", "--model", model, "--vocab", TinyClip.Vocabulary, "--format", "json", images[2]);
        Assert.AreEqual(ExitCodes.Success, predict.ExitCode, predict.ToString());
        using (var json = JsonDocument.Parse(predict.Output))
            Assert.AreEqual(1, json.RootElement.GetProperty("predictions").GetArrayLength());

        var grown = folder.File("grown.fsac");
        var update = CliRunner.Run("update", "--model", model, "--vocab", TinyClip.Vocabulary, "--normal", images[2], "--out", grown);
        Assert.AreEqual(ExitCodes.Success, update.ExitCode, update.ToString());
        using var loaded = LoadWithVocabulary(grown);
        Assert.AreEqual(3, ((PatchCoreClassifier)loaded.Inner).Shots);
        Assert.AreEqual(Path.GetFullPath(TinyClip.Folder), loaded.Backbone?.Spec, "the grown model still records its backbone");
    }

    [TestMethod]
    public void WithoutVocabTheMissingVocabularyIsNamedWithTheOptionToPassIt()
    {
        Assert.AreEqual(ExitCodes.Success, fit.ExitCode, fit.ToString());
        var saved = Environment.GetEnvironmentVariable("FSAC_CACHE");
        Environment.SetEnvironmentVariable("FSAC_CACHE", folder.File("empty-cache"));
        try
        {
            var run = CliRunner.Run("predict", "--model", model, images[2]);

            Assert.AreEqual(ExitCodes.BadInput, run.ExitCode, run.ToString());
            Assert.HasCount(1, run.ErrorLines, run.ToString());
            StringAssert.Contains(run.ErrorLines[0], "bpe_simple_vocab_16e6.txt.gz");
            StringAssert.Contains(run.ErrorLines[0], "--vocab");
        }
        finally
        {
            Environment.SetEnvironmentVariable("FSAC_CACHE", saved);
        }
    }

    [TestMethod]
    public void AMissingVocabularyFileIsExit2NamingItInEveryCommandAndNothingIsWritten()
    {
        Assert.AreEqual(ExitCodes.Success, fit.ExitCode, fit.ToString());
        using var data = new EvaluationFixture(normals: 2, anomalies: 1);
        var missing = folder.File("no-such-vocab.txt.gz");
        var output = folder.File("never");
        string[][] commands =
        [
            ["fit", "--method", "patchcore", "--backbone", TinyClip.Folder, "--shots", "1", "--out", output, images[0]],
            ["predict", "--model", model, "--heatmaps", output, images[2]],
            ["update", "--model", model, "--normal", images[2], "--out", output],
            ["embed", "--model", TinyClip.Folder, "--texts", "a photo", "--out", output],
            ["eval", "--data", data.Root, "--layout", "folder", "--backbone", TinyClip.Folder, "--methods", "patchcore", "--out", output],
        ];
        foreach (var command in commands)
        {
            var run = CliRunner.Run([.. command, "--vocab", missing]);

            Assert.AreEqual(ExitCodes.BadInput, run.ExitCode, run.ToString());
            Assert.HasCount(1, run.ErrorLines, run.ToString());
            Assert.AreEqual($"error: --vocab: no vocabulary file at '{missing}' (CLIP's bpe_simple_vocab_16e6.txt.gz). (hint: check the path)", run.ErrorLines[0]);
            Assert.IsFalse(File.Exists(output) || Directory.Exists(output), $"{command[0]} wrote '{output}'");
        }
    }

    [TestMethod]
    public void AVocabularyForABackboneThatIsNotAClipFolderIsRefused()
    {
        var run = CliRunner.Run("fit", "--vocab", TinyClip.Vocabulary, "--shots", "1", "--out", folder.File("never.fsac"), images[0]);

        Assert.AreEqual(ExitCodes.BadInput, run.ExitCode, run.ToString());
        Assert.HasCount(1, run.ErrorLines, run.ToString());
        StringAssert.Contains(run.ErrorLines[0], "--vocab applies to CLIP model folders only, not to the backbone 'resnet18'");
        Assert.IsFalse(File.Exists(folder.File("never.fsac")));
    }

    [TestMethod]
    public void EvalOnTheClipFolderWithVocabWritesItsResultsWholeAndNoTempFile()
    {
        using var data = new EvaluationFixture(normals: 3, anomalies: 2);
        var output = folder.File("eval");

        var run = CliRunner.Run("eval", "--data", data.Root, "--layout", "folder", "--backbone", TinyClip.Folder, "--vocab", TinyClip.Vocabulary,
            "--methods", "patchcore", "--shots", "1", "--seeds", "1", "--heatmaps", "1", "--out", output);

        Assert.AreEqual(ExitCodes.Success, run.ExitCode, run.ToString());
        using (var json = JsonDocument.Parse(File.ReadAllText(Path.Combine(output, "results.json"))))
            Assert.AreEqual(EvaluationFixture.CategoryNames.Length, json.RootElement.GetProperty("records").GetArrayLength());
        StringAssert.Contains(File.ReadAllText(Path.Combine(output, "results.md")), "patchcore");
        Assert.IsNotEmpty(Directory.GetFiles(output, "*.png", SearchOption.AllDirectories), "the figures are written");
        Assert.IsEmpty(Directory.GetFiles(output, "*.tmp", SearchOption.AllDirectories));
    }
}
