using Fsac.MLNet.Encoders;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.PixelFormats;

namespace Fsac.MLNet.Classifiers;

/// <summary>How much of each patch of a grid a defect mask covers.</summary>
internal static class MaskCoverage
{
    /// <summary>
    /// The share of each grid cell's image pixels (row-major cells) that the mask marks (non-zero), the cells placed on
    /// the image through the grid's layout; every cell spans at least one pixel, so a 1-pixel scratch still counts.
    /// </summary>
    public static float[] OfGrid(Image<L8> mask, PatchGrid grid)
    {
        var layout = grid.Layout;
        var r = layout.Region;
        var coverage = new float[grid.Count];
        mask.ProcessPixelRows(rows =>
        {
            for (int i = 0; i < grid.Rows; i++)
            {
                var (y0, y1) = Span(r.Y, r.Height, i, grid.Rows, mask.Height);
                for (int j = 0; j < grid.Columns; j++)
                {
                    var (x0, x1) = Span(r.X, r.Width, j, grid.Columns, mask.Width);
                    int hits = 0;
                    for (int y = y0; y < y1; y++)
                    {
                        var row = rows.GetRowSpan(y);
                        for (int x = x0; x < x1; x++) if (row[x].PackedValue > 0) hits++;
                    }
                    int area = Math.Max(1, (y1 - y0) * (x1 - x0));
                    coverage[i * grid.Columns + j] = hits / (float)area;
                }
            }
        });
        return coverage;
    }

    // Pixels [start, end) of cell `index` of `count` along a region side, clipped to the image, at least one pixel wide.
    private static (int Start, int End) Span(float origin, float length, int index, int count, int size)
    {
        int start = Math.Clamp((int)Math.Floor(origin + length * index / count), 0, size - 1);
        int end = Math.Clamp((int)Math.Ceiling(origin + length * (index + 1) / count), start + 1, size);
        return (start, end);
    }
}
