using Fsac.MLNet.Evaluation;

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
