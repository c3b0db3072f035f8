using Fsac.MLNet.Files;

namespace Fsac.MLNet.Evaluation.Datasets;

/// <summary>
/// Finds the categories of an anomaly data set in one of the supported <see cref="DatasetLayout"/>s, with the
/// ground-truth masks of the anomalous images where the data set has them. Symbolic links are followed, but a folder
/// reached twice (by its own path and through a link, or through a link that loops back) is read once, as is each file.
/// </summary>
public static class AnomalyDatasets
{
    private static readonly HashSet<string> ImageExtensions = new(StringComparer.OrdinalIgnoreCase)
        { ".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp", ".gif" };

    private static readonly StringComparer PathComparer =
        OperatingSystem.IsWindows() || OperatingSystem.IsMacOS() ? StringComparer.OrdinalIgnoreCase : StringComparer.Ordinal;

    /// <summary>Parses a layout name: <c>mvtec</c>, <c>visa</c> or <c>folder</c>.</summary>
    /// <exception cref="ArgumentException">Unknown name.</exception>
    public static DatasetLayout ParseLayout(string name) => name.ToLowerInvariant() switch
    {
        "mvtec" => DatasetLayout.MVTec,
        "visa" => DatasetLayout.VisA,
        "folder" => DatasetLayout.Folder,
        _ => throw new ArgumentException($"Unknown data set layout '{name}'; use mvtec, visa or folder.", nameof(name)),
    };

    /// <summary>
    /// Every category under <paramref name="root"/>, sorted by name.
    /// <list type="bullet">
    /// <item><description>MVTec and VisA: each folder holding <c>train/good</c> and <c>test/&lt;type&gt;</c>; the
    /// mask of <c>test/&lt;type&gt;/&lt;name&gt;.&lt;ext&gt;</c> is <c>ground_truth/&lt;type&gt;/&lt;name&gt;_mask.png</c>
    /// or <c>ground_truth/&lt;type&gt;/&lt;name&gt;.png</c>.</description></item>
    /// <item><description>Folder: each folder, at any depth, holding <c>normal/</c> and <c>anomaly/</c>. Anomalous
    /// images lie in <c>anomaly/</c> (type <c>anomaly</c>), in <c>anomaly/&lt;type&gt;/</c> subfolders, or both. When
    /// a <c>masks/</c> folder sits beside them, the mask of an image <c>&lt;name&gt;.&lt;ext&gt;</c> is
    /// <c>&lt;name&gt;_mask.png</c> or <c>&lt;name&gt;.png</c> in <c>masks/&lt;type&gt;/</c> (for a typed image) or
    /// in <c>masks/</c>.</description></item>
    /// </list>
    /// Normal images never have a mask; an anomalous image whose mask file is absent has a null
    /// <see cref="LabelledImage.MaskPath"/>.
    /// </summary>
    /// <exception cref="DirectoryNotFoundException">The root does not exist.</exception>
    /// <exception cref="InvalidDataException">No category of the given layout was found; the message says what was expected.</exception>
    public static IReadOnlyList<DatasetCategory> Discover(string root, DatasetLayout layout)
    {
        if (!Directory.Exists(root)) throw new DirectoryNotFoundException($"Data set folder not found: '{root}'.");
        var categories = layout == DatasetLayout.Folder ? DiscoverFolders(root) : DiscoverTrainTest(root);
        if (categories.Count == 0)
            throw new InvalidDataException(layout == DatasetLayout.Folder
                ? $"No category found under '{root}': expected folders holding 'normal/' and 'anomaly/' subfolders."
                : $"No category found under '{root}': expected '<category>/train/good' and '<category>/test/<type>' folders.");
        return categories;
    }

