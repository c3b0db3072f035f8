using TorchSharp;
using static TorchSharp.torch;

namespace Fsac.MLNet.PatchCore;

/// <summary>
/// PatchCore's memory bank: normal patch features <c>[M, C]</c> and the nearest-neighbour search over them. Pure
/// math on tensors: distances are Euclidean, computed as batched matrix products
/// (‖q‖² + ‖m‖² − 2 q·mᵀ) over query chunks, never per patch.
/// </summary>
public sealed class PatchMemory : IDisposable
{
    // Elements of one distance block (queries × memory): 16 M floats, 64 MB.
    private const long BlockElements = 16L << 20;

    private readonly Tensor squaredNorms;

    /// <summary>Keeps a float32 copy of <paramref name="bank"/> <c>[M, C]</c> (M ≥ 1); the caller keeps the argument.</summary>
    /// <exception cref="ArgumentException">The bank is not a non-empty matrix.</exception>
    public PatchMemory(Tensor bank)
    {
        ArgumentNullException.ThrowIfNull(bank);
        if (bank.ndim != 2 || bank.shape[0] < 1 || bank.shape[1] < 1)
            throw new ArgumentException($"A memory bank is [M, C] with M, C >= 1; got [{string.Join(", ", bank.shape)}].", nameof(bank));
        using var detached = bank.detach();
        Bank = detached.to_type(ScalarType.Float32, copy: true).contiguous().DetachFromDisposeScope();
        squaredNorms = Bank.square().sum(1).DetachFromDisposeScope();
    }

    /// <summary>The memory, <c>[M, C]</c> float32.</summary>
    public Tensor Bank { get; }

    /// <summary>M, the number of patches held.</summary>
    public long Count => Bank.shape[0];

    /// <summary>C, the feature width.</summary>
    public long Channels => Bank.shape[1];

    /// <summary>Size of the bank in bytes.</summary>
    public long Bytes => Count * Channels * sizeof(float);

    /// <summary>
    /// The distance of each query row <c>[Q, C]</c> to its nearest memory patch, <c>[Q]</c> float32, without gradients
    /// unless <paramref name="queries"/> requires grad (then the result is differentiable with respect to it).
    /// </summary>
    /// <exception cref="ArgumentException">The queries are not <c>[Q, C]</c>.</exception>
    public Tensor NearestDistances(Tensor queries)
    {
        ArgumentNullException.ThrowIfNull(queries);
        if (queries.ndim != 2 || queries.shape[1] != Channels)
            throw new ArgumentException($"Queries must be [Q, {Channels}]; got [{string.Join(", ", queries.shape)}].", nameof(queries));
        using var scope = NewDisposeScope();
        long q = queries.shape[0];
        long chunk = Math.Max(1, BlockElements / Count);
        var parts = new List<Tensor>();
        for (long start = 0; start < q; start += chunk)
        {
            // Each block's [chunk, M] temporaries are freed before the next block is computed.
            using var step = NewDisposeScope();
            var block = queries.narrow(0, start, Math.Min(chunk, q - start));
            // ‖q − m‖² = ‖q‖² + ‖m‖² − 2 q·m, minimised over m; in place where no gradient is asked for.
            var products = block.matmul(Bank.t());
            var combined = queries.requires_grad ? squaredNorms.unsqueeze(0) - 2 * products : products.mul_(-2).add_(squaredNorms.unsqueeze(0));
            var nearest = combined.amin([1]);
            // The floor keeps the gradient of sqrt finite for a query that equals a memory row.
            parts.Add((nearest + block.square().sum(1)).clamp_min(1e-12).sqrt().MoveToOuterDisposeScope());
        }
        var result = parts.Count == 0 ? zeros(0) : parts.Count == 1 ? parts[0] : cat(parts, 0);
        return result.MoveToOuterDisposeScope();
    }

    /// <inheritdoc />
    public void Dispose()
    {
        Bank.Dispose();
        squaredNorms.Dispose();
    }
}
