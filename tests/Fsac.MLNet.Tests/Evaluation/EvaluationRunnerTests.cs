using Fsac.MLNet.Evaluation;
using Fsac.MLNet.Evaluation.Baselines;
using Fsac.MLNet.Evaluation.Datasets;
using Fsac.MLNet.Head;
using Fsac.MLNet.Imaging;
using Fsac.MLNet.Metrics;
using Fsac.MLNet.Tests.TestDoubles;
using SixLabors.ImageSharp;

namespace Fsac.MLNet.Tests.Evaluation;

[TestClass]
public class EvaluationRunnerTests
{
    [TestMethod]
    public void WritesOneRecordPerCategoryMethodShotsAndSeedOnTestSetsWithoutTheShots()
    {
        using var data = new EvaluationFixture(normals: 6, anomalies: 4);
        using var encoder = new TinyEncoder();
        var options = EvaluationFixture.Options();

        var report = EvaluationFixture.Runner(encoder).Run(data.Root, DatasetLayout.Folder, options);

        Assert.IsTrue(report.Complete);
        var expected = from c in EvaluationFixture.CategoryNames
                       from k in options.Shots
                       from s in options.Seeds
                       from m in new[] { "fsac", "fsac-onestage", "knn", "zeroshot" }
                       select (c, m, k, s);
        CollectionAssert.AreEquivalent(expected.ToArray(), report.Records.Select(r => (r.Category, r.Method, r.Shots, r.Seed)).ToArray());
        foreach (var r in report.Records)
        {
            Assert.AreEqual(6 - r.Shots, r.TestNormals, $"{r}: the shots must leave the test set");
            Assert.AreEqual(4, r.TestAnomalies, r.ToString());
            Assert.IsTrue(r.Auroc is >= 0 and <= 1 && r.Aupr is > 0 and <= 1 && r.F1Max is > 0 and <= 1, r.ToString());
            Assert.IsTrue(r.FitSeconds >= 0 && r.ScoreMsPerImage > 0, r.ToString());
        }
        Assert.AreEqual(2, report.Categories.Count);
        Assert.AreEqual(Path.GetFullPath(data.Root), report.Settings.DataRoot);
        CollectionAssert.AreEqual(new[] { "fsac", "fsac-onestage", "knn", "zeroshot" }, report.Settings.Methods.ToArray());
    }

    [TestMethod]
    public void TheSameSeedsGiveTheSameRecords()
    {
        using var data = new EvaluationFixture();
        using var encoder = new TinyEncoder();
        var options = EvaluationFixture.Options(EvaluationMethod.Fsac, EvaluationMethod.Knn) with { HeatmapsPerClass = 0 };

        var a = EvaluationFixture.Runner(encoder).Run(data.Root, DatasetLayout.Folder, options);
        var b = EvaluationFixture.Runner(encoder).Run(data.Root, DatasetLayout.Folder, options);

        Assert.AreEqual(a.Records.Count, b.Records.Count);
        for (int i = 0; i < a.Records.Count; i++)
            Assert.AreEqual(a.Records[i] with { FitSeconds = 0, ScoreMsPerImage = 0 }, b.Records[i] with { FitSeconds = 0, ScoreMsPerImage = 0 });
        foreach (var (x, y) in a.Diagnostics.Zip(b.Diagnostics))
            CollectionAssert.AreEqual(x.Scores["fsac"], y.Scores["fsac"]);
    }