    private static List<DatasetCategory> DiscoverFolders(string root)
    {
        var result = new List<DatasetCategory>();
        foreach (var dir in AllDirectories(root))
        {
            var normal = Path.Combine(dir, "normal");
            var anomaly = Path.Combine(dir, "anomaly");
            if (!Directory.Exists(normal) || !Directory.Exists(anomaly)) continue;
            var masks = Path.Combine(dir, "masks");
            bool hasMasks = Directory.Exists(masks);
            var files = Images(normal).Select(f => (f, new LabelledImage(f.Path, false, "good"))).ToList();
            files.AddRange(Images(anomaly).Select(f => (f, new LabelledImage(f.Path, true, "anomaly", hasMasks ? FindMask([masks], f.Path) : null))));
            foreach (var typeDir in Subdirectories(anomaly))
            {
                var type = Path.GetFileName(typeDir);
                string[] maskFolders = hasMasks ? [Path.Combine(masks, type), masks] : [];
                files.AddRange(Images(typeDir).Select(f => (f, new LabelledImage(f.Path, true, type, FindMask(maskFolders, f.Path)))));
            }
            var test = Once(files);
            result.Add(new DatasetCategory(Name(root, dir), [.. test.Where(t => !t.IsAnomaly).Select(t => t.Path)], test));
        }
        return result.OrderBy(c => c.Name, StringComparer.Ordinal).ToList();
    }

    private static List<DatasetCategory> DiscoverTrainTest(string root)
    {
        var result = new List<DatasetCategory>();
        foreach (var dir in Subdirectories(root))
        {
            var good = Path.Combine(dir, "train", "good");
            var testDir = Path.Combine(dir, "test");
            if (!Directory.Exists(good) || !Directory.Exists(testDir)) continue;
            // A null label marks a training image.
            var files = Images(good).Select(f => (f, (f.Path, (LabelledImage?)null))).ToList();
            foreach (var typeDir in Subdirectories(testDir))
            {
                var type = Path.GetFileName(typeDir);
                bool isAnomaly = !type.Equals("good", StringComparison.OrdinalIgnoreCase);
                string[] maskFolders = isAnomaly ? [Path.Combine(dir, "ground_truth", type)] : [];
                files.AddRange(Images(typeDir).Select(f => (f, (f.Path, (LabelledImage?)new LabelledImage(f.Path, isAnomaly, type, FindMask(maskFolders, f.Path))))));
            }
            var kept = Once(files);
            result.Add(new DatasetCategory(Name(root, dir), [.. kept.Where(k => k.Item2 is null).Select(k => k.Item1)], [.. kept.Select(k => k.Item2).OfType<LabelledImage>()]));
        }
        return result.OrderBy(c => c.Name, StringComparer.Ordinal).ToList();
    }

    /// <summary>The first of <c>&lt;stem&gt;_mask.png</c> and <c>&lt;stem&gt;.png</c> that exists in the folders, in order.</summary>
    private static string? FindMask(IEnumerable<string> folders, string image)
    {
        var stem = Path.GetFileNameWithoutExtension(image);
        foreach (var folder in folders)
            foreach (var name in (string[])[stem + "_mask.png", stem + ".png"])
            {
                var path = Path.Combine(folder, name);
                if (File.Exists(path)) return path;
            }
        return null;
    }

    private static string Name(string root, string dir)
    {
        var rel = Path.GetRelativePath(root, dir).Replace('\\', '/');
        return rel == "." ? Path.GetFileName(Path.GetFullPath(root).TrimEnd('/', '\\')) : rel;
    }

    /// <summary>An image file, its path with every link resolved, and whether the file itself is a link.</summary>
    private readonly record struct ImageFile(string Path, string RealPath, bool IsLink);

