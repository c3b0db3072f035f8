using Fsac.MLNet.Native;
using Fsac.MLNet.PatchCore;
using TorchSharp;

namespace Fsac.MLNet.Tests.PatchCore;

[TestClass]
public sealed class BFloat16SearchTests
{
    // Clustered rows, like patch features: many near neighbours whose distances differ by little.
    private static float[] Clustered(Random rng, int rows, int channels, int clusters, double spread)
    {
        var centres = PatchMemoryTests.Uniform(rng, clusters * channels, 4);
        var data = new float[rows * channels];
        for (int i = 0; i < rows; i++)
        {
            int c = rng.Next(clusters);
            for (int j = 0; j < channels; j++) data[i * channels + j] = centres[c * channels + j] + (float)((rng.NextDouble() - 0.5) * spread);
        }
        return data;
    }

    [TestMethod]
    public void ReportsTrueDistances_NeverBelowTheExactNearest_AndAlmostAlwaysEqualToIt()
    {
        const int channels = 48, m = 600, q = 300;
        var rng = new Random(3);
        var bank = Clustered(rng, m, channels, 12, 1.0);
        var queries = Clustered(rng, q, channels, 12, 1.0);
        using var scope = torch.NewDisposeScope();
        using var memory = new PatchMemory(torch.tensor(bank, [m, channels]), SearchPrecision.BFloat16);
        Assert.AreEqual(SearchPrecision.BFloat16, memory.Precision);
        var actual = memory.NearestDistances(torch.tensor(queries, [q, channels])).data<float>().ToArray();
        var exact = PatchMemoryTests.BruteForce(bank, queries, channels);
        int equal = 0;
        for (int i = 0; i < q; i++)
        {
            Assert.IsGreaterThanOrEqualTo(exact[i] * (1 - 1e-5) - 1e-6, actual[i], $"query {i} is closer than its nearest neighbour");
            // The reported value is the float32 distance to one memory row.
            var one = PatchMemoryTests.BruteForce(bank, queries.AsSpan(i * channels, channels).ToArray(), channels);
            double closestRow = Enumerable.Range(0, m).Min(j =>
                Math.Abs(Math.Sqrt(Enumerable.Range(0, channels).Sum(c => Math.Pow((double)queries[i * channels + c] - bank[j * channels + c], 2))) - actual[i]));
            Assert.IsLessThan(1e-4 * Math.Max(1, actual[i]), closestRow, $"query {i}: {actual[i]} is no row's distance (nearest {one[0]})");
            if (Math.Abs(actual[i] - exact[i]) <= 1e-4 * exact[i]) equal++;
        }
        Assert.IsGreaterThanOrEqualTo(q * 98 / 100, equal, "the true neighbour is among the candidates for almost every query");
    }

    [TestMethod]
    public void MemoryRowsFindThemselves_AndSmallMemoriesWork()
    {
        const int channels = 20, m = 5;
        var bank = PatchMemoryTests.Uniform(new Random(8), m * channels, 3);
        using var scope = torch.NewDisposeScope();
        using var memory = new PatchMemory(torch.tensor(bank, [m, channels]), SearchPrecision.BFloat16);
        // Fewer rows than candidates: every row is a candidate, so the result is exact.
        var actual = memory.NearestDistances(torch.tensor(bank, [m, channels])).data<float>().ToArray();
        foreach (var d in actual) Assert.AreEqual(0.0, d, 1e-5);
        var far = PatchMemoryTests.Uniform(new Random(9), 7 * channels, 5);
        var got = memory.NearestDistances(torch.tensor(far, [7, channels])).data<float>().ToArray();
        var expected = PatchMemoryTests.BruteForce(bank, far, channels);
        for (int i = 0; i < 7; i++) Assert.AreEqual(expected[i], got[i], 1e-4 * expected[i]);
    }

