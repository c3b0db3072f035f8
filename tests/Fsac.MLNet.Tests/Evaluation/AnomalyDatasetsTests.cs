using Fsac.MLNet.Evaluation.Datasets;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.PixelFormats;

namespace Fsac.MLNet.Tests.Evaluation;

[TestClass]
public class AnomalyDatasetsTests
{
    [TestMethod]
    public void FindsEveryCategoryOfTheSharedData()
    {
        var categories = AnomalyDatasets.Discover(SharedData.Path("data"), DatasetLayout.Folder);
        CollectionAssert.AreEqual(
            new[] { "cookies", "deeppcb/group12100", "deeppcb/group12300", "deeppcb/group44000", "elpv/mono", "elpv/poly" },
            categories.Select(c => c.Name).ToArray());
        var cookies = categories[0];
        Assert.AreEqual(Directory.GetFiles(SharedData.Path("data", "cookies", "normal")).Length, cookies.NormalPool.Count);
        Assert.AreEqual(Directory.GetFiles(SharedData.Path("data", "cookies", "anomaly")).Length, cookies.Test.Count(t => t.IsAnomaly));

        Assert.IsTrue(cookies.HasMasks);
        Assert.AreEqual(32, cookies.Test.Count(t => t.MaskPath is not null), "32 of the 40 anomalies have a mask");
        Assert.IsTrue(cookies.Test.All(t => t.IsAnomaly ? t.DefectType == "anomaly" : t.MaskPath is null));
        var first = cookies.Test.Single(t => Path.GetFileName(t.Path) == "anomaly-1.jpg");
        Assert.AreEqual(SharedData.Path("data", "cookies", "masks", "anomaly-1.png"), first.MaskPath);
        Assert.IsTrue(cookies.Test.Where(t => t.MaskPath is not null).All(t =>
            Path.GetFileName(t.MaskPath) == Path.GetFileNameWithoutExtension(t.Path) + ".png" && File.Exists(t.MaskPath)));
        Assert.IsFalse(categories.Single(c => c.Name == "elpv/mono").HasMasks, "no masks/ folder");
    }

    /// <summary>Writes a 2×2 PNG (creating its folder).</summary>
    private static void Png(string root, params string[] parts)
    {
        var p = Path.Combine([root, .. parts]);
        Directory.CreateDirectory(Path.GetDirectoryName(p)!);
        using var image = new Image<L8>(2, 2);
        image.SaveAsPng(p);
    }

    [TestMethod]
    public void FindsTheMasksOfTheMVTecAndVisALayouts()
    {
        var root = Directory.CreateTempSubdirectory("fsac-mvtec").FullName;
        try
        {
            Png(root, "bottle", "train", "good", "000.png");
            Png(root, "bottle", "test", "good", "000.png");
            Png(root, "bottle", "ground_truth", "good", "000_mask.png");
            Png(root, "bottle", "test", "broken", "000.png");
            Png(root, "bottle", "test", "broken", "001.png");
            Png(root, "bottle", "test", "broken", "002.png");
            Png(root, "bottle", "ground_truth", "broken", "000_mask.png");
            Png(root, "bottle", "ground_truth", "broken", "001.png");
            Png(root, "cable", "train", "good", "000.png");
            Png(root, "cable", "test", "cut", "000.png");

            var categories = AnomalyDatasets.Discover(root, DatasetLayout.VisA);
            CollectionAssert.AreEqual(new[] { "bottle", "cable" }, categories.Select(c => c.Name).ToArray());
            var bottle = categories[0];
            var gt = Path.Combine(root, "bottle", "ground_truth", "broken");
            CollectionAssert.AreEqual(
                new[] { Path.Combine(gt, "000_mask.png"), Path.Combine(gt, "001.png"), null, null },
                bottle.Test.Select(t => t.MaskPath).ToArray(), "002 has no mask and good images never have one");
            CollectionAssert.AreEqual(new[] { "broken", "broken", "broken", "good" }, bottle.Test.Select(t => t.DefectType).Order().ToArray());
            Assert.AreEqual(Path.Combine(root, "bottle", "test", "broken", "001.png"), bottle.Test.Single(t => t.MaskPath?.EndsWith("001.png") == true).Path);
            Assert.IsTrue(bottle.HasMasks);
            Assert.IsFalse(categories[1].HasMasks);
            Assert.IsNull(categories[1].Test.Single().MaskPath);
        }
        finally { Directory.Delete(root, true); }
    }

