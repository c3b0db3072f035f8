using Fsac.MLNet.PatchCore;
using TorchSharp;

namespace Fsac.MLNet.Tests.PatchCore;

[TestClass]
public sealed class PatchMemoryTests
{
    internal static float[] Uniform(Random rng, int count, double scale = 1)
        => [.. Enumerable.Range(0, count).Select(_ => (float)((rng.NextDouble() - 0.5) * scale))];

    /// <summary>Nearest Euclidean distances by brute force in double precision.</summary>
    internal static double[] BruteForce(float[] bank, float[] queries, int channels)
    {
        int m = bank.Length / channels, q = queries.Length / channels;
        var result = new double[q];
        for (int i = 0; i < q; i++)
        {
            double best = double.PositiveInfinity;
            for (int j = 0; j < m; j++)
            {
                double d2 = 0;
                for (int c = 0; c < channels; c++)
                {
                    double d = (double)queries[i * channels + c] - bank[j * channels + c];
                    d2 += d * d;
                }
                if (d2 < best) best = d2;
            }
            result[i] = Math.Sqrt(best);
        }
        return result;
    }

    [TestMethod]
    public void NearestDistances_EqualBruteForce_AndAreZeroForMemoryRows()
    {
        const int channels = 6, m = 50;
        var rng = new Random(11);
        var bank = Uniform(rng, m * channels);
        var queries = Uniform(rng, 30 * channels, 1.5).ToList();
        int[] exactRows = [0, 7, 49, 23, 23];
        foreach (var r in exactRows) queries.AddRange(bank.AsSpan(r * channels, channels).ToArray());
        var q = queries.ToArray();

        using var scope = torch.NewDisposeScope();
        using var memory = new PatchMemory(torch.tensor(bank, [m, channels]));
        Assert.AreEqual(m, memory.Count);
        Assert.AreEqual(channels, memory.Channels);
        Assert.AreEqual((long)m * channels * 4, memory.Bytes);
        var actual = memory.NearestDistances(torch.tensor(q, [q.Length / channels, channels])).data<float>().ToArray();
        var expected = BruteForce(bank, q, channels);
        Assert.HasCount(expected.Length, actual);
        for (int i = 0; i < 30; i++)
            Assert.AreEqual(expected[i], actual[i], 1e-4, $"query {i}");
        for (int i = 30; i < expected.Length; i++)
        {
            Assert.AreEqual(0.0, expected[i]);
            Assert.AreEqual(0.0, actual[i], 1e-3, $"exact memory row query {i}");
        }
    }

    [TestMethod]
    public void NearestDistances_OverSeveralQueryChunks_EqualBruteForce()
    {
        // A block holds 16 Mi distances: with 100,000 memory rows a chunk is 167 queries, so 200 queries take two.
        const int channels = 4, m = 100_000, q = 200;
        var rng = new Random(5);
        var bank = Uniform(rng, m * channels);
        var queries = Uniform(rng, q * channels, 1.2);
        using var scope = torch.NewDisposeScope();
        using var memory = new PatchMemory(torch.tensor(bank, [m, channels]));
        var actual = memory.NearestDistances(torch.tensor(queries, [q, channels])).data<float>().ToArray();
        Assert.HasCount(q, actual);
        // Brute force (double) on the queries at the chunk boundaries and a sample of the others.
        var sample = new[] { 0, 1, 165, 166, 167, 168, 198, 199 }.Concat(Enumerable.Range(0, 24).Select(_ => rng.Next(q))).ToArray();
        var sampled = sample.SelectMany(i => queries.AsSpan(i * channels, channels).ToArray()).ToArray();
        var expected = BruteForce(bank, sampled, channels);
        for (int k = 0; k < sample.Length; k++)
            Assert.AreEqual(expected[k], actual[sample[k]], 1e-4, $"query {sample[k]} (chunk {sample[k] / 167})");
        // Every query alone (one chunk of one) agrees with the chunked call: no row lost, shifted or reordered.
        for (int i = 0; i < q; i++)
        {
            using var one = torch.tensor(queries.AsSpan(i * channels, channels).ToArray(), [1, channels]);
            using var single = memory.NearestDistances(one);
            Assert.AreEqual(actual[i], single.item<float>(), 1e-5f, $"query {i} alone");
        }
    }

    [TestMethod]
    public void NearestDistances_IsDifferentiableWithRespectToTheQueries()
    {
        var bank = new float[] { 0, 0, 3, 0, 0, 4 };            // rows (0,0), (3,0), (0,4)
        using var scope = torch.NewDisposeScope();
        using var memory = new PatchMemory(torch.tensor(bank, [3, 2]));
        var query = torch.tensor(new float[] { 2.5f, 0.5f }, [1, 2]).requires_grad_(true);
        var d = memory.NearestDistances(query);
        // Nearest is (3, 0): distance √(0.25 + 0.25); ∂d/∂q = (q − m) / d.
        double dist = Math.Sqrt(0.5);
        Assert.AreEqual(dist, d.item<float>(), 1e-5);
        d.sum().backward();
        var grad = query.grad!.data<float>().ToArray();
        Assert.AreEqual(-0.5 / dist, grad[0], 1e-4);
        Assert.AreEqual(0.5 / dist, grad[1], 1e-4);
    }

    [TestMethod]
    public void TheBankIsACopy()
    {
        using var scope = torch.NewDisposeScope();
        var source = torch.tensor(new float[] { 1, 2, 3, 4 }, [2, 2]);
        using var memory = new PatchMemory(source);
        source.mul_(100);
        var d = memory.NearestDistances(torch.tensor(new float[] { 1, 2 }, [1, 2])).item<float>();
        Assert.AreEqual(0f, d, 1e-3f);
    }

    [TestMethod]
    public void BadArgumentsThrow()
    {
        using var scope = torch.NewDisposeScope();
        using var memory = new PatchMemory(torch.zeros(5, 3));
        Assert.ThrowsExactly<ArgumentException>(() => memory.NearestDistances(torch.zeros(2, 4)));
        Assert.ThrowsExactly<ArgumentException>(() => memory.NearestDistances(torch.zeros(3)));
        Assert.ThrowsExactly<ArgumentNullException>(() => memory.NearestDistances(null!));
        Assert.ThrowsExactly<ArgumentException>(() => new PatchMemory(torch.zeros(0, 3)));
        Assert.ThrowsExactly<ArgumentException>(() => new PatchMemory(torch.zeros(4)));
        CollectionAssert.AreEqual(new long[] { 0 }, memory.NearestDistances(torch.zeros(0, 3)).shape);
    }
}
