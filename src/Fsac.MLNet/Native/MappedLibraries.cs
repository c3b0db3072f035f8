namespace Fsac.MLNet.Native;

/// <summary>The files this process has mapped into memory, as Linux lists them in <c>/proc/self/maps</c>.</summary>
internal static class MappedLibraries
{
    private const string MapsPath = "/proc/self/maps";
    private const string DeletedSuffix = " (deleted)";

    /// <summary>
    /// The full paths of the mapped files whose name is one of <paramref name="fileNames"/>, each once, in address
    /// order, as the kernel names them (symbolic links resolved). Empty where there is no <c>/proc/self/maps</c>.
    /// </summary>
    public static IReadOnlyList<string> Find(IReadOnlyCollection<string> fileNames)
    {
        ArgumentNullException.ThrowIfNull(fileNames);
        if (!File.Exists(MapsPath)) return [];
        return Parse(File.ReadAllText(MapsPath), fileNames);
    }

    /// <summary>
    /// The paths in a <c>/proc/&lt;pid&gt;/maps</c> text whose file name is one of <paramref name="fileNames"/>, each once,
    /// in the order they first appear; the kernel's <c>(deleted)</c> mark on a replaced file is dropped.
    /// </summary>
    public static IReadOnlyList<string> Parse(string maps, IReadOnlyCollection<string> fileNames)
    {
        ArgumentNullException.ThrowIfNull(maps);
        ArgumentNullException.ThrowIfNull(fileNames);
        var found = new List<string>();
        foreach (var line in maps.Split('\n'))
        {
            // address perms offset dev inode path; the path, which may hold spaces, is the rest of the line.
            var fields = line.Split(' ', 6, StringSplitOptions.RemoveEmptyEntries);
            if (fields.Length < 6) continue;
            var path = fields[5].TrimStart();
            if (path.EndsWith(DeletedSuffix, StringComparison.Ordinal)) path = path[..^DeletedSuffix.Length];
            if (path.StartsWith('/') && fileNames.Contains(Path.GetFileName(path)) && !found.Contains(path)) found.Add(path);
        }
        return found;
    }
}
