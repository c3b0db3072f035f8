using Fsac.MLNet.PatchCore;
using TorchSharp;

namespace Fsac.MLNet.Tests.PatchCore;

[TestClass]
public sealed class CoresetSamplerTests
{
    private static double Distance(float[] x, int channels, long a, long b)
    {
        double d2 = 0;
        for (int c = 0; c < channels; c++)
        {
            double d = (double)x[a * channels + c] - x[b * channels + c];
            d2 += d * d;
        }
        return Math.Sqrt(d2);
    }

    [TestMethod]
    public void Select_ReturnsDistinctIndices_DeterministicForASeed()
    {
        const int m = 200, channels = 10;
        var data = PatchMemoryTests.Uniform(new Random(1), m * channels);
        using var scope = torch.NewDisposeScope();
        var x = torch.tensor(data, [m, channels]);
        var a = CoresetSampler.Select(x, 20, seed: 4);
        var b = CoresetSampler.Select(x, 20, seed: 4);
        Assert.HasCount(20, a);
        Assert.HasCount(20, a.Distinct().ToArray());
        Assert.IsTrue(a.All(i => i >= 0 && i < m));
        CollectionAssert.AreEqual(a, b, "same seed, same selection");
        // The start depends on the seed (over several seeds not all starts are equal).
        var starts = Enumerable.Range(0, 8).Select(s => CoresetSampler.Select(x, 2, s)[0]).Distinct().Count();
        Assert.IsGreaterThan(1, starts);
    }

    [TestMethod]
    public void Select_IsGreedyKCenter()
    {
        // Below 128 channels there is no projection: each pick is the point farthest from those picked before.
        const int m = 120, channels = 5;
        var data = PatchMemoryTests.Uniform(new Random(2), m * channels);
        using var scope = torch.NewDisposeScope();
        var chosen = CoresetSampler.Select(torch.tensor(data, [m, channels]), 15, seed: 9);
        for (int k = 1; k < chosen.Length; k++)
        {
            double Nearest(long p) => chosen.Take(k).Min(c => Distance(data, channels, p, c));
            double best = Enumerable.Range(0, m).Max(p => Nearest(p));
            Assert.AreEqual(best, Nearest(chosen[k]), 1e-4, $"pick {k} is not the farthest point");
        }
    }

    [TestMethod]
    [DataRow(2)]
    [DataRow(16)]
    public void Select_OnClusteredDataWithRepeats_EachPickIsTheFarthestPatch(int channels)
    {
        // Tight and loose clusters, with repeated rows: most distances are skipped by the triangle-inequality bound, and
        // a bound applied wrongly would leave a stale distance that makes some pick not the farthest patch.
        const int clusters = 30, perCluster = 100, count = 300;
        var rng = new Random(21);
        var data = new float[clusters * perCluster * channels];
        for (int k = 0; k < clusters; k++)
        {
            var centre = PatchMemoryTests.Uniform(rng, channels, 10);
            double spread = 0.05 * (1 + (k % 5) * 4);
            for (int p = 0; p < perCluster; p++)
            {
                int row = (k * perCluster) + p;
                if (p % 10 == 9) Array.Copy(data, (row - 1) * channels, data, row * channels, channels);
                else for (int c = 0; c < channels; c++) data[row * channels + c] = centre[c] + (float)((rng.NextDouble() - 0.5) * spread);
            }
        }
        using var scope = torch.NewDisposeScope();
        var chosen = CoresetSampler.Select(torch.tensor(data, [clusters * perCluster, channels]), count, seed: 5);
        Assert.HasCount(count, chosen.Distinct().ToArray());
        var nearest = Enumerable.Range(0, clusters * perCluster).Select(p => Distance(data, channels, p, chosen[0])).ToArray();
        for (int k = 1; k < count; k++)
        {
            double farthest = nearest.Max();
            Assert.AreEqual(farthest, nearest[chosen[k]], 1e-4 * Math.Max(1, farthest), $"pick {k} (row {chosen[k]}) is not the farthest patch");
            for (int p = 0; p < nearest.Length; p++) nearest[p] = Math.Min(nearest[p], Distance(data, channels, p, chosen[k]));
        }
    }

    [TestMethod]
    public void Select_CountAtLeastM_ReturnsAll()
    {
        using var scope = torch.NewDisposeScope();
        var x = torch.randn(7, 3);
        CollectionAssert.AreEqual(new long[] { 0, 1, 2, 3, 4, 5, 6 }, CoresetSampler.Select(x, 7, 0));
        CollectionAssert.AreEqual(new long[] { 0, 1, 2, 3, 4, 5, 6 }, CoresetSampler.Select(x, 100, 3));
    }

    [TestMethod]
    [DataRow(4)]
    [DataRow(300)]      // above 128 channels: through the random projection
    public void Select_ThreeOfThreeTightClusters_TakesOneFromEach(int channels)
    {
        const int perCluster = 40;
        var rng = new Random(6);
        var centres = Enumerable.Range(0, 3).Select(_ => PatchMemoryTests.Uniform(rng, channels, 20)).ToArray();
        var data = new float[3 * perCluster * channels];
        for (int k = 0; k < 3; k++)
            for (int p = 0; p < perCluster; p++)
                for (int c = 0; c < channels; c++)
                    data[((k * perCluster) + p) * channels + c] = centres[k][c] + (float)((rng.NextDouble() - 0.5) * 0.02);
        using var scope = torch.NewDisposeScope();
        var x = torch.tensor(data, [3 * perCluster, channels]);
        foreach (var seed in new[] { 0, 1, 2, 17 })
        {
            var chosen = CoresetSampler.Select(x, 3, seed);
            CollectionAssert.AreEquivalent(new long[] { 0, 1, 2 }, chosen.Select(i => i / perCluster).ToArray(), $"seed {seed}: [{string.Join(", ", chosen)}]");
        }
    }

    [TestMethod]
    public void Select_OnRepeatedRows_DoesNotPickARowTwice()
    {
        // Three distinct rows, each repeated 10 times; asking for 5 must still return 5 different rows (indices).
        const int channels = 8;
        var rng = new Random(12);
        var distinct = Enumerable.Range(0, 3).Select(_ => PatchMemoryTests.Uniform(rng, channels, 4)).ToArray();
        var data = Enumerable.Range(0, 30).SelectMany(i => distinct[i % 3]).ToArray();
        using var scope = torch.NewDisposeScope();
        var chosen = CoresetSampler.Select(torch.tensor(data, [30, channels]), 5, seed: 3);
        Assert.HasCount(5, chosen);
        Assert.HasCount(5, chosen.Distinct().ToArray(), $"[{string.Join(", ", chosen)}]");
        Assert.HasCount(3, chosen.Take(3).Select(i => i % 3).Distinct().ToArray(), "the first three cover the three rows");
    }

    [TestMethod]
    public void BadArgumentsThrow()
    {
        using var scope = torch.NewDisposeScope();
        Assert.ThrowsExactly<ArgumentException>(() => CoresetSampler.Select(torch.zeros(10), 2, 0));
        Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => CoresetSampler.Select(torch.zeros(10, 2), 0, 0));
        Assert.ThrowsExactly<ArgumentNullException>(() => CoresetSampler.Select(null!, 2, 0));
    }
}
