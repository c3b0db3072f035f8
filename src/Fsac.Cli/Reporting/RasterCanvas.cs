using Fsac.Cli.Outputs;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.PixelFormats;

namespace Fsac.Cli.Reporting;

/// <summary>
/// Minimal drawing on an ImageSharp image: filled (optionally translucent) rectangles, thick lines and
/// <see cref="PixelFont"/> text. Enough for the evaluation's charts, without a drawing library: ScottPlot 5 needs
/// SkiaSharp 3, which breaks ML.NET's image type (SkiaSharp 2.88) in the same process.
/// </summary>
public sealed class RasterCanvas : IDisposable
{
    /// <summary>Creates a white canvas.</summary>
    public RasterCanvas(int width, int height)
    {
        Image = new Image<Rgb24>(width, height, new Rgb24(255, 255, 255));
    }

    /// <summary>The picture drawn so far.</summary>
    public Image<Rgb24> Image { get; }

    /// <summary>Canvas width.</summary>
    public int Width => Image.Width;

    /// <summary>Canvas height.</summary>
    public int Height => Image.Height;

    /// <summary>Sets one pixel, blending with <paramref name="alpha"/> (1 = opaque); pixels outside the canvas are ignored.</summary>
    public void Blend(int x, int y, Rgb24 colour, float alpha = 1f)
    {
        if (x < 0 || y < 0 || x >= Width || y >= Height) return;
        if (alpha >= 1f)
        {
            Image[x, y] = colour;
            return;
        }
        var old = Image[x, y];
        Image[x, y] = new Rgb24(Mix(old.R, colour.R, alpha), Mix(old.G, colour.G, alpha), Mix(old.B, colour.B, alpha));
    }

    /// <summary>Fills the rectangle [x, x + w) × [y, y + h).</summary>
    public void FillRect(int x, int y, int w, int h, Rgb24 colour, float alpha = 1f)
    {
        for (int yy = Math.Max(0, y); yy < Math.Min(Height, y + h); yy++)
            for (int xx = Math.Max(0, x); xx < Math.Min(Width, x + w); xx++)
                Blend(xx, yy, colour, alpha);
    }

    /// <summary>Outlines the rectangle [x, x + w) × [y, y + h) with a one-pixel border.</summary>
    public void StrokeRect(int x, int y, int w, int h, Rgb24 colour)
    {
        FillRect(x, y, w, 1, colour);
        FillRect(x, y + h - 1, w, 1, colour);
        FillRect(x, y, 1, h, colour);
        FillRect(x + w - 1, y, 1, h, colour);
    }

    /// <summary>Draws a line of <paramref name="thickness"/> pixels between two points (Bresenham with a square pen).</summary>
    public void Line(double x0, double y0, double x1, double y1, Rgb24 colour, int thickness = 1)
    {
        int ax = (int)Math.Round(x0), ay = (int)Math.Round(y0), bx = (int)Math.Round(x1), by = (int)Math.Round(y1);
        int dx = Math.Abs(bx - ax), dy = -Math.Abs(by - ay), sx = ax < bx ? 1 : -1, sy = ay < by ? 1 : -1, err = dx + dy;
        int lo = -(thickness - 1) / 2, hi = thickness / 2;
        while (true)
        {
            for (int ox = lo; ox <= hi; ox++)
                for (int oy = lo; oy <= hi; oy++)
                    Blend(ax + ox, ay + oy, colour);
            if (ax == bx && ay == by) break;
            int e2 = 2 * err;
            if (e2 >= dy) { err += dy; ax += sx; }
            if (e2 <= dx) { err += dx; ay += sy; }
        }
    }

    /// <summary>Writes <paramref name="text"/> with its top-left corner at (x, y), each font pixel a <paramref name="scale"/>-sized square.</summary>
    public void Text(int x, int y, string text, Rgb24 colour, int scale = 1)
    {
        for (int i = 0; i < text.Length; i++)
            for (int gy = 0; gy < PixelFont.Height; gy++)
                for (int gx = 0; gx < PixelFont.Width; gx++)
                    if (PixelFont.IsSet(text[i], gx, gy))
                        FillRect(x + (i * PixelFont.Advance + gx) * scale, y + gy * scale, scale, scale, colour);
    }

    /// <summary>Writes <paramref name="text"/> centred horizontally on <paramref name="centreX"/>.</summary>
    public void TextCentred(int centreX, int y, string text, Rgb24 colour, int scale = 1)
        => Text(centreX - PixelFont.Measure(text, scale) / 2, y, text, colour, scale);

    /// <summary>Copies <paramref name="source"/> with its top-left corner at (x, y), clipped to the canvas.</summary>
    public void Paste(Image<Rgb24> source, int x, int y)
    {
        for (int yy = 0; yy < source.Height; yy++)
            for (int xx = 0; xx < source.Width; xx++)
                Blend(x + xx, y + yy, source[xx, yy]);
    }

    /// <summary>Writes the canvas as a PNG file, atomically (<see cref="OutputFile"/>).</summary>
    public void SavePng(string path) => OutputFile.WritePng(path, Image);

    /// <inheritdoc />
    public void Dispose() => Image.Dispose();

    private static byte Mix(byte under, byte over, float alpha) => (byte)Math.Clamp(MathF.Round(under + (over - under) * alpha), 0, 255);
}
