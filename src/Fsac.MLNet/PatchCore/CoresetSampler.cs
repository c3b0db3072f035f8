using System.Numerics;
using System.Runtime.InteropServices;
using TorchSharp;
using static TorchSharp.torch;

namespace Fsac.MLNet.PatchCore;

/// <summary>
/// PatchCore's coreset subsampling: greedy k-center selection, which repeatedly keeps the patch farthest from those
/// kept so far, so the subset covers the memory with the smallest radius. As in PatchCore, distances are computed on
/// a seeded random projection of the features (at most 128 dimensions), which preserves them approximately and
/// makes each step cheap.
/// </summary>
internal static class CoresetSampler
{
    /// <summary>Dimensions of the random projection.</summary>
    public const int ProjectionDim = 128;

    // Rows one worker updates per step; below this a step runs on one thread.
    private const int RowsPerWorker = 4096;

    /// <summary>
    /// The row indices of <paramref name="count"/> patches of <paramref name="features"/> <c>[M, C]</c> chosen by greedy
    /// k-center, in the order chosen; all rows when <paramref name="count"/> ≥ M. Deterministic for a seed.
    /// </summary>
    /// <exception cref="ArgumentException">The features are not a matrix, or <paramref name="count"/> is below 1.</exception>
    public static long[] Select(Tensor features, int count, int seed)
    {
        ArgumentNullException.ThrowIfNull(features);
        if (features.ndim != 2) throw new ArgumentException($"Features must be [M, C]; got [{string.Join(", ", features.shape)}].", nameof(features));
        ArgumentOutOfRangeException.ThrowIfLessThan(count, 1);
        long m = features.shape[0];
        if (count >= m) return [.. Enumerable.Range(0, (int)m).Select(i => (long)i)];
        // The projection, transposed to [width, M]: a step streams over rows, a vector of rows at a time.
        float[] xt;
        int width;
        using (NewDisposeScope())
        using (no_grad())
        using (var generator = new Generator(unchecked((ulong)seed), CPU))
        {
            var projected = features.to_type(ScalarType.Float32);
            if (projected.shape[1] > ProjectionDim)
                projected = projected.matmul(randn([projected.shape[1], ProjectionDim], generator: generator).div_(Math.Sqrt(ProjectionDim)));
            width = (int)projected.shape[1];
            xt = projected.t().contiguous().data<float>().ToArray();
        }
        int rows = (int)m;
        var norms = new float[rows];
        for (int k = 0; k < width; k++)
        {
            var column = xt.AsSpan(k * rows, rows);
            for (int j = 0; j < rows; j++) norms[j] += column[j] * column[j];
        }
        var chosen = new long[count];
        chosen[0] = new Random(seed).NextInt64(m);
        var nearest = new float[rows];
        Array.Fill(nearest, float.PositiveInfinity);
        var products = new float[rows];
        var centre = new float[width];
        int workers = Math.Clamp(rows / RowsPerWorker, 1, Environment.ProcessorCount);
        var bestOfWorker = new (float Distance, int Row)[workers];
        var parallel = new ParallelOptions { MaxDegreeOfParallelism = workers };
        for (int i = 1; i < count; i++)
        {
            int c = (int)chosen[i - 1];
            for (int k = 0; k < width; k++) centre[k] = xt[k * rows + c];
            float centreNorm = norms[c];
            nearest[c] = float.NegativeInfinity;                       // never chosen twice, even among repeated rows
            // ‖x − c‖² = ‖x‖² + ‖c‖² − 2 x·c for every row, the running minimum kept, and each worker's farthest row.
            Parallel.For(0, workers, parallel, w =>
            {
                int start = (int)((long)rows * w / workers), end = (int)((long)rows * (w + 1) / workers);
                bestOfWorker[w] = Step(xt, rows, width, start, end, centre, centreNorm, norms, products, nearest);
            });
            var (bestDistance, row) = bestOfWorker[0];
            for (int w = 1; w < workers; w++)
                if (bestOfWorker[w].Distance > bestDistance) (bestDistance, row) = bestOfWorker[w];
            chosen[i] = row;
        }
        return chosen;
    }

    // One greedy step over rows [start, end): products with the centre, the running minimum, the farthest row.
    private static (float Distance, int Row) Step(float[] xt, int rows, int width, int start, int end, float[] centre, float centreNorm,
        float[] norms, float[] products, float[] nearest)
    {
        var dot = products.AsSpan(start, end - start);
        dot.Clear();
        int vectors = dot.Length / Vector<float>.Count;
        var dotV = MemoryMarshal.Cast<float, Vector<float>>(dot);
        for (int k = 0; k < width; k++)
        {
            var column = xt.AsSpan(k * rows + start, end - start);
            var columnV = MemoryMarshal.Cast<float, Vector<float>>(column);
            var ck = new Vector<float>(centre[k]);
            for (int v = 0; v < vectors; v++) dotV[v] += columnV[v] * ck;
            for (int j = vectors * Vector<float>.Count; j < dot.Length; j++) dot[j] += column[j] * centre[k];
        }
        float best = float.NegativeInfinity;
        int bestRow = start;
        for (int j = 0; j < dot.Length; j++)
        {
            int row = start + j;
            float d = Math.Min(nearest[row], norms[row] + centreNorm - 2 * dot[j]);
            nearest[row] = d;
            if (d > best) (best, bestRow) = (d, row);
        }
        return (best, bestRow);
    }
}