    [TestMethod]
    public void RecordsAreTheMetricsOfScoresOnTheHeldOutImages()
    {
        using var data = new EvaluationFixture();
        using var encoder = new TinyEncoder();
        var options = EvaluationFixture.Options(EvaluationMethod.Fsac, EvaluationMethod.Knn);

        var report = EvaluationFixture.Runner(encoder).Run(data.Root, DatasetLayout.Folder, options);

        var categories = AnomalyDatasets.Discover(data.Root, DatasetLayout.Folder);
        Assert.AreEqual(2, report.Diagnostics.Count);
        foreach (var run in report.Diagnostics)
        {
            Assert.AreEqual(2, run.Shots, "the diagnostic run takes the largest k");
            Assert.AreEqual(0, run.Seed, "and the first seed");
            var split = FewShotSplit.Draw(categories.Single(c => c.Name == run.Category), run.Shots, run.Seed);
            CollectionAssert.AreEqual(split.Test.Select(t => t.Path).ToArray(), run.Paths.ToArray());
            Assert.IsFalse(run.Paths.Intersect(split.Shots).Any(), "shots are never tested");
            foreach (var (method, scores) in run.Scores)
            {
                var record = report.Records.Single(r => r.Category == run.Category && r.Method == method && r.Shots == run.Shots && r.Seed == run.Seed);
                Assert.AreEqual(ImageMetrics.Auroc(scores, run.Labels), record.Auroc, 1e-12, method);
                Assert.AreEqual(ImageMetrics.AveragePrecision(scores, run.Labels), record.Aupr, 1e-12, method);
                Assert.AreEqual(ImageMetrics.F1Max(scores, run.Labels), record.F1Max, 1e-12, method);
            }

            // The reused features give the scores a model fitted and run on the images themselves gives.
            var shots = split.Shots.Select(ImageLoader.Default.Load).ToList();
            var test = split.Test.Select(t => ImageLoader.Default.Load(t.Path)).ToList();
            using var knn = KnnBaseline.Fit(encoder, shots);
            var direct = knn.Score(test);
            for (int i = 0; i < direct.Length; i++) Assert.AreEqual(direct[i], run.Scores["knn"][i], 1e-5f, $"{run.Category} image {i}");
            shots.Concat(test).ToList().ForEach(im => im.Dispose());
        }
    }

    [TestMethod]
    public void TheDiagnosticRunKeepsCheckpointsLossesAndWorstCases()
    {
        using var data = new EvaluationFixture();
        using var encoder = new TinyEncoder();
        var options = EvaluationFixture.Options(EvaluationMethod.Knn, EvaluationMethod.FsacOneStage, EvaluationMethod.Fsac);

        var report = EvaluationFixture.Runner(encoder).Run(data.Root, DatasetLayout.Folder, options);

        foreach (var run in report.Diagnostics)
        {
            var curve = run.Training!;
            Assert.AreEqual("fsac-onestage", curve.Method, "the first CLIP-FSAC variant of the list is traced");
            CollectionAssert.AreEqual(new[] { 0, 2, 3 }, curve.Checkpoints.Select(c => c.Epoch).ToArray(), "every 2 epochs and the last one");
            Assert.AreEqual(3, curve.History.Stages.Single().Losses.Count);
            var final = curve.Checkpoints[^1];
            CollectionAssert.AreEqual(run.Scores["fsac-onestage"], final.Scores.ToArray(), "observing the training must not change the model");
            foreach (var c in curve.Checkpoints) Assert.AreEqual(ImageMetrics.Auroc([.. c.Scores], run.Labels), c.Auroc, 1e-12);

            var scores = run.Scores["fsac-onestage"];
            var anomalies = run.WorstCases.Where(w => w.IsAnomaly).ToList();
            var normals = run.WorstCases.Where(w => !w.IsAnomaly).ToList();
            Assert.AreEqual(2, anomalies.Count);
            Assert.AreEqual(2, normals.Count);
            var lowestAnomaly = Enumerable.Range(0, scores.Length).Where(i => run.Labels[i]).Min(i => scores[i]);
            var highestNormal = Enumerable.Range(0, scores.Length).Where(i => !run.Labels[i]).Max(i => scores[i]);
            Assert.AreEqual(lowestAnomaly, anomalies.Single(w => w.Rank == 1).Score);
            Assert.AreEqual(highestNormal, normals.Single(w => w.Rank == 1).Score);
            Assert.IsTrue(anomalies[0].Score <= anomalies[1].Score && normals[0].Score >= normals[1].Score);
            foreach (var w in run.WorstCases)
            {
                Assert.AreEqual(w.Width * w.Height, w.Saliency.Length);
                Assert.IsTrue(w.Saliency.All(v => v >= 0) && w.Saliency.Any(v => v > 0), w.Path);
            }
        }
    }

