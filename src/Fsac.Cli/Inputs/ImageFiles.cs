namespace Fsac.Cli.Inputs;

/// <summary>Expands the image files and folders given on the command line into a sorted list of files.</summary>
public static class ImageFiles
{
    /// <summary>The file extensions taken from folders (files named directly are taken whatever their extension).</summary>
    public static IReadOnlyList<string> Extensions { get; } = [".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp", ".tga"];

    /// <summary>
    /// Each file as given, and every image file under each folder (recursively, ordinal order), without duplicates.
    /// </summary>
    /// <exception cref="FileNotFoundException">A path is neither a file nor a folder.</exception>
    /// <exception cref="ArgumentException">No path was given, or the folders hold no image file.</exception>
    public static IReadOnlyList<string> Expand(IReadOnlyList<string> paths, string what)
    {
        if (paths.Count == 0) throw new ArgumentException($"no {what} given.");
        var files = new List<string>();
        foreach (var path in paths)
        {
            if (File.Exists(path)) files.Add(path);
            else if (Directory.Exists(path))
                files.AddRange(Directory.EnumerateFiles(path, "*", SearchOption.AllDirectories)
                    .Where(f => Extensions.Contains(Path.GetExtension(f).ToLowerInvariant()))
                    .Order(StringComparer.Ordinal));
            else throw new FileNotFoundException($"{what}: '{path}' is neither a file nor a folder.", path);
        }
        var distinct = files.DistinctBy(Path.GetFullPath).ToList();
        if (distinct.Count == 0)
            throw new ArgumentException($"no image files ({string.Join(", ", Extensions)}) in {string.Join(", ", paths.Select(p => $"'{p}'"))}.");
        return distinct;
    }
}
