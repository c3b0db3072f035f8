using TorchSharp;
using static TorchSharp.torch;

namespace Fsac.MLNet.PatchCore;

/// <summary>
/// PatchCore's coreset subsampling: greedy k-center selection, which repeatedly keeps the patch farthest from those
/// kept so far, so the subset covers the memory with the smallest radius. As in PatchCore, distances are computed on
/// a seeded random projection of the features (at most 128 dimensions), which preserves them approximately and
/// makes each step cheap.
/// </summary>
public static class CoresetSampler
{
    /// <summary>Dimensions of the random projection.</summary>
    public const int ProjectionDim = 128;

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
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        using var generator = new Generator(unchecked((ulong)seed), CPU);
        var x = features.to_type(ScalarType.Float32);
        if (x.shape[1] > ProjectionDim)
            x = x.matmul(randn([x.shape[1], ProjectionDim], generator: generator).div_(Math.Sqrt(ProjectionDim)));
        var chosen = new long[count];
        chosen[0] = new Random(seed).NextInt64(m);
        // ‖x − c‖² = ‖x‖² + ‖c‖² − 2 x·c: one matrix-vector product a step, into buffers allocated once.
        var norms = x.square().sum(1);
        var nearest = SquaredDistances(x, norms, chosen[0]);
        for (int i = 1; i < count; i++)
        {
            nearest[chosen[i - 1]] = tensor(-1f);                     // never chosen twice, even among repeated rows
            chosen[i] = nearest.argmax().item<long>();
            using var step = NewDisposeScope();
            nearest.copy_(minimum(nearest, SquaredDistances(x, norms, chosen[i])));
        }
        return chosen;
    }

    private static Tensor SquaredDistances(Tensor x, Tensor norms, long centre)
    {
        var c = x[centre];
        return norms.add(norms[centre]).sub_(x.mv(c).mul_(2));
    }
}
