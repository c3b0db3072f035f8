using SixLabors.ImageSharp;
using SixLabors.ImageSharp.PixelFormats;

namespace Fsac.MLNet.Evaluation.Datasets;

/// <summary>
/// Renders a small anomaly data set in the plain folder layout (<c>&lt;category&gt;/normal</c>,
/// <c>&lt;category&gt;/anomaly</c>) so that the tools can be tried where no real images are at hand. Two
/// categories: <c>tiles</c> (a regular grid texture; defects are cracks and stains) and <c>washers</c> (a ring-shaped
/// part on a plain background; defects are notches and spots). Normal images vary in lighting, position and noise.
/// Deterministic for a seed.
/// </summary>
public static class DemoDataset
{
    /// <summary>Category names, in the order they are rendered.</summary>
    public static IReadOnlyList<string> Categories { get; } = ["tiles", "washers"];

    /// <summary>Writes <paramref name="normals"/> normal and <paramref name="anomalies"/> anomalous PNGs per category under <paramref name="root"/>.</summary>
    /// <returns>The root folder.</returns>
    public static string Render(string root, int normals = 24, int anomalies = 12, int size = 192, int seed = 0)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(normals, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(anomalies, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(size, 32);
        for (int c = 0; c < Categories.Count; c++)
        {
            // A fixed formula, not HashCode.Combine: that one is salted per process, so the same seed gave other images in every run.
            string category = Categories[c];
            var rng = new Random(unchecked(seed * 7919 + c + 1));
            foreach (var (folder, count, defective) in new[] { ("normal", normals, false), ("anomaly", anomalies, true) })
            {
                var dir = Directory.CreateDirectory(Path.Combine(root, category, folder)).FullName;
                for (int i = 0; i < count; i++)
                {
                    using var image = category == "tiles" ? Tiles(size, rng) : Washer(size, rng);
                    if (defective) Defect(image, rng, onRing: category == "washers");
                    image.SaveAsPng(Path.Combine(dir, $"{folder}-{i:D3}.png"));
                }
            }
        }
        return root;
    }

    private static Image<Rgb24> Tiles(int size, Random rng)
    {
        double light = 0.85 + 0.3 * rng.NextDouble();
        int period = 24 + rng.Next(3), dx = rng.Next(period), dy = rng.Next(period);
        var image = new Image<Rgb24>(size, size);
        image.ProcessPixelRows(rows =>
        {
            for (int y = 0; y < rows.Height; y++)
            {
                var row = rows.GetRowSpan(y);
                for (int x = 0; x < row.Length; x++)
                {
                    bool grout = (x + dx) % period < 3 || (y + dy) % period < 3;
                    double v = (grout ? 95 : 175) * light + rng.Next(-8, 9);
                    row[x] = Pixel(v, v * 0.95, v * 0.85);
                }
            }
        });
        return image;
    }

    private static Image<Rgb24> Washer(int size, Random rng)
    {
        double light = 0.85 + 0.3 * rng.NextDouble();
        double cx = size / 2.0 + rng.Next(-6, 7), cy = size / 2.0 + rng.Next(-6, 7);
        double outer = size * 0.38, inner = size * 0.16;
        var image = new Image<Rgb24>(size, size);
        image.ProcessPixelRows(rows =>
        {
            for (int y = 0; y < rows.Height; y++)
            {
                var row = rows.GetRowSpan(y);
                for (int x = 0; x < row.Length; x++)
                {
                    double r = Math.Sqrt((x - cx) * (x - cx) + (y - cy) * (y - cy));
                    bool metal = r >= inner && r <= outer;
                    double v = (metal ? 150 + 40 * Math.Cos((x - cx) * 0.05) : 45) * light + rng.Next(-6, 7);
                    row[x] = metal ? Pixel(v, v, v * 1.05) : Pixel(v * 0.9, v, v * 1.1);
                }
            }
        });
        return image;
    }

    /// <summary>A crack (a dark random walk) or a stain (a soft coloured blob); on washers near the ring.</summary>
    private static void Defect(Image<Rgb24> image, Random rng, bool onRing)
    {
        int size = image.Width;
        double angle = rng.NextDouble() * 2 * Math.PI, radius = size * 0.27;
        int x = onRing ? (int)(size / 2 + radius * Math.Cos(angle)) : rng.Next(size / 5, 4 * size / 5);
        int y = onRing ? (int)(size / 2 + radius * Math.Sin(angle)) : rng.Next(size / 5, 4 * size / 5);
        if (rng.Next(2) == 0)
        {
            double heading = rng.NextDouble() * 2 * Math.PI;
            for (int step = 0; step < size / 3; step++)
            {
                for (int t = -1; t <= 1; t++)
                    Paint(image, x + t, y, 25, 20, 20);
                heading += (rng.NextDouble() - 0.5) * 0.6;
                int nx = x + (int)Math.Round(Math.Cos(heading) * 1.5), ny = y + (int)Math.Round(Math.Sin(heading) * 1.5);
                if (nx < 2 || ny < 2 || nx >= size - 2 || ny >= size - 2)
                {
                    heading += Math.PI; // turn back at the border so that every crack has its full length inside the image
                    continue;
                }
                (x, y) = (nx, ny);
            }
        }
        else
        {
            int r = size / 14 + rng.Next(size / 20 + 1);
            for (int v = -r; v <= r; v++)
                for (int u = -r; u <= r; u++)
                    if (u * u + v * v <= r * r)
                        Paint(image, x + u, y + v, 150, 85, 40);
        }
    }

    private static void Paint(Image<Rgb24> image, int x, int y, byte r, byte g, byte b)
    {
        if (x >= 0 && y >= 0 && x < image.Width && y < image.Height) image[x, y] = new Rgb24(r, g, b);
    }

    private static Rgb24 Pixel(double r, double g, double b)
        => new((byte)Math.Clamp(r, 0, 255), (byte)Math.Clamp(g, 0, 255), (byte)Math.Clamp(b, 0, 255));
}
