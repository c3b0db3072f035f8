using Fsac.MLNet.Evaluation;
using Fsac.MLNet.Evaluation.Datasets;
using Fsac.MLNet.Fitting;
using Fsac.MLNet.Head;
using System.Text.Json;

namespace Fsac.MLNet.Tests.Evaluation;

[TestClass]
public class EvaluationSummaryTests
{
    private static EvaluationRecord R(string category, string method, int seed, double auroc, double fit = 1)
        => new(category, method, 1, seed, auroc, auroc - 0.1, auroc - 0.2, fit, 10, 5, 5);

    private static readonly EvaluationRecord[] Records =
    [
        R("a", "fsac", 0, 0.8), R("b", "fsac", 0, 0.6), R("a", "fsac", 1, 0.9), R("b", "fsac", 1, 0.9),
        R("a", "knn", 0, 0.7, fit: 0.5), R("b", "knn", 0, 0.7, fit: 0.5), R("a", "knn", 1, 0.7, fit: 0.5), R("b", "knn", 1, 0.9, fit: 0.5),
    ];

    /// <summary>The records with pixel metrics for fsac on category a only (b has no masks; knn gives no maps).</summary>
    private static readonly EvaluationRecord[] PixelRecords =
    [
        Records[0] with { PixelAuroc = 0.9, Aupro = 0.6 }, Records[1], Records[2] with { PixelAuroc = 0.7, Aupro = 0.4 }, .. Records[3..],
    ];

    private static EvaluationReport Report(bool complete = true, EvaluationRecord[]? records = null) => new(
        new EvaluationSettings("tiny", 8, false, "/data", DatasetLayout.Folder, [1], [0, 1], ["fsac", "knn"], new FsacOptions(), 10, 1),
        [new CategorySummary("a", 5, 10, 5, 2.5), new CategorySummary("b", 5, 10, 5, 2.5)], records ?? Records,
        [new RunDiagnostics("a", 1, 0, ["x.png"], [true], new Dictionary<string, float[]> { ["fsac"] = [0.5f] },
            new TrainingCurve("fsac", [new EpochCheckpoint(0, 0.5, [0.5f]), new EpochCheckpoint(10, 0.75, [0.7f])],
                new TrainingHistory([new StageHistory(TrainingStage.ImageSide, [1.2f, float.NaN])])), [])],
        ["a note"], complete);

    [TestMethod]
    public void MeansAreOverSeedsAndTheCategoryMeanIsTakenPerSeed()
    {
        var rows = EvaluationSummary.Summarize(Records);

        var fsacA = rows.Single(r => r.Method == "fsac" && r.Category == "a");
        Assert.AreEqual(0.85, fsacA.Auroc.Mean, 1e-12);
        Assert.AreEqual(Math.Sqrt(0.005), fsacA.Auroc.Std, 1e-12, "sample std of 0.8 and 0.9");
        Assert.AreEqual(2, fsacA.Auroc.Count);
        var fsacMean = rows.Single(r => r.Method == "fsac" && r.Category is null);
        Assert.AreEqual(0.8, fsacMean.Auroc.Mean, 1e-12, "seed means 0.7 and 0.9");
        Assert.AreEqual(Math.Sqrt(0.02), fsacMean.Auroc.Std, 1e-12);
        Assert.AreEqual(0.6, fsacMean.F1Max.Mean, 1e-12);
        Assert.AreEqual(0.5, rows.Single(r => r.Method == "knn" && r.Category is null).FitSeconds.Mean, 1e-12);
        Assert.AreEqual(6, rows.Count, "2 methods × (2 categories + mean)");
        Assert.AreEqual(new MeanStd(3, 0, 1), MeanStd.Of([3.0]));
        Assert.IsTrue(rows.All(r => r.PixelAuroc is null && r.Aupro is null), "no record has pixel metrics");
    }

    [TestMethod]
    public void PixelMetricsAreAveragedWhereTheyExist()
    {
        var rows = EvaluationSummary.Summarize(PixelRecords);

        var fsacA = rows.Single(r => r.Method == "fsac" && r.Category == "a");
        Assert.AreEqual(0.8, fsacA.PixelAuroc!.Value.Mean, 1e-12);
        Assert.AreEqual(Math.Sqrt(0.02), fsacA.PixelAuroc.Value.Std, 1e-12);
        Assert.AreEqual(0.5, fsacA.Aupro!.Value.Mean, 1e-12);
        Assert.AreEqual(2, fsacA.Aupro.Value.Count);
        Assert.IsNull(rows.Single(r => r.Method == "fsac" && r.Category == "b").PixelAuroc);
        var fsacMean = rows.Single(r => r.Method == "fsac" && r.Category is null);
        Assert.AreEqual(0.8, fsacMean.PixelAuroc!.Value.Mean, 1e-12, "the mean over categories takes the masked one only");
        Assert.AreEqual(0.5, fsacMean.Aupro!.Value.Mean, 1e-12);
        Assert.AreEqual(0.8, fsacMean.Auroc.Mean, 1e-12, "image metrics are unchanged");
        Assert.IsTrue(rows.Where(r => r.Method == "knn").All(r => r.PixelAuroc is null && r.Aupro is null));

        var seedOneOnly = EvaluationSummary.Summarize([Records[0], Records[2] with { Aupro = 0.3 }]).Single(r => r.Category == "a");
        Assert.IsNull(seedOneOnly.PixelAuroc);
        Assert.AreEqual(new MeanStd(0.3, 0, 1), seedOneOnly.Aupro, "only the seeds that have a value count");
    }

