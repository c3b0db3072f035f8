using System.Globalization;
using SixLabors.ImageSharp.PixelFormats;

namespace Fsac.Cli.Reporting;

/// <summary>
/// One chart in a rectangle of a <see cref="RasterCanvas"/>: a title, a framed plot area with linear x and y axes,
/// "nice" ticks with labels, and helpers to draw bars, lines and a legend in data coordinates.
/// </summary>
public sealed class ChartPanel
{
    private const int Left = 58, Right = 14, Top = 30, Bottom = 40;
    private static readonly Rgb24 Ink = new(30, 30, 30);
    private static readonly Rgb24 Grid = new(225, 225, 225);

    private readonly RasterCanvas canvas;
    private readonly int x0, y0, width, height;
    private readonly double xMin, xMax, yMin, yMax;

    /// <summary>Creates the panel and draws its frame, grid, ticks, title and axis labels.</summary>
    public ChartPanel(RasterCanvas canvas, int x, int y, int w, int h, string title,
        (double Min, double Max) xRange, (double Min, double Max) yRange, string xLabel, string yLabel)
    {
        this.canvas = canvas;
        x0 = x + Left;
        y0 = y + Top;
        width = w - Left - Right;
        height = h - Top - Bottom;
        (xMin, xMax) = Widen(xRange);
        (yMin, yMax) = Widen(yRange);

        canvas.TextCentred(x + w / 2, y + 6, title, Ink, 2);
        foreach (var t in Ticks(xMin, xMax))
        {
            int px = (int)Math.Round(MapX(t.Value));
            canvas.FillRect(px, y0, 1, height, Grid);
            canvas.FillRect(px, y0 + height, 1, 4, Ink);
            canvas.TextCentred(px, y0 + height + 7, t.Label, Ink);
        }
        foreach (var t in Ticks(yMin, yMax))
        {
            int py = (int)Math.Round(MapY(t.Value));
            canvas.FillRect(x0, py, width, 1, Grid);
            canvas.FillRect(x0 - 4, py, 4, 1, Ink);
            canvas.Text(x0 - 7 - PixelFont.Measure(t.Label, 1), py - 3, t.Label, Ink);
        }
        canvas.StrokeRect(x0, y0, width + 1, height + 1, Ink);
        canvas.TextCentred(x0 + width / 2, y0 + height + 22, xLabel, Ink);
        canvas.Text(x + 4, y + Top - 12, yLabel, Ink);
    }

    /// <summary>Canvas x of a data x.</summary>
    public double MapX(double value) => x0 + (value - xMin) / (xMax - xMin) * width;

    /// <summary>Canvas y of a data y.</summary>
    public double MapY(double value) => y0 + height - (value - yMin) / (yMax - yMin) * height;

    /// <summary>Bars from y = 0 up to each height, bar i spanning [edges[i], edges[i + 1]).</summary>
    public void Bars(IReadOnlyList<double> edges, IReadOnlyList<double> heights, Rgb24 colour, float alpha)
    {
        for (int i = 0; i < heights.Count; i++)
        {
            if (heights[i] <= 0) continue;
            int left = (int)Math.Round(MapX(edges[i])), right = (int)Math.Round(MapX(edges[i + 1]));
            int top = (int)Math.Round(MapY(Math.Min(heights[i], yMax))), bottom = (int)Math.Round(MapY(Math.Max(yMin, 0)));
            canvas.FillRect(left + 1, top, Math.Max(1, right - left - 1), bottom - top, colour, alpha);
        }
    }

    /// <summary>A polyline through the points, with a small square on each when <paramref name="markers"/> is set.</summary>
    public void Polyline(IReadOnlyList<double> xs, IReadOnlyList<double> ys, Rgb24 colour, int thickness = 2, bool markers = false)
    {
        for (int i = 1; i < xs.Count; i++)
            canvas.Line(MapX(xs[i - 1]), MapY(ys[i - 1]), MapX(xs[i]), MapY(ys[i]), colour, thickness);
        if (!markers) return;
        for (int i = 0; i < xs.Count; i++)
            canvas.FillRect((int)Math.Round(MapX(xs[i])) - 2, (int)Math.Round(MapY(ys[i])) - 2, 5, 5, colour);
    }

    /// <summary>A dashed vertical line at data x, e.g. where a training stage ends.</summary>
    public void VerticalMarker(double value, Rgb24 colour)
    {
        int px = (int)Math.Round(MapX(value));
        for (int py = y0; py < y0 + height; py += 6) canvas.FillRect(px, py, 1, 3, colour);
    }

    /// <summary>A legend box in the plot area's top-right (or top-left) corner.</summary>
    public void Legend(IReadOnlyList<(string Label, Rgb24 Colour)> entries, bool left = false)
    {
        if (entries.Count == 0) return;
        int w = entries.Max(e => PixelFont.Measure(e.Label, 1)) + 26, h = entries.Count * 13 + 6;
        int bx = left ? x0 + 6 : x0 + width - w - 6, by = y0 + 6;
        canvas.FillRect(bx, by, w, h, new Rgb24(255, 255, 255), 0.85f);
        canvas.StrokeRect(bx, by, w, h, Grid);
        for (int i = 0; i < entries.Count; i++)
        {
            canvas.FillRect(bx + 5, by + 5 + i * 13, 12, 8, entries[i].Colour);
            canvas.Text(bx + 21, by + 5 + i * 13, entries[i].Label, Ink);
        }
    }

    /// <summary>Counts of <paramref name="values"/> in <paramref name="bins"/> equal bins over [min, max] (the last bin closed).</summary>
    public static double[] Histogram(IEnumerable<float> values, double min, double max, int bins)
    {
        var counts = new double[bins];
        double span = max > min ? max - min : 1;
        foreach (var v in values)
        {
            int b = (int)Math.Floor((v - min) / span * bins);
            counts[Math.Clamp(b, 0, bins - 1)]++;
        }
        return counts;
    }

    /// <summary>Ticks at 1, 2 or 5 × 10ⁿ steps, about five over the range, labelled with as few decimals as the step needs.</summary>
    public static IReadOnlyList<(double Value, string Label)> Ticks(double min, double max)
    {
        double raw = (max - min) / 5, magnitude = Math.Pow(10, Math.Floor(Math.Log10(raw)));
        double step = magnitude * (raw / magnitude < 1.5 ? 1 : raw / magnitude < 3.5 ? 2 : raw / magnitude < 7.5 ? 5 : 10);
        int decimals = Math.Max(0, -(int)Math.Floor(Math.Log10(step) + 1e-9));
        var ticks = new List<(double, string)>();
        for (double t = Math.Ceiling(min / step - 1e-9) * step; t <= max + step * 1e-9; t += step)
        {
            double value = Math.Abs(t) < step * 1e-9 ? 0 : t;
            ticks.Add((value, value.ToString("F" + decimals, CultureInfo.InvariantCulture)));
        }
        return ticks;
    }

    private static (double, double) Widen((double Min, double Max) range)
        => range.Max > range.Min ? range : (range.Min - 0.5, range.Max + 0.5);
}
