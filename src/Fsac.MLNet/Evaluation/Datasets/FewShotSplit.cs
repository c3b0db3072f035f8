namespace Fsac.MLNet.Evaluation.Datasets;

/// <summary>
/// The paper's protocol for one category and seed: k normal shots drawn from the normal pool, and a test
/// set that never contains them.
/// </summary>
/// <param name="Shots">The k normal training images.</param>
/// <param name="Test">Every test image except the shots.</param>
public sealed record FewShotSplit(IReadOnlyList<string> Shots, IReadOnlyList<LabelledImage> Test)
{
    /// <summary>Draws <paramref name="shots"/> normal images with <paramref name="seed"/> (same seed, same shots).</summary>
    /// <exception cref="ArgumentOutOfRangeException">Fewer normal images than shots, or shots &lt; 1.</exception>
    public static FewShotSplit Draw(DatasetCategory category, int shots, int seed)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(shots, 1);
        if (category.NormalPool.Count < shots)
            throw new ArgumentOutOfRangeException(nameof(shots),
                $"Category '{category.Name}' has {category.NormalPool.Count} normal images, fewer than the {shots} shots asked for.");
        var rng = new Random(seed);
        var pool = category.NormalPool.ToArray();
        // Partial Fisher-Yates: the first k entries are a uniform sample.
        for (int i = 0; i < shots; i++)
        {
            int j = rng.Next(i, pool.Length);
            (pool[i], pool[j]) = (pool[j], pool[i]);
        }
        var chosen = pool.Take(shots).ToArray();
        var excluded = chosen.ToHashSet(StringComparer.Ordinal);
        return new FewShotSplit(chosen, category.Test.Where(t => !excluded.Contains(t.Path)).ToList());
    }
}
