using Fsac.MLNet.Files;

namespace Fsac.Cli.Inputs;

/// <summary>
/// Expands the image files and folders given on the command line into a list of files: each file once, however many
/// paths or symbolic links reach it, and each folder walked once, so that a link back up the tree ends the walk.
/// </summary>
public static class ImageFiles
{
    /// <summary>The file extensions taken from folders (files named directly are taken whatever their extension).</summary>
    public static IReadOnlyList<string> Extensions { get; } = [".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp", ".tga"];

    /// <summary>
    /// Each file as given, and every image file under each folder (recursively, following links into folders not yet
    /// walked; in ordinal order of the paths as reached), each file once: the first path that reaches it is kept.
    /// </summary>
    /// <exception cref="FileNotFoundException">A path is neither a file nor a folder.</exception>
    /// <exception cref="ArgumentException">No path was given, or the folders hold no image file.</exception>
    public static IReadOnlyList<string> Expand(IReadOnlyList<string> paths, string what)
    {
        if (paths.Count == 0) throw new ArgumentException($"no {what} given.");
        var files = new List<string>();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        var walked = new HashSet<string>(StringComparer.Ordinal);
        foreach (var path in paths)
        {
            if (File.Exists(path))
            {
                // A looping link has no canonical path; kept as given, it fails to load with its name.
                if (seen.Add(CanonicalPath.Of(path) ?? Path.GetFullPath(path))) files.Add(path);
            }
            else if (Directory.Exists(path))
                files.AddRange(Walk(path, walked).Where(f => seen.Add(f.Identity)).Select(f => f.Path));
            else throw new FileNotFoundException($"{what}: '{path}' is neither a file nor a folder.", path);
        }
        if (files.Count == 0)
            throw new ArgumentException($"no image files ({string.Join(", ", Extensions)}) in {string.Join(", ", paths.Select(p => $"'{p}'"))}.");
        return files;
    }

    /// <summary>
    /// The image files under <paramref name="root"/> with their canonical paths, depth first in ordinal order, skipping
    /// folders in <paramref name="walked"/> (and adding the ones walked) and links that lead nowhere.
    /// </summary>
    private static List<(string Path, string Identity)> Walk(string root, HashSet<string> walked)
    {
        var found = new List<(string Path, string Identity)>();
        var pending = new Stack<(string Path, string Identity)>();
        pending.Push((root, CanonicalPath.Of(root)!));
        while (pending.TryPop(out var folder))
        {
            if (!walked.Add(folder.Identity)) continue;
            var subfolders = new List<(string Path, string Identity)>();
            foreach (var entry in new DirectoryInfo(folder.Path).EnumerateFileSystemInfos().OrderBy(e => e.Name, StringComparer.Ordinal))
            {
                var reached = Path.Combine(folder.Path, entry.Name);
                bool isLink = entry.LinkTarget is not null;
                var identity = isLink ? CanonicalPath.OfExisting(reached) : Path.Combine(folder.Identity, entry.Name);
                if (identity is null) continue; // a dangling link, or a loop of links
                if (isLink ? Directory.Exists(identity) : entry is DirectoryInfo) subfolders.Add((reached, identity));
                else if (Extensions.Contains(Path.GetExtension(entry.Name).ToLowerInvariant())) found.Add((reached, identity));
            }
            for (int i = subfolders.Count - 1; i >= 0; i--) pending.Push(subfolders[i]);
        }
        found.Sort((a, b) => string.CompareOrdinal(a.Path, b.Path));
        return found;
    }
}
