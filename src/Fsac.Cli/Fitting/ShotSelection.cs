namespace Fsac.Cli.Fitting;

/// <summary>Which normal images a fit uses: all of them when there are at most k, else a seeded sample of k.</summary>
/// <param name="Shots">The chosen files, in the order given.</param>
/// <param name="Available">How many normal images there were.</param>
public sealed record ShotSelection(IReadOnlyList<string> Shots, int Available)
{
    /// <summary>True when the shots are a sample of more images.</summary>
    public bool Sampled => Shots.Count < Available;

    /// <summary>Picks <paramref name="k"/> of <paramref name="files"/>: the same seed and files give the same shots.</summary>
    /// <exception cref="ArgumentException">Fewer than <paramref name="k"/> files were given.</exception>
    public static ShotSelection Choose(IReadOnlyList<string> files, int k, int seed)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(k, 1);
        if (files.Count < k)
            throw new ArgumentException($"--shots {k} needs {k} normal images but only {files.Count} were found; lower --shots or add images.");
        if (files.Count == k) return new ShotSelection(files, files.Count);
        var indices = Enumerable.Range(0, files.Count).ToArray();
        new Random(seed).Shuffle(indices);
        return new ShotSelection([.. indices.Take(k).Order().Select(i => files[i])], files.Count);
    }
}
