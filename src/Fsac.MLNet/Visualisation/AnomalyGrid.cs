using Fsac.MLNet.Synthesis;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.PixelFormats;
using SixLabors.ImageSharp.Processing;

namespace Fsac.MLNet.Visualisation;

/// <summary>A contact sheet for looking at synthetic anomalies.</summary>
public static class AnomalyGrid
{
    /// <summary>Gap between tiles, in pixels.</summary>
    public const int Gap = 4;

    private static readonly Rgb24 Background = new(48, 48, 48);

    /// <summary>
    /// Lays out two rows of tiles on a dark grey background: the original followed by the anomalies on top; below
    /// them the foreground mask (or nothing) followed by each anomaly's change mask. Every tile is the image scaled to
    /// fit <paramref name="tileSize"/> x <paramref name="tileSize"/> (bicubic when shrinking, nearest neighbour when
    /// enlarging and for masks); tiles are <see cref="Gap"/> pixels apart.
    /// </summary>
    /// <param name="original">The normal image.</param>
    /// <param name="anomalies">Anomalies made from it (same size).</param>
    /// <param name="foreground">Optional foreground mask shown under the original.</param>
    /// <param name="tileSize">Longest side of a tile, at least 8. Default 320.</param>
    /// <exception cref="ArgumentException">An anomaly or the mask is not the original's size.</exception>
    public static Image<Rgb24> Compose(Image<Rgb24> original, IReadOnlyList<SyntheticAnomaly> anomalies, Image<L8>? foreground = null, int tileSize = 320)
    {
        ArgumentNullException.ThrowIfNull(original);
        ArgumentNullException.ThrowIfNull(anomalies);
        ArgumentOutOfRangeException.ThrowIfLessThan(tileSize, 8);
        for (int i = 0; i < anomalies.Count; i++)
        {
            var a = anomalies[i];
            if (a.Image.Size() != original.Size() || a.Mask.Size() != original.Size())
                throw new ArgumentException($"Anomaly {i} is {a.Image.Width}x{a.Image.Height} but the original is {original.Width}x{original.Height}.", nameof(anomalies));
        }
        if (foreground is not null && foreground.Size() != original.Size())
            throw new ArgumentException($"The foreground mask is {foreground.Width}x{foreground.Height} but the original is {original.Width}x{original.Height}.", nameof(foreground));

        double scale = (double)tileSize / Math.Max(original.Width, original.Height);
        var tile = new Size(Math.Max(1, (int)Math.Round(original.Width * scale)), Math.Max(1, (int)Math.Round(original.Height * scale)));
        int columns = 1 + anomalies.Count;
        var grid = new Image<Rgb24>(columns * tile.Width + (columns + 1) * Gap, 2 * tile.Height + 3 * Gap, Background);
        Place(grid, original, tile, 0, 0, isMask: false);
        if (foreground is not null) Place(grid, foreground, tile, 0, 1, isMask: true);
        for (int i = 0; i < anomalies.Count; i++)
        {
            Place(grid, anomalies[i].Image, tile, i + 1, 0, isMask: false);
            Place(grid, anomalies[i].Mask, tile, i + 1, 1, isMask: true);
        }
        return grid;
    }

    private static void Place(Image<Rgb24> grid, Image image, Size tile, int column, int row, bool isMask)
    {
        using var scaled = image.CloneAs<Rgb24>();
        var sampler = isMask || tile.Width > image.Width ? KnownResamplers.NearestNeighbor : KnownResamplers.Bicubic;
        scaled.Mutate(x => x.Resize(tile.Width, tile.Height, sampler));
        var at = new Point(Gap + column * (tile.Width + Gap), Gap + row * (tile.Height + Gap));
        grid.Mutate(x => x.DrawImage(scaled, at, 1f));
    }
}