    [TestMethod]
    public void ReadsTypedAnomalyFoldersAndMasksOfTheFolderLayout()
    {
        var root = Directory.CreateTempSubdirectory("fsac-folder").FullName;
        try
        {
            Png(root, "parts", "normal", "n1.png");
            Png(root, "parts", "normal", "n2.jpg");
            Png(root, "parts", "anomaly", "a1.png");
            Png(root, "parts", "anomaly", "a2.jpg");
            Png(root, "parts", "anomaly", "a3.png");
            Png(root, "parts", "anomaly", "crack", "c1.png");
            Png(root, "parts", "anomaly", "crack", "c2.png");
            Png(root, "parts", "anomaly", "scratch", "s1.bmp");
            Png(root, "parts", "masks", "n1.png");            // normal images are never given masks
            Png(root, "parts", "masks", "a1.png");
            Png(root, "parts", "masks", "a2_mask.png");
            Png(root, "parts", "masks", "crack", "c1_mask.png");
            Png(root, "parts", "masks", "c2.png");            // typed images fall back on masks/
            Png(root, "plain", "normal", "n.png");
            Png(root, "plain", "anomaly", "x", "x1.png");

            var categories = AnomalyDatasets.Discover(root, DatasetLayout.Folder);
            CollectionAssert.AreEqual(new[] { "parts", "plain" }, categories.Select(c => c.Name).ToArray());
            var parts = categories[0];
            string P(params string[] rest) => Path.Combine([root, "parts", .. rest]);
            CollectionAssert.AreEqual(new[] { P("normal", "n1.png"), P("normal", "n2.jpg") }, parts.NormalPool.ToArray());
            var expected = new LabelledImage[]
            {
                new(P("normal", "n1.png"), false, "good"),
                new(P("normal", "n2.jpg"), false, "good"),
                new(P("anomaly", "a1.png"), true, "anomaly", P("masks", "a1.png")),
                new(P("anomaly", "a2.jpg"), true, "anomaly", P("masks", "a2_mask.png")),
                new(P("anomaly", "a3.png"), true, "anomaly"),
                new(P("anomaly", "crack", "c1.png"), true, "crack", P("masks", "crack", "c1_mask.png")),
                new(P("anomaly", "crack", "c2.png"), true, "crack", P("masks", "c2.png")),
                new(P("anomaly", "scratch", "s1.bmp"), true, "scratch"),
            };
            CollectionAssert.AreEqual(expected, parts.Test.ToArray());
            Assert.IsTrue(parts.HasMasks);

            var plain = categories[1];
            CollectionAssert.AreEqual(new[] { "good", "x" }, plain.Test.Select(t => t.DefectType).ToArray());
            Assert.IsFalse(plain.HasMasks, "no masks/ folder");
        }
        finally { Directory.Delete(root, true); }
    }

    [TestMethod]
    public void LinksNeitherLoopNorCountAFolderOrFileTwice()
    {
        var root = Directory.CreateTempSubdirectory("fsac-links").FullName;
        try
        {
            Png(root, "cat", "normal", "n1.png");
            Png(root, "cat", "anomaly", "a1.png");
            Png(root, "cat", "anomaly", "crack", "c1.png");
            Png(root, "other", "train", "good", "0.png");
            Png(root, "other", "test", "bad", "0.png");
            File.CreateSymbolicLink(Path.Combine(root, "cat", "normal", "linked.png"), Path.Combine(root, "cat", "normal", "n1.png"));
            File.CreateSymbolicLink(Path.Combine(root, "cat", "anomaly", "again.png"), Path.Combine("crack", "c1.png"));
            Directory.CreateSymbolicLink(Path.Combine(root, "cat", "anomaly", "a-dup"), Path.Combine(root, "cat", "anomaly", "crack"));
            Directory.CreateSymbolicLink(Path.Combine(root, "cat", "anomaly", "loop"), Path.Combine(root, "cat"));
            Directory.CreateSymbolicLink(Path.Combine(root, "alias"), "cat");
            Directory.CreateSymbolicLink(Path.Combine(root, "cat", "up"), root);
            Directory.CreateSymbolicLink(Path.Combine(root, "self"), Path.Combine(root, "self"));
            Directory.CreateSymbolicLink(Path.Combine(root, "other-alias"), "other");
            Directory.CreateSymbolicLink(Path.Combine(root, "other", "test", "bad-again"), "bad");

            var cat = AnomalyDatasets.Discover(root, DatasetLayout.Folder).Single();
            Assert.AreEqual("cat", cat.Name, "the folder's own path wins over the link");
            CollectionAssert.AreEqual(new[] { Path.Combine(root, "cat", "normal", "n1.png") }, cat.NormalPool.ToArray());
            CollectionAssert.AreEqual(
                new[] { "good:n1.png", "anomaly:a1.png", "crack:c1.png" },
                cat.Test.Select(t => $"{t.DefectType}:{Path.GetFileName(t.Path)}").ToArray());

            var other = AnomalyDatasets.Discover(root, DatasetLayout.MVTec).Single();
            Assert.AreEqual("other", other.Name);
            Assert.AreEqual("bad", other.Test.Single().DefectType);
        }
        finally { Directory.Delete(root, true); }
    }

