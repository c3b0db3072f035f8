namespace Fsac.MLNet.Files;

/// <summary>
/// A path with every symbolic link in it resolved, like realpath(3): the identity of a file or folder however it is
/// reached. <c>..</c> in a link's target is taken lexically, against the link's own (resolved) folder.
/// </summary>
public static class CanonicalPath
{
    /// <summary>The most links followed in one path, as Linux allows before ELOOP.</summary>
    private const int MaxLinks = 40;

    /// <summary>
    /// The absolute path of <paramref name="path"/> through no symbolic link (whether or not it exists), or null when
    /// resolving it takes more than 40 links: a loop.
    /// </summary>
    public static string? Of(string path)
    {
        int links = 0;
        return Resolve(Path.TrimEndingDirectorySeparator(Path.GetFullPath(path)), ref links);
    }

    /// <summary>The canonical path of what <paramref name="path"/> leads to; null for a dangling link or a loop of links.</summary>
    public static string? OfExisting(string path)
        => Of(path) is { } canonical && (File.Exists(canonical) || Directory.Exists(canonical)) ? canonical : null;

    private static string? Resolve(string full, ref int links)
    {
        var parent = Path.GetDirectoryName(full);
        if (parent is null) return full;
        if (Resolve(parent, ref links) is not { } folder) return null;
        var candidate = Path.Combine(folder, Path.GetFileName(full));
        if (new FileInfo(candidate).LinkTarget is not { } target) return candidate;
        if (++links > MaxLinks) return null;
        return Resolve(Path.TrimEndingDirectorySeparator(Path.GetFullPath(target, folder)), ref links);
    }
}