    [TestMethod]
    public void TheMVTecLayoutTestsOnTheTestFolderOnly()
    {
        var root = Directory.CreateTempSubdirectory("fsac-eval-mvtec").FullName;
        try
        {
            var rng = new Random(5);
            void Write(string folder, int count, bool defective)
            {
                Directory.CreateDirectory(Path.Combine(root, "tile", folder));
                for (int i = 0; i < count; i++)
                {
                    using var image = defective ? SyntheticImages.Defective(rng) : SyntheticImages.Normal(rng);
                    image.SaveAsPng(Path.Combine(root, "tile", folder, $"{i:D3}.png"));
                }
            }
            Write("train/good", 4, false);
            Write("test/good", 3, false);
            Write("test/crack", 2, true);
            Write("test/hole", 2, true);
            using var encoder = new TinyEncoder();

            var report = EvaluationFixture.Runner(encoder).Run(root, DatasetLayout.MVTec,
                EvaluationFixture.Options(EvaluationMethod.Knn) with { Shots = [2, 4] });

            Assert.AreEqual(4, report.Records.Count);
            Assert.IsTrue(report.Records.All(r => r.Category == "tile" && r.TestNormals == 3 && r.TestAnomalies == 4), "the training pool is not tested");
            Assert.IsFalse(report.Diagnostics.Single().Paths.Any(p => p.Contains("train")));
        }
        finally { Directory.Delete(root, true); }
    }

    [TestMethod]
    public void ZeroShotIsSkippedWithANoteWithoutATextTower()
    {
        using var data = new EvaluationFixture();
        using var encoder = new ImageOnlyEncoder(new TinyEncoder());
        var notes = new ListProgress<EvaluationProgress>();

        var report = EvaluationFixture.Runner(encoder).Run(data.Root, DatasetLayout.Folder,
            EvaluationFixture.Options(EvaluationMethod.Knn, EvaluationMethod.ZeroShot), notes);

        Assert.IsTrue(report.Records.All(r => r.Method == "knn"));
        Assert.IsTrue(report.Notes.Any(n => n.StartsWith("zeroshot skipped", StringComparison.Ordinal)));
        Assert.IsTrue(notes.Reports.Any(p => p.Phase == EvaluationPhase.Note && p.Detail!.Contains("no text tower")));
        CollectionAssert.AreEqual(new[] { "knn" }, report.Settings.Methods.ToArray());
    }

    [TestMethod]
    public void ReportsProgressOfImagesEpochsAndRuns()
    {
        using var data = new EvaluationFixture();
        using var encoder = new TinyEncoder();
        var progress = new ListProgress<EvaluationProgress>();
        var options = EvaluationFixture.Options(EvaluationMethod.Fsac) with { Shots = [1], Seeds = [0] };

        var report = EvaluationFixture.Runner(encoder).Run(data.Root, DatasetLayout.Folder, options, progress);

        var encoded = progress.Reports.Where(p => p.Phase == EvaluationPhase.Encoding && p.Done == p.Total).ToList();
        CollectionAssert.AreEqual(new[] { "alpha", "nested/beta" }, encoded.Select(p => p.Category).ToArray());
        Assert.IsTrue(encoded.All(p => p.Total == 10 && p.CategoryCount == 2));
        var epochs = progress.Reports.Where(p => p.Phase == EvaluationPhase.Training && p.Category == "alpha").Select(p => p.Done).ToArray();
        CollectionAssert.AreEqual(new[] { 1, 2, 3, 4, 5, 6 }, epochs, "epochs are counted over both stages");
        CollectionAssert.AreEqual(report.Records.ToArray(), progress.Reports.Where(p => p.Phase == EvaluationPhase.RunCompleted).Select(p => p.Record).ToArray());
    }

