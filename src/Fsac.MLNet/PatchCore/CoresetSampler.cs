using System.Numerics;
using System.Runtime.InteropServices;
using TorchSharp;
using TorchSharp.Utils;
using static TorchSharp.torch;

namespace Fsac.MLNet.PatchCore;

/// <summary>
/// PatchCore's coreset subsampling: greedy k-center selection, which repeatedly keeps the patch farthest from those
/// kept so far, so the subset covers the memory with the smallest radius. As in PatchCore, distances are computed on
/// a seeded random projection of the features (at most 128 dimensions), which preserves them approximately and
/// makes each step cheap.
/// </summary>
/// <remarks>
/// Each patch belongs to the cluster of its nearest kept patch. A new centre c can only come closer to a patch p of
/// the cluster of centre a if ‖c − a‖ &lt; 2‖p − a‖ (triangle inequality), so a step skips every cluster whose radius
/// is at most half its centre's distance to c, and within the others every patch for which the same bound holds.
/// The selection is the one plain greedy k-center makes; only distances that cannot shrink are not recomputed.
/// The clusters keep their own copy of the projection, with room for every patch to move once before compaction:
/// 2 × M × 128 floats (25 MB for the 24 192 patches of four cookie shots).
/// </remarks>
internal static class CoresetSampler
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
        var clusters = Project(features, seed);
        var chosen = new long[count];
        chosen[0] = new Random(seed).NextInt64(m);
        clusters.Grow(chosen);
        return chosen;
    }

    // The seeded projection, laid out as the clusters' storage.
    private static Clusters Project(Tensor features, int seed)
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        using var generator = new Generator(unchecked((ulong)seed), CPU);
        var projected = features.to_type(ScalarType.Float32);
        if (projected.shape[1] > ProjectionDim)
            projected = projected.matmul(randn([projected.shape[1], ProjectionDim], generator: generator).div_(Math.Sqrt(ProjectionDim)));
        return new Clusters(projected.contiguous().data<float>(), (int)projected.shape[0], (int)projected.shape[1]);
    }

    /// <summary>
    /// The kept centres, each with the patches nearest to it stored together in one slot range, so that a step reads
    /// the clusters it must rescan from contiguous memory. Patches that move go to the new cluster's range at the end;
    /// the storage is compacted when it runs out.
    /// </summary>
    private sealed class Clusters
    {
        private readonly int rows, width;
        private readonly float[] data;              // per slot: the patch's projection
        private readonly int[] ids;                 // per slot: the patch's row
        private readonly float[] norms, nearest;    // per slot: ‖x‖², and the squared distance to the nearest centre
        private int top;                            // slots in use
        private int[] start = [], length = [], farthestSlot = [];
        private float[] radius = [];                // per cluster: the largest squared distance of a member
        private float[] centres = [], centreNorms = [];
        private readonly List<int> rescanned = [];  // the clusters a step rescans, with their bounds
        private readonly List<float> bounds = [];

        public Clusters(TensorAccessor<float> projected, int rows, int width)
        {
            (this.rows, this.width) = (rows, width);
            // Twice the patches: a step moves at most every patch once.
            data = new float[2L * rows * width];
            projected.CopyTo(data.AsSpan(0, rows * width));
            ids = new int[2 * rows];
            norms = new float[2 * rows];
            nearest = new float[2 * rows];
            for (int s = 0; s < rows; s++)
            {
                ids[s] = s;
                norms[s] = Dot(Row(s), Row(s));
            }
            top = rows;
        }

        public void Grow(long[] chosen)
        {
            int count = chosen.Length;
            start = new int[count];
            length = new int[count];
            farthestSlot = new int[count];
            radius = new float[count];
            centres = new float[count * width];
            centreNorms = new float[count];
            // The first centre takes every patch.
            int first = (int)chosen[0];
            SetCentre(0, first);
            for (int s = 0; s < rows; s++) nearest[s] = DistanceToCentre(s, 0);
            nearest[first] = float.NegativeInfinity;                    // never chosen twice, even among repeated rows
            (start[0], length[0]) = (0, rows);
            Measure(0);
            for (int i = 1; i < count; i++)
            {
                int from = Farthest(i);
                int slot = farthestSlot[from];
                chosen[i] = ids[slot];
                SetCentre(i, slot);
                nearest[slot] = float.NegativeInfinity;
                Add(i, from);
            }
        }

        // The cluster holding the patch farthest from every centre: the largest radius, ties to the lowest row (as a
        // plain scan over the rows finds it).
        private int Farthest(int clusters)
        {
            int best = 0;
            for (int j = 1; j < clusters; j++)
                if (radius[j] > radius[best] || (radius[j] == radius[best] && FarthestRow(j) < FarthestRow(best))) best = j;
            return best;
        }

        private int FarthestRow(int j) => farthestSlot[j] < 0 ? int.MaxValue : ids[farthestSlot[j]];

        // Centre i, taken from cluster `from`: the patches nearer to it than to their own centre move into its cluster.
        private void Add(int i, int from)
        {
            rescanned.Clear();
            bounds.Clear();
            int needed = 0;
            for (int j = 0; j < i; j++)
            {
                // ‖c − a‖ ≥ 2r: no member of cluster j can come closer (the cluster c leaves is rescanned all the same).
                float gap = CentreGap(i, j);
                if (gap >= 4 * radius[j] && j != from) continue;
                rescanned.Add(j);
                bounds.Add(gap / 4);
                needed += length[j];
            }
            if (top + needed > ids.Length) Compact(i);
            (start[i], length[i], radius[i], farthestSlot[i]) = (top, 0, float.NegativeInfinity, -1);
            for (int k = 0; k < rescanned.Count; k++) Rescan(rescanned[k], i, bounds[k]);
            length[i] = top - start[i];
        }

        // Cluster j against new centre i: patches whose distance to j's centre exceeds `bound` (a quarter of the
        // squared centre gap) are measured; those nearer to i are appended to i's range, and j's last patch fills the hole.
        private void Rescan(int j, int i, float bound)
        {
            int s = start[j], end = start[j] + length[j];
            float keptRadius = float.NegativeInfinity;
            int keptFarthest = -1;
            while (s < end)
            {
                float d = nearest[s] > bound ? DistanceToCentre(s, i) : float.PositiveInfinity;
                if (d < nearest[s])
                {
                    Move(s, top, d);
                    Consider(ref radius[i], ref farthestSlot[i], top++);
                    if (--end > s) Move(end, s, nearest[end]);
                }
                else
                {
                    Consider(ref keptRadius, ref keptFarthest, s++);
                }
            }
            length[j] = end - start[j];
            (radius[j], farthestSlot[j]) = (keptRadius, keptFarthest);
        }

        private void Consider(ref float best, ref int bestSlot, int slot)
        {
            if (bestSlot < 0 || nearest[slot] > best || (nearest[slot] == best && ids[slot] < ids[bestSlot])) (best, bestSlot) = (nearest[slot], slot);
        }

        private void Measure(int j)
        {
            (radius[j], farthestSlot[j]) = (float.NegativeInfinity, -1);
            for (int s = start[j]; s < start[j] + length[j]; s++) Consider(ref radius[j], ref farthestSlot[j], s);
        }

        // Moves every cluster of the first `clusters` to the front of the storage, in slot order.
        private void Compact(int clusters)
        {
            var order = Enumerable.Range(0, clusters).Where(j => length[j] > 0).OrderBy(j => start[j]).ToArray();
            int at = 0;
            foreach (int j in order)
            {
                int shift = start[j] - at;
                if (shift > 0)
                {
                    for (int s = start[j]; s < start[j] + length[j]; s++) Move(s, s - shift, nearest[s]);
                    start[j] = at;
                    farthestSlot[j] -= shift;
                }
                at += length[j];
            }
            top = at;
        }

        private void Move(int from, int to, float distance)
        {
            Row(from).CopyTo(data.AsSpan(to * width, width));
            ids[to] = ids[from];
            norms[to] = norms[from];
            nearest[to] = distance;
        }

        private void SetCentre(int i, int slot)
        {
            Row(slot).CopyTo(centres.AsSpan(i * width, width));
            centreNorms[i] = norms[slot];
        }

        private Span<float> Row(int slot) => data.AsSpan(slot * width, width);

        private ReadOnlySpan<float> Centre(int i) => centres.AsSpan(i * width, width);

        // ‖a − b‖² = ‖a‖² + ‖b‖² − 2 a·b.
        private float DistanceToCentre(int slot, int i) => norms[slot] + centreNorms[i] - 2 * Dot(Row(slot), Centre(i));

        private float CentreGap(int i, int j) => centreNorms[i] + centreNorms[j] - 2 * Dot(Centre(i), Centre(j));

        // Four independent sums, so the additions do not wait on each other.
        private static float Dot(ReadOnlySpan<float> a, ReadOnlySpan<float> b)
        {
            var av = MemoryMarshal.Cast<float, Vector<float>>(a);
            var bv = MemoryMarshal.Cast<float, Vector<float>>(b);
            Vector<float> s0 = Vector<float>.Zero, s1 = s0, s2 = s0, s3 = s0;
            int v = 0;
            for (; v + 4 <= av.Length; v += 4)
            {
                s0 += av[v] * bv[v];
                s1 += av[v + 1] * bv[v + 1];
                s2 += av[v + 2] * bv[v + 2];
                s3 += av[v + 3] * bv[v + 3];
            }
            for (; v < av.Length; v++) s0 += av[v] * bv[v];
            float dot = Vector.Sum((s0 + s1) + (s2 + s3));
            for (int k = av.Length * Vector<float>.Count; k < a.Length; k++) dot += a[k] * b[k];
            return dot;
        }
    }
}
