namespace Fsac.MLNet.Evaluation;

/// <summary>Finds the categories of an anomaly data set in one of the supported <see cref="DatasetLayout"/>s.</summary>
public static class AnomalyDatasets
{
    private static readonly HashSet<string> ImageExtensions = new(StringComparer.OrdinalIgnoreCase)
        { ".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp", ".gif" };

    /// <summary>Parses a layout name: <c>mvtec</c>, <c>visa</c> or <c>folder</c>.</summary>
    /// <exception cref="ArgumentException">Unknown name.</exception>
    public static DatasetLayout ParseLayout(string name) => name.ToLowerInvariant() switch
    {
        "mvtec" => DatasetLayout.MVTec,
        "visa" => DatasetLayout.VisA,
        "folder" => DatasetLayout.Folder,
        _ => throw new ArgumentException($"Unknown data set layout '{name}'; use mvtec, visa or folder.", nameof(name)),
    };

    /// <summary>Every category under <paramref name="root"/>, sorted by name.</summary>
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
        foreach (var dir in Directory.EnumerateDirectories(root, "*", SearchOption.AllDirectories).Prepend(root))
        {
            var normal = Path.Combine(dir, "normal");
            var anomaly = Path.Combine(dir, "anomaly");
            if (!Directory.Exists(normal) || !Directory.Exists(anomaly)) continue;
            var normals = Images(normal);
            var test = normals.Select(p => new LabelledImage(p, false, "good"))
                .Concat(Images(anomaly).Select(p => new LabelledImage(p, true, "anomaly")))
                .ToList();
            result.Add(new DatasetCategory(Name(root, dir), normals, test));
        }
        return result.OrderBy(c => c.Name, StringComparer.Ordinal).ToList();
    }

    private static List<DatasetCategory> DiscoverTrainTest(string root)
    {
        var result = new List<DatasetCategory>();
        foreach (var dir in Directory.EnumerateDirectories(root).Order(StringComparer.Ordinal))
        {
            var good = Path.Combine(dir, "train", "good");
            var testDir = Path.Combine(dir, "test");
            if (!Directory.Exists(good) || !Directory.Exists(testDir)) continue;
            var test = Directory.EnumerateDirectories(testDir).Order(StringComparer.Ordinal)
                .SelectMany(t =>
                {
                    var type = Path.GetFileName(t);
                    return Images(t).Select(p => new LabelledImage(p, !type.Equals("good", StringComparison.OrdinalIgnoreCase), type));
                })
                .ToList();
            result.Add(new DatasetCategory(Name(root, dir), Images(good), test));
        }
        return result;
    }

    private static string Name(string root, string dir)
    {
        var rel = Path.GetRelativePath(root, dir).Replace('\\', '/');
        return rel == "." ? Path.GetFileName(Path.GetFullPath(root).TrimEnd('/')) : rel;
    }

    private static List<string> Images(string dir)
        => Directory.EnumerateFiles(dir)
            .Where(f => ImageExtensions.Contains(Path.GetExtension(f)))
            .Order(StringComparer.Ordinal)
            .ToList();
}
