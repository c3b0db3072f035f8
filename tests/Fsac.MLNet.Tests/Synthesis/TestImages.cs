using SixLabors.ImageSharp;
using SixLabors.ImageSharp.PixelFormats;

namespace Fsac.MLNet.Tests.Synthesis;

/// <summary>Small synthetic images and pixel helpers for the synthesis tests.</summary>
internal static class TestImages
{
    /// <summary>A smooth colour gradient with a ripple and some noise: every patch differs from every other.</summary>
    public static Image<Rgb24> Textured(int width, int height, int seed = 7)
    {
        var columns = Enumerable.Range(0, width).Select(x => 30 * Math.Sin(x * 0.3)).ToArray();
        var rows = Enumerable.Range(0, height).Select(y => Math.Cos(y * 0.2)).ToArray();
        var data = new byte[3 * width * height];
        for (int y = 0; y < height; y++)
        {
            for (int x = 0; x < width; x++)
            {
                int k = 3 * (y * width + x);
                double ripple = columns[x] * rows[y];
                uint hash = (uint)(x * 73856093 ^ y * 19349663 ^ seed * 83492791);
                data[k] = Clamp(40 + 150.0 * x / Math.Max(1, width - 1) + ripple + (int)(hash % 21) - 10);
                data[k + 1] = Clamp(60 + 120.0 * y / Math.Max(1, height - 1) - ripple + (int)(hash / 21 % 21) - 10);
                data[k + 2] = Clamp(128 + ripple + (int)(hash / 441 % 21) - 10);
            }
        }
        return Image.LoadPixelData<Rgb24>(data, width, height);
    }

    private static byte Clamp(double v) => (byte)Math.Clamp(Math.Round(v), 0, 255);

    public static Image<Rgb24> Uniform(int width, int height, Rgb24 colour) => new(width, height, colour);

    public static byte[] Bytes(Image<Rgb24> image)
    {
        var data = new byte[3 * image.Width * image.Height];
        image.CopyPixelDataTo(data);
        return data;
    }

    public static byte[] Bytes(Image<L8> image)
    {
        var data = new byte[image.Width * image.Height];
        image.CopyPixelDataTo(data);
        return data;
    }

    /// <summary>255 where any channel differs, else 0: the mask a synthesizer must return.</summary>
    public static byte[] Difference(Image<Rgb24> a, Image<Rgb24> b)
    {
        var x = Bytes(a);
        var y = Bytes(b);
        var mask = new byte[a.Width * a.Height];
        for (int i = 0; i < mask.Length; i++)
            if (x[3 * i] != y[3 * i] || x[3 * i + 1] != y[3 * i + 1] || x[3 * i + 2] != y[3 * i + 2]) mask[i] = 255;
        return mask;
    }

    /// <summary>A foreground mask: 255 inside the ellipse centred at (cx, cy) with radii (rx, ry).</summary>
    public static Image<L8> Ellipse(int width, int height, double cx, double cy, double rx, double ry)
    {
        var data = new byte[width * height];
        for (int y = 0; y < height; y++)
            for (int x = 0; x < width; x++)
            {
                double u = (x + 0.5 - cx) / rx, v = (y + 0.5 - cy) / ry;
                if (u * u + v * v <= 1) data[y * width + x] = 255;
            }
        return Image.LoadPixelData<L8>(data, width, height);
    }
}