    [TestMethod]
    public void ProductRows_AreRoundedUpToAFewSizesPerOctave()
    {
        var sizes = new HashSet<long>();
        for (long rows = 1; rows <= 70_000; rows++)
        {
            long steady = PatchMemory.SteadyRows(rows);
            Assert.IsGreaterThanOrEqualTo(rows, steady);
            Assert.AreEqual(0, steady % 16, $"{rows} rows -> {steady}");
            Assert.IsLessThanOrEqualTo(rows < 128 ? rows + 15 : rows + rows / 8, steady, $"{rows} rows -> {steady}");
            sizes.Add(steady);
        }
        Assert.AreEqual(4096, PatchMemory.SteadyRows(4096), "the default memory limit is already steady");
        // 8 sizes up to 128, then 8 per octave: 2^7 .. 2^17 is 10 octaves.
        Assert.IsLessThanOrEqualTo(8 + 8 * 10, sizes.Count);
    }

    [TestMethod]
    public void MemoriesAndQueryBlocksOfUnsteadySizes_FindTheirNeighboursAmongTheRealRows()
    {
        // 131 rows pad to 144 and 37 queries to 48: padding rows must never be candidates, padding queries never results.
        const int channels = 24, m = 131, q = 37;
        var rng = new Random(21);
        var bank = PatchMemoryTests.Uniform(rng, m * channels, 2);
        var queries = PatchMemoryTests.Uniform(rng, q * channels, 3);
        using var scope = torch.NewDisposeScope();
        using var memory = new PatchMemory(torch.tensor(bank, [m, channels]), SearchPrecision.BFloat16);
        var actual = memory.NearestDistances(torch.tensor(queries, [q, channels])).data<float>().ToArray();
        Assert.HasCount(q, actual);
        var exact = PatchMemoryTests.BruteForce(bank, queries, channels);
        for (int i = 0; i < q; i++)
        {
            Assert.IsGreaterThanOrEqualTo(exact[i] * (1 - 1e-5), actual[i], $"query {i}");
            Assert.IsLessThanOrEqualTo(exact[i] * 1.02, actual[i], $"query {i}");
        }
    }

    [TestMethod]
    public void QueriesThatNeedGradients_AreSearchedInFloat32_AndDifferentiable()
    {
        using var scope = torch.NewDisposeScope();
        using var memory = new PatchMemory(torch.tensor(new float[] { 0, 0, 3, 4, 10, 10 }, [3, 2]), SearchPrecision.BFloat16);
        var query = torch.tensor(new float[] { 3.3f, 4.4f }, [1, 2]).requires_grad_(true);
        var d = memory.NearestDistances(query);
        Assert.AreEqual(0.5, d.item<float>(), 1e-6);
        d.sum().backward();
        var grad = query.grad!.data<float>().ToArray();
        Assert.AreEqual(0.6, grad[0], 1e-5);
        Assert.AreEqual(0.8, grad[1], 1e-5);
    }

    [TestMethod]
    public void AutoResolvesToAConcretePrecision_AndUnknownValuesAreRefused()
    {
        var resolved = PatchMemory.Resolve(SearchPrecision.Auto);
        Assert.IsTrue(resolved is SearchPrecision.Float32 or SearchPrecision.BFloat16);
        Assert.AreEqual(Fsac.MLNet.Native.CpuFeatures.HasNativeBFloat16 ? SearchPrecision.BFloat16 : SearchPrecision.Float32, resolved);
        Assert.AreEqual(SearchPrecision.Float32, PatchMemory.Resolve(SearchPrecision.Float32));
        using var scope = torch.NewDisposeScope();
        using (var auto = new PatchMemory(torch.zeros(3, 2), SearchPrecision.Auto)) Assert.AreEqual(resolved, auto.Precision);
        Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => new PatchMemory(torch.zeros(3, 2), (SearchPrecision)7));
        var options = new PatchCoreOptions { Search = (SearchPrecision)7 };
        var e = Assert.ThrowsExactly<ArgumentOutOfRangeException>(options.Validate);
        Assert.AreEqual("Search", e.ParamName);
    }
}