    [TestMethod]
    public void MarkdownShowsPixelMetricsWhereTheyExist()
    {
        var md = EvaluationMarkdown.Render(Report(records: PixelRecords));

        StringAssert.Contains(md, "| Setup | Method | I-AUROC | I-AUPR | F1-max | P-AUROC | AUPRO |");
        StringAssert.Contains(md, "| 1-shot | fsac | **80.0 ± 14.1** | **70.0 ± 14.1** | **60.0 ± 14.1** | **80.0 ± 14.1** | **50.0 ± 14.1** |");
        StringAssert.Contains(md, "| 1-shot | knn | 75.0 ± 7.1 | 65.0 ± 7.1 | 55.0 ± 7.1 | – | – |");
        StringAssert.Contains(md, "## P-AUROC per category");
        StringAssert.Contains(md, "## AUPRO per category");
        StringAssert.Contains(md, "| 1-shot | fsac | **50.0 ± 14.1** | – | **50.0 ± 14.1** |");
        StringAssert.Contains(md, "1 of 2 categories have ground-truth masks");

        var plain = EvaluationMarkdown.Render(Report());
        Assert.IsFalse(plain.Contains("P-AUROC") || plain.Contains("AUPRO"), "no pixel columns without masks");
    }

    [TestMethod]
    public void MarkdownHasTheTable1LayoutAndEveryCategory()
    {
        var md = EvaluationMarkdown.Render(Report());

        StringAssert.Contains(md, "| Setup | Method | I-AUROC | I-AUPR | F1-max |");
        StringAssert.Contains(md, "| 1-shot | fsac | **80.0 ± 14.1** | **70.0 ± 14.1** | **60.0 ± 14.1** |");
        StringAssert.Contains(md, "| 1-shot | knn | 75.0 ± 7.1 | 65.0 ± 7.1 | 55.0 ± 7.1 |");
        StringAssert.Contains(md, "## I-AUROC per category");
        StringAssert.Contains(md, "| Setup | Method | a | b | mean |");
        StringAssert.Contains(md, "| 1-shot | knn | 70.0 ± 0.0 | **80.0 ± 14.1** | 75.0 ± 7.1 |");
        StringAssert.Contains(md, "| 1-shot | knn | 0.50 | 10.0 |");
        StringAssert.Contains(md, "- a note");
        Assert.IsFalse(md.Contains("Stopped early"));
        StringAssert.Contains(EvaluationMarkdown.Render(Report(complete: false)), "Stopped early: 8 run(s) finished");
    }

    [TestMethod]
    public void JsonHoldsSettingsRecordsAndTrainingCurves()
    {
        using var stream = new MemoryStream();
        EvaluationJson.Write(Report(), stream);

        using var json = JsonDocument.Parse(stream.ToArray());
        var root = json.RootElement;
        Assert.AreEqual("tiny", root.GetProperty("settings").GetProperty("backbone").GetString());
        Assert.AreEqual("folder", root.GetProperty("settings").GetProperty("layout").GetString());
        Assert.AreEqual("twoStage", root.GetProperty("settings").GetProperty("fsac").GetProperty("trainingMode").GetString());
        var records = root.GetProperty("records").EnumerateArray().ToList();
        Assert.AreEqual(Records.Length, records.Count);
        var first = records[0];
        Assert.AreEqual("a", first.GetProperty("category").GetString());
        Assert.AreEqual(0.8, first.GetProperty("auroc").GetDouble(), 1e-12);
        Assert.AreEqual(0.7, first.GetProperty("aupr").GetDouble(), 1e-12);
        Assert.AreEqual(0.6, first.GetProperty("f1max").GetDouble(), 1e-12);
        Assert.AreEqual(1.0, first.GetProperty("fitSeconds").GetDouble(), 1e-12);
        Assert.AreEqual(10.0, first.GetProperty("scoreMsPerImage").GetDouble(), 1e-12);
        var training = root.GetProperty("training")[0];
        Assert.AreEqual(0.75, training.GetProperty("checkpoints")[1].GetProperty("auroc").GetDouble(), 1e-12);
        Assert.AreEqual("NaN", training.GetProperty("losses")[0].GetProperty("losses")[1].GetString());
        Assert.IsTrue(root.GetProperty("complete").GetBoolean());
        Assert.IsFalse(first.TryGetProperty("pixel_auroc", out _), "left out without masks");
        Assert.IsFalse(first.TryGetProperty("aupro", out _));
    }

    [TestMethod]
    public void JsonHoldsPixelMetricsWhereTheyExist()
    {
        using var stream = new MemoryStream();
        EvaluationJson.Write(Report(records: PixelRecords), stream);

        using var json = JsonDocument.Parse(stream.ToArray());
        var records = json.RootElement.GetProperty("records");
        Assert.AreEqual(0.9, records[0].GetProperty("pixel_auroc").GetDouble(), 1e-12);
        Assert.AreEqual(0.6, records[0].GetProperty("aupro").GetDouble(), 1e-12);
        Assert.AreEqual(0.4, records[2].GetProperty("aupro").GetDouble(), 1e-12);
        Assert.IsFalse(records[1].TryGetProperty("pixel_auroc", out _));
        Assert.IsFalse(records[1].TryGetProperty("pixelAuroc", out _));
    }
}