    /// <summary>The images directly in <paramref name="dir"/>, sorted by path (broken links left out).</summary>
    private static List<ImageFile> Images(string dir)
    {
        var realDir = CanonicalPath.Of(dir);
        var result = new List<ImageFile>();
        if (realDir is null) return result;
        foreach (var file in Directory.EnumerateFiles(dir).Order(StringComparer.Ordinal))
        {
            if (!ImageExtensions.Contains(Path.GetExtension(file)) || !File.Exists(file)) continue;
            bool link = IsLink(file);
            var real = link ? CanonicalPath.Of(file) : Path.Combine(realDir, Path.GetFileName(file));
            if (real is not null) result.Add(new ImageFile(file, real, link));
        }
        return result;
    }

    /// <summary>
    /// The items, in order, of the files whose real path comes first: plain files win over links to them, and
    /// otherwise the earlier file wins.
    /// </summary>
    private static List<T> Once<T>(List<(ImageFile File, T Item)> files)
    {
        var seen = new HashSet<string>(PathComparer);
        var keep = new bool[files.Count];
        foreach (var links in (bool[])[false, true])
            for (int i = 0; i < files.Count; i++)
                if (files[i].File.IsLink == links && seen.Add(files[i].File.RealPath)) keep[i] = true;
        return [.. files.Where((_, i) => keep[i]).Select(f => f.Item)];
    }

    /// <summary>
    /// The subfolders of <paramref name="dir"/>, sorted by path, each real folder once: a link to a folder already
    /// listed (plain folders win over links) or to <paramref name="dir"/> or one of its ancestors is left out.
    /// </summary>
    private static List<string> Subdirectories(string dir)
    {
        var realDir = CanonicalPath.Of(dir);
        if (realDir is null) return [];
        var seen = new HashSet<string>(PathComparer) { realDir };
        var children = Directory.EnumerateDirectories(dir).Order(StringComparer.Ordinal).ToList();
        var result = new List<string>();
        foreach (var links in (bool[])[false, true])
            foreach (var child in children)
            {
                if (IsLink(child) != links) continue;
                var real = links ? CanonicalPath.Of(child) : Path.Combine(realDir, Path.GetFileName(child));
                if (real is null || IsWithin(realDir, real) || !seen.Add(real)) continue;
                result.Add(child);
            }
        return result.Order(StringComparer.Ordinal).ToList();
    }

    /// <summary>
    /// <paramref name="root"/> and every folder below it, each real folder once. Plain folders are walked first, then
    /// the folders reached through links, so a folder is listed under its own path when the walk finds it.
    /// </summary>
    private static List<string> AllDirectories(string root)
    {
        var visited = new HashSet<string>(PathComparer);
        var result = new List<string>();
        var links = new Queue<string>();
        var realRoot = CanonicalPath.Of(root);
        if (realRoot is null) return result;
        Walk(root, realRoot);
        while (links.TryDequeue(out var link))
            if (CanonicalPath.Of(link) is { } real && Directory.Exists(real)) Walk(link, real);
        return result;

        void Walk(string start, string realStart)
        {
            var stack = new Stack<(string Dir, string Real)>();
            stack.Push((start, realStart));
            while (stack.TryPop(out var item))
            {
                if (!visited.Add(item.Real)) continue;
                result.Add(item.Dir);
                foreach (var child in Directory.EnumerateDirectories(item.Dir).Order(StringComparer.Ordinal).Reverse())
                {
                    if (IsLink(child)) links.Enqueue(child);
                    else stack.Push((child, Path.Combine(item.Real, Path.GetFileName(child))));
                }
            }
        }
    }

    private static bool IsLink(string path) => new FileInfo(path).LinkTarget is not null;

    /// <summary>True when <paramref name="path"/> is <paramref name="folder"/> or lies below it.</summary>
    private static bool IsWithin(string path, string folder)
    {
        var comparison = PathComparer == StringComparer.Ordinal ? StringComparison.Ordinal : StringComparison.OrdinalIgnoreCase;
        var prefix = Path.EndsInDirectorySeparator(folder) ? folder : folder + Path.DirectorySeparatorChar;
        return string.Equals(path, folder, comparison) || path.StartsWith(prefix, comparison);
    }
}
