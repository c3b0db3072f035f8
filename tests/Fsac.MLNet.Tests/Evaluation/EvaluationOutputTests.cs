using Fsac.MLNet.Evaluation;
using Fsac.MLNet.Evaluation.Datasets;
using Fsac.MLNet.Tests.TestDoubles;
using System.Text.Json;
using Fsac.Cli.Reporting;
using SixLabors.ImageSharp;

namespace Fsac.MLNet.Tests.Evaluation;

[TestClass]
public class EvaluationOutputTests
{
    [TestMethod]
    public void TheCliWritesResultsTableFiguresAndHeatmaps()
    {
        using var data = new EvaluationFixture();
        using var encoder = new TinyEncoder();
        var report = EvaluationFixture.Runner(encoder).Run(data.Root, DatasetLayout.Folder,
            EvaluationFixture.Options(EvaluationMethod.Fsac, EvaluationMethod.Knn) with { Seeds = [0] });
        var output = Path.Combine(data.Root, "out");

        var files = EvaluationOutput.Write(report, output, peakRssMegabytes: 123);

        Assert.AreEqual(Path.Combine(output, "results.json"), files[0]);
        Assert.AreEqual(Path.Combine(output, "results.md"), files[1]);
        using (var json = JsonDocument.Parse(File.ReadAllText(files[0])))
            Assert.AreEqual(report.Records.Count, json.RootElement.GetProperty("records").GetArrayLength());
        var md = File.ReadAllText(files[1]);
        StringAssert.Contains(md, "Peak resident memory of the run: 123 MB.");
        StringAssert.Contains(md, "[scores.png](categories/nested/beta/scores.png)");
        foreach (var category in EvaluationFixture.CategoryNames)
        {
            var folder = EvaluationOutput.CategoryFolder(output, category);
            foreach (var name in new[] { "scores.png", "epochs.png", "heatmaps.png", "heatmaps/anomaly-1.png", "heatmaps/anomaly-2.png", "heatmaps/normal-1.png" })
            {
                var path = Path.Combine(folder, name);
                CollectionAssert.Contains(files.ToArray(), path);
                var info = Image.Identify(path);
                Assert.IsNotNull(info, path);
                Assert.IsTrue(info.Width > 30 && info.Height > 30, path);
            }
            var overlay = Image.Identify(Path.Combine(folder, "heatmaps", "normal-1.png"));
            Assert.AreEqual(40, overlay.Width, "an overlay has its image's size");
        }
        Assert.AreEqual(Path.Combine(output, "categories", "_", "x"), EvaluationOutput.CategoryFolder(output, "../x"));
    }

    [TestMethod]
    public void TicksAreRoundNumbersCoveringTheRange()
    {
        CollectionAssert.AreEqual(new[] { "0.0", "0.2", "0.4", "0.6", "0.8", "1.0" }, ChartPanel.Ticks(0, 1).Select(t => t.Label).ToArray());
        CollectionAssert.AreEqual(new[] { "0", "50", "100", "150", "200" }, ChartPanel.Ticks(0, 200).Select(t => t.Label).ToArray());
        CollectionAssert.AreEqual(new[] { 2.0, 1.0, 2.0 }, ChartPanel.Histogram([0f, 0.1f, 0.5f, 0.9f, 1f], 0, 1, 3));
    }
}