    [TestMethod]
    public void CancellingReturnsTheRunsFinishedSoFar()
    {
        using var data = new EvaluationFixture();
        using var encoder = new TinyEncoder();
        using var cts = new CancellationTokenSource();
        var progress = new CallbackProgress(p => { if (p.Phase == EvaluationPhase.RunCompleted) cts.Cancel(); });

        var e = Assert.ThrowsExactly<EvaluationCancelledException>(() => EvaluationFixture.Runner(encoder)
            .Run(data.Root, DatasetLayout.Folder, EvaluationFixture.Options(EvaluationMethod.Knn, EvaluationMethod.Fsac), progress, cts.Token));

        Assert.IsFalse(e.PartialReport.Complete);
        Assert.AreEqual(1, e.PartialReport.Records.Count);
        Assert.AreEqual("knn", e.PartialReport.Records[0].Method);
    }

    [TestMethod]
    public void BadInputFailsWithClearTypedErrors()
    {
        using var data = new EvaluationFixture(normals: 3, anomalies: 2);
        using var encoder = new TinyEncoder();
        var runner = EvaluationFixture.Runner(encoder);
        var options = EvaluationFixture.Options(EvaluationMethod.Knn);

        var missing = Assert.ThrowsExactly<DirectoryNotFoundException>(() => runner.Run(Path.Combine(data.Root, "nope"), DatasetLayout.Folder, options));
        StringAssert.Contains(missing.Message, "nope");
        var noCategory = Assert.ThrowsExactly<InvalidDataException>(() => runner.Run(data.Root, DatasetLayout.MVTec, options));
        StringAssert.Contains(noCategory.Message, "train/good");
        Assert.ThrowsExactly<EvaluationSetupException>(() => runner.Run([], options));

        var tooMany = Assert.ThrowsExactly<EvaluationSetupException>(() => runner.Run(data.Root, DatasetLayout.Folder, options with { Shots = [1, 4] }));
        StringAssert.Contains(tooMany.Message, "'alpha' has 3 normal image(s), fewer than the 4 shots");
        StringAssert.Contains(tooMany.Hint, "fewer shots");
        var noNormalLeft = Assert.ThrowsExactly<EvaluationSetupException>(() => runner.Run(data.Root, DatasetLayout.Folder, options with { Shots = [3] }));
        StringAssert.Contains(noNormalLeft.Message, "no normal test image left");

        var unknown = Assert.ThrowsExactly<ArgumentException>(() => EvaluationMethods.ParseList("fsac,nosuch"));
        StringAssert.Contains(unknown.Message, "Unknown method 'nosuch'; valid methods: default, patchcore, fsac, fsac-onestage, fsac-joint, fsac-noca, fsac-local, fsac+patchcore, winclip+, knn, zeroshot");
        Assert.ThrowsExactly<ArgumentException>(() => runner.Run(data.Root, DatasetLayout.Folder, options with { Shots = [] }));
        Assert.ThrowsExactly<ArgumentException>(() => runner.Run(data.Root, DatasetLayout.Folder, options with { Seeds = [1, 1] }));
    }

    [TestMethod]
    public void MethodNamesRoundTripAndSelectTheAblations()
    {
        foreach (var name in EvaluationMethods.Names)
            Assert.AreEqual(name, EvaluationMethods.NameOf(EvaluationMethods.Parse(name.ToUpperInvariant())));
        CollectionAssert.AreEqual(new[] { EvaluationMethod.Knn, EvaluationMethod.Fsac }, EvaluationMethods.ParseList(" knn , fsac,knn ").ToArray());
        var baseOptions = EvaluationFixture.Options().Fsac;
        Assert.AreEqual(FsacTrainingMode.Joint, EvaluationMethods.OptionsFor(EvaluationMethod.FsacJoint, baseOptions).TrainingMode);
        var noCa = EvaluationMethods.OptionsFor(EvaluationMethod.FsacNoCrossAttention, baseOptions);
        Assert.IsFalse(noCa.UseCrossAttention);
        Assert.AreEqual(FsacTrainingMode.TwoStage, noCa.TrainingMode);
        Assert.ThrowsExactly<ArgumentException>(() => EvaluationMethods.OptionsFor(EvaluationMethod.Knn, baseOptions));
    }

    private sealed class CallbackProgress(Action<EvaluationProgress> callback) : IProgress<EvaluationProgress>
    {
        public void Report(EvaluationProgress value) => callback(value);
    }
}