    [TestMethod]
    public void ReadsTheMVTecLayout()
    {
        var root = Directory.CreateTempSubdirectory("fsac-mvtec").FullName;
        try
        {
            void Touch(params string[] parts)
            {
                var p = Path.Combine([root, .. parts]);
                Directory.CreateDirectory(Path.GetDirectoryName(p)!);
                File.WriteAllBytes(p, [0]);
            }
            Touch("bottle", "train", "good", "000.png");
            Touch("bottle", "train", "good", "001.png");
            Touch("bottle", "test", "good", "000.png");
            Touch("bottle", "test", "broken_large", "000.png");
            Touch("bottle", "test", "contamination", "000.png");
            Touch("bottle", "ground_truth", "broken_large", "000_mask.png");
            Touch("notes", "readme.txt");
            var cat = AnomalyDatasets.Discover(root, DatasetLayout.MVTec).Single();
            Assert.AreEqual("bottle", cat.Name);
            Assert.AreEqual(2, cat.NormalPool.Count);
            Assert.AreEqual(3, cat.Test.Count);
            Assert.AreEqual(2, cat.Test.Count(t => t.IsAnomaly));
            CollectionAssert.AreEquivalent(new[] { "good", "broken_large", "contamination" }, cat.Test.Select(t => t.DefectType).ToArray());
        }
        finally { Directory.Delete(root, true); }
    }

    [TestMethod]
    public void EmptyOrMissingRootsAreReported()
    {
        var empty = Directory.CreateTempSubdirectory("fsac-empty").FullName;
        try
        {
            var ex = Assert.ThrowsExactly<InvalidDataException>(() => AnomalyDatasets.Discover(empty, DatasetLayout.Folder));
            StringAssert.Contains(ex.Message, "normal/");
            Assert.ThrowsExactly<DirectoryNotFoundException>(() => AnomalyDatasets.Discover(Path.Combine(empty, "nope"), DatasetLayout.MVTec));
            Assert.ThrowsExactly<ArgumentException>(() => AnomalyDatasets.ParseLayout("coco"));
        }
        finally { Directory.Delete(empty, true); }
    }

    [TestMethod]
    public void ShotsAreSeededAndNeverTested()
    {
        var cookies = AnomalyDatasets.Discover(SharedData.Path("data", "cookies"), DatasetLayout.Folder).Single();
        var a = FewShotSplit.Draw(cookies, 4, seed: 7);
        var b = FewShotSplit.Draw(cookies, 4, seed: 7);
        var c = FewShotSplit.Draw(cookies, 4, seed: 8);
        CollectionAssert.AreEqual(a.Shots.ToArray(), b.Shots.ToArray());
        CollectionAssert.AreNotEqual(a.Shots.ToArray(), c.Shots.ToArray());
        Assert.AreEqual(4, a.Shots.Distinct().Count());
        Assert.IsFalse(a.Test.Any(t => a.Shots.Contains(t.Path)));
        Assert.AreEqual(cookies.Test.Count - 4, a.Test.Count);
        Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => FewShotSplit.Draw(cookies, cookies.NormalPool.Count + 1, 0));
    }
}
