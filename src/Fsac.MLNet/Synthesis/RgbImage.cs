using SixLabors.ImageSharp;
using SixLabors.ImageSharp.PixelFormats;

namespace Fsac.MLNet.Synthesis;

/// <summary>Loads images of any pixel format as the RGB images the synthesizers take.</summary>
public static class RgbImage
{
    /// <summary>Loads an image file (PNG, JPEG, BMP, ...; greyscale, RGBA or RGB) as RGB, dropping alpha.</summary>
    /// <param name="path">The file.</param>
    /// <exception cref="ArgumentException">The path is empty.</exception>
    /// <exception cref="FileNotFoundException">There is no such file.</exception>
    /// <exception cref="InvalidDataException">The file is not an image ImageSharp can decode (named in the message).</exception>
    public static Image<Rgb24> Load(string path)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        if (!File.Exists(path)) throw new FileNotFoundException($"Image file not found: '{path}'.", path);
        try
        {
            using var image = Image.Load(path);
            return ToRgb24(image);
        }
        catch (UnknownImageFormatException e)
        {
            throw new InvalidDataException(
                $"'{path}' is not an image in a format ImageSharp reads (PNG, JPEG, BMP, GIF, TIFF, TGA, WebP, PBM).", e);
        }
        catch (Exception e) when (e is ImageFormatException or NotSupportedException)
        {
            string reason = e.Message.Split('\n', 2)[0].Trim();
            throw new InvalidDataException($"'{path}' is not a readable image: {reason}", e);
        }
    }

    /// <summary>An RGB copy of <paramref name="image"/> whatever its pixel format (alpha dropped); the caller disposes it.</summary>
    /// <param name="image">The image (not modified).</param>
    public static Image<Rgb24> ToRgb24(Image image)
    {
        ArgumentNullException.ThrowIfNull(image);
        return image.CloneAs<Rgb24>();
    }
}
