using System.Reflection;
using Microsoft.ML;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.PixelFormats;
using SixLabors.ImageSharp.Processing;

namespace Fsac.MLNet.Tests.MLNet;

/// <summary>A row of a labelled image list: file path and label (true = anomalous).</summary>
public sealed class ImageRow
{
    public string ImagePath { get; set; } = "";
    public bool Label { get; set; }
}

/// <summary>Input of a prediction engine over file paths.</summary>
public sealed class ImagePathInput
{
    public string ImagePath { get; set; } = "";
}

/// <summary>Real cookie photographs from the shared data folder, and small derived images in a temporary folder.</summary>
public static class TestData
{
    /// <summary><paramref name="normals"/> normal and <paramref name="anomalies"/> anomalous cookies, normals first.</summary>
    public static ImageRow[] Cookies(int normals, int anomalies) =>
        Enumerable.Range(1, normals).Select(i => Row("normal", $"normal-{i}.jpg", false))
            .Concat(Enumerable.Range(1, anomalies).Select(i => Row("anomaly", $"anomaly-{i}.jpg", true)))
            .ToArray();

    public static IDataView View(MLContext ml, IEnumerable<ImageRow> rows) => ml.Data.LoadFromEnumerable(rows.ToList());

    /// <summary>ML.NET's own (internal) conversion of a schema to the shape its estimators check.</summary>
    public static SchemaShape ShapeOf(DataViewSchema schema) =>
        (SchemaShape)typeof(SchemaShape).GetMethod("Create", BindingFlags.Static | BindingFlags.NonPublic, [typeof(DataViewSchema)])!
            .Invoke(null, [schema])!;

    /// <summary>
    /// Cookie photographs shrunk to 48x64 and written as PNG (lossless, so every decoder reads the same pixels)
    /// into <paramref name="folder"/>.
    /// </summary>
    public static ImageRow[] SmallPngCookies(string folder, int normals, int anomalies) =>
        Cookies(normals, anomalies).Select(row =>
        {
            using var image = Image.Load<Rgb24>(row.ImagePath);
            image.Mutate(x => x.Resize(48, 64));
            var path = Path.Combine(folder, Path.GetFileNameWithoutExtension(row.ImagePath) + ".png");
            image.SaveAsPng(path);
            return new ImageRow { ImagePath = path, Label = row.Label };
        }).ToArray();

    public static string TempFolder()
    {
        var folder = Path.Combine(Path.GetTempPath(), "fsac-mlnet-tests-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(folder);
        return folder;
    }

    private static ImageRow Row(string kind, string file, bool label) =>
        new() { ImagePath = SharedData.Path("data", "cookies", kind, file), Label = label };
}
