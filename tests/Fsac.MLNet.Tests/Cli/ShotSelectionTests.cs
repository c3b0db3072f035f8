using Fsac.Cli.Fitting;

namespace Fsac.MLNet.Tests.Cli;

[TestClass]
public class ShotSelectionTests
{
    private static readonly string[] Files = [.. Enumerable.Range(0, 20).Select(i => $"normal-{i:D2}.png")];

    [TestMethod]
    public void TakesEveryFileWhenThereAreExactlyK()
    {
        var selection = ShotSelection.Choose(Files[..3], 3, seed: 5);
        CollectionAssert.AreEqual(Files[..3], selection.Shots.ToArray());
        Assert.IsFalse(selection.Sampled);
    }

    [TestMethod]
    public void SamplesKDistinctFilesInTheirGivenOrderReproduciblyBySeed()
    {
        var a = ShotSelection.Choose(Files, 4, seed: 1);
        var b = ShotSelection.Choose(Files, 4, seed: 1);
        var c = ShotSelection.Choose(Files, 4, seed: 2);

        Assert.IsTrue(a.Sampled);
        Assert.AreEqual(20, a.Available);
        Assert.HasCount(4, a.Shots);
        Assert.HasCount(4, a.Shots.Distinct());
        CollectionAssert.IsSubsetOf(a.Shots.ToArray(), Files);
        CollectionAssert.AreEqual(a.Shots.OrderBy(f => Array.IndexOf(Files, f)).ToArray(), a.Shots.ToArray(), "shots keep the input order");
        CollectionAssert.AreEqual(a.Shots.ToArray(), b.Shots.ToArray());
        CollectionAssert.AreNotEqual(a.Shots.ToArray(), c.Shots.ToArray());
    }

    [TestMethod]
    public void RefusesFewerFilesThanShots()
    {
        var e = Assert.ThrowsExactly<ArgumentException>(() => ShotSelection.Choose(Files[..2], 3, seed: 0));
        StringAssert.Contains(e.Message, "only 2 were found");
    }
}
