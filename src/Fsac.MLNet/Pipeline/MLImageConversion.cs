using Microsoft.ML.Data;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.PixelFormats;

namespace Fsac.MLNet.Pipeline;

/// <summary>Copies an ML.NET <see cref="MLImage"/> into an ImageSharp image (alpha is dropped).</summary>
internal static class MLImageConversion
{
    public static Image<Rgb24> ToRgb24(MLImage image)
    {
        int width = image.Width, height = image.Height;
        var rgb = new byte[width * height * 3];
        if (image.BitsPerPixel == 32 && image.PixelFormat is MLPixelFormat.Bgra32 or MLPixelFormat.Rgba32)
        {
            // Pixels: 4 bytes a pixel, rows unpadded; only the order of red and blue differs.
            var pixels = image.Pixels;
            var (r, b) = image.PixelFormat == MLPixelFormat.Rgba32 ? (0, 2) : (2, 0);
            for (int i = 0, o = 0; o < rgb.Length; i += 4, o += 3)
            {
                rgb[o] = pixels[i + r];
                rgb[o + 1] = pixels[i + 1];
                rgb[o + 2] = pixels[i + b];
            }
        }
        else
        {
            var bgr = image.GetBGRPixels;
            for (var o = 0; o < rgb.Length; o += 3)
            {
                rgb[o] = bgr[o + 2];
                rgb[o + 1] = bgr[o + 1];
                rgb[o + 2] = bgr[o];
            }
        }
        return Image.LoadPixelData<Rgb24>(rgb, width, height);
    }
}
