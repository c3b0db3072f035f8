using Fsac.MLNet.Native;
using System.Numerics;
using TorchSharp;
using static TorchSharp.torch;

namespace Fsac.MLNet.PatchCore;

/// <summary>
/// PatchCore's memory bank: normal patch features <c>[M, C]</c> and the nearest-neighbour search over them. Pure
/// math on tensors: distances come from batched matrix products over query blocks, never per patch. In float32 they
/// are ‖q‖² + ‖m‖² − 2 q·mᵀ; with <see cref="SearchPrecision.BFloat16"/> one bfloat16 product of
/// <c>[q − μ, 1]</c> and <c>[m − μ, −‖m − μ‖²/2]</c> (μ the memory's mean) ranks the memory, and the exact float32
/// distances to the best <see cref="Candidates"/> rows decide.
/// </summary>
public sealed class PatchMemory : IDisposable
{
    /// <summary>Memory rows re-checked in float32 per query in a bfloat16 search.</summary>
    public const int Candidates = 4;

    // Elements of one distance block (queries × memory): 4 M values, which stay in cache better than larger blocks.
    private const long BlockElements = 4L << 20;

    // bfloat16 ranking rows are padded with zeros to a multiple of this width, which the matrix kernels prefer.
    private const int RankingAlignment = 16;

    // The ranking score of the rows that pad the memory to a steady size: below any real row's, so never a candidate.
    private const float NeverRanked = -1e30f;

    private readonly Tensor squaredNorms;
    private readonly Tensor? ranking;
    private readonly Tensor? centre;

    /// <summary>
    /// Keeps a float32 copy of <paramref name="bank"/> <c>[M, C]</c> (M ≥ 1), and for a bfloat16 search its ranking
    /// rows; the caller keeps the argument.
    /// </summary>
    /// <exception cref="ArgumentException">The bank is not a non-empty matrix.</exception>
    public PatchMemory(Tensor bank, SearchPrecision precision = SearchPrecision.Float32)
    {
        ArgumentNullException.ThrowIfNull(bank);
        if (bank.ndim != 2 || bank.shape[0] < 1 || bank.shape[1] < 1)
            throw new ArgumentException($"A memory bank is [M, C] with M, C >= 1; got [{string.Join(", ", bank.shape)}].", nameof(bank));
        if (!Enum.IsDefined(precision)) throw new ArgumentOutOfRangeException(nameof(precision), precision, "unknown search precision.");
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        Bank = bank.detach().to_type(ScalarType.Float32, copy: true).contiguous().DetachFromDisposeScope();
        squaredNorms = Bank.square().sum(1).DetachFromDisposeScope();
        Precision = Resolve(precision);
        if (Precision == SearchPrecision.BFloat16)
        {
            // Distances do not change when the memory's mean is subtracted from both sides, but the norms shrink, and
            // with them the rounding error of the bfloat16 ranking (features that are all positive share a large mean).
            centre = Bank.mean([0], keepdim: true).DetachFromDisposeScope();
            var centred = Bank - centre;
            long width = Padded(Channels + 1);
            var rows = nn.functional.pad(cat([centred, centred.square().sum(1, keepdim: true).mul_(-0.5)], 1),
                [0, width - Channels - 1, 0, SteadyRows(Count) - Count]);
            rows.narrow(0, Count, rows.shape[0] - Count).select(1, Channels).fill_(NeverRanked);
            ranking = rows.to_type(ScalarType.BFloat16).contiguous().DetachFromDisposeScope();
        }
    }

    /// <summary>The memory, <c>[M, C]</c> float32.</summary>
    public Tensor Bank { get; }

    /// <summary>How this memory searches: <see cref="SearchPrecision.Float32"/> or <see cref="SearchPrecision.BFloat16"/>, never Auto.</summary>
    public SearchPrecision Precision { get; }

    /// <summary>M, the number of patches held.</summary>
    public long Count => Bank.shape[0];

    /// <summary>C, the feature width.</summary>
    public long Channels => Bank.shape[1];

    /// <summary>Size of the bank in bytes (float32), not counting the bfloat16 ranking copy a bfloat16 search adds.</summary>
    public long Bytes => Count * Channels * sizeof(float);

    /// <summary>The precision <paramref name="precision"/> stands for on this CPU.</summary>
    public static SearchPrecision Resolve(SearchPrecision precision)
        => precision != SearchPrecision.Auto ? precision : CpuFeatures.HasNativeBFloat16 ? SearchPrecision.BFloat16 : SearchPrecision.Float32;

    /// <summary>
    /// The distance of each query row <c>[Q, C]</c> to its nearest memory patch, <c>[Q]</c> float32, without gradients
    /// unless <paramref name="queries"/> requires grad (then the result is differentiable with respect to it, and the
    /// search is float32).
    /// </summary>
    /// <exception cref="ArgumentException">The queries are not <c>[Q, C]</c>.</exception>
    public Tensor NearestDistances(Tensor queries)
    {
        ArgumentNullException.ThrowIfNull(queries);
        if (queries.ndim != 2 || queries.shape[1] != Channels)
            throw new ArgumentException($"Queries must be [Q, {Channels}]; got [{string.Join(", ", queries.shape)}].", nameof(queries));
        using var scope = NewDisposeScope();
        long q = queries.shape[0];
        bool ranked = ranking is not null && !queries.requires_grad;
        long chunk = Math.Max(1, BlockElements / (ranked ? ranking!.shape[0] : Count));
        var parts = new List<Tensor>();
        for (long start = 0; start < q; start += chunk)
        {
            // Each block's [chunk, M] temporaries are freed before the next block is computed.
            using var step = NewDisposeScope();
            var block = queries.narrow(0, start, Math.Min(chunk, q - start));
            parts.Add((ranked ? RankedSquaredDistances(block) : SquaredDistances(block)).clamp_min(1e-12).sqrt().MoveToOuterDisposeScope());
        }
        var result = parts.Count == 0 ? zeros(0) : parts.Count == 1 ? parts[0] : cat(parts, 0);
        return result.MoveToOuterDisposeScope();
    }

    // ‖q − m‖² = ‖q‖² + ‖m‖² − 2 q·m, minimised over m; in place where no gradient is asked for. The floor applied by the
    // caller keeps the gradient of sqrt finite for a query that equals a memory row.
    private Tensor SquaredDistances(Tensor block)
    {
        var products = block.matmul(Bank.t());
        var combined = block.requires_grad ? squaredNorms.unsqueeze(0) - 2 * products : products.mul_(-2).add_(squaredNorms.unsqueeze(0));
        return combined.amin([1]) + block.square().sum(1);
    }

    // q·m − ‖m‖²/2 (both centred) is largest where ‖q − m‖ is smallest; one bfloat16 product ranks the memory, and the
    // exact float32 distances to the best candidates (differences, not the expanded form) give the result.
    private Tensor RankedSquaredDistances(Tensor block)
    {
        using var noGrad = no_grad();
        long rows = block.shape[0], width = ranking!.shape[1];
        var query = nn.functional.pad(cat([block - centre!, ones(rows, 1)], 1), [0, width - Channels - 1, 0, SteadyRows(rows) - rows])
            .to_type(ScalarType.BFloat16);
        var scores = query.matmul(ranking.t()).narrow(0, 0, rows);
        int candidates = (int)Math.Min(Candidates, Count);
        var best = scores.topk(candidates, dim: 1, largest: true, sorted: false).indexes;
        var rowsOfBank = Bank.index_select(0, best.flatten()).view(rows, candidates, Channels);
        return rowsOfBank.sub_(block.unsqueeze(1)).pow_(2).sum(2).amin([1]);
    }

    /// <summary>
    /// <paramref name="rows"/> rounded up to one of 8 sizes per octave (at most 12.5 % more, multiples of 16), the rows
    /// of the bfloat16 product: libtorch's bfloat16 matrix kernels keep compiled code for every shape they meet, so
    /// memories and query blocks of ever-new sizes (each fit's held-out memories) grew a long-running process by about
    /// 0.7 MB per fit; steady sizes bound that.
    /// </summary>
    internal static long SteadyRows(long rows)
    {
        long step = Math.Max(16, (1L << BitOperations.Log2((ulong)rows)) / 8);
        return (rows + step - 1) / step * step;
    }

    private static long Padded(long width) => (width + RankingAlignment - 1) / RankingAlignment * RankingAlignment;

    /// <inheritdoc />
    public void Dispose()
    {
        Bank.Dispose();
        squaredNorms.Dispose();
        ranking?.Dispose();
        centre?.Dispose();
    }
}
