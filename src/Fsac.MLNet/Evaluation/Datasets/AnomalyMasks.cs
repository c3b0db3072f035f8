using Fsac.MLNet.Metrics;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.PixelFormats;

namespace Fsac.MLNet.Evaluation.Datasets;

/// <summary>Reads ground-truth defect masks (<see cref="LabelledImage.MaskPath"/>) for <see cref="PixelMetrics"/>.</summary>
internal static class AnomalyMasks
{
    /// <summary>
    /// Reads a mask image in any format ImageSharp decodes and returns it row-major as <paramref name="width"/> ×
    /// <paramref name="height"/> booleans, true for defect. A pixel is defect when its colour is not black (any of
    /// red, green or blue above 0, whatever its alpha): white on black for MVTec and VisA masks, any non-black palette
    /// entry for palette PNGs. A mask of another size is resized with nearest-neighbour sampling.
    /// </summary>
    /// <param name="path">The mask file.</param>
    /// <param name="width">Width of the anomaly map the mask is compared with.</param>
    /// <param name="height">Height of the anomaly map.</param>
    /// <exception cref="ArgumentOutOfRangeException">A size is not positive.</exception>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    /// <exception cref="InvalidDataException">The file cannot be decoded as an image; the message names it.</exception>
    public static bool[] Load(string path, int width, int height)
    {
        ArgumentNullException.ThrowIfNull(path);
        ArgumentOutOfRangeException.ThrowIfLessThan(width, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(height, 1);
        if (!File.Exists(path)) throw new FileNotFoundException($"Mask file not found: '{path}'.", path);

        Image<Rgba64> image;
        try
        {
            image = Image.Load<Rgba64>(path);
        }
        catch (Exception ex) when (ex is ImageFormatException or NotSupportedException or EndOfStreamException)
        {
            throw new InvalidDataException($"Cannot decode the mask '{path}': {ex.Message}", ex);
        }

        using (image)
        {
            int sourceWidth = image.Width, sourceHeight = image.Height;
            var defect = new bool[sourceWidth * sourceHeight];
            image.ProcessPixelRows(rows =>
            {
                for (int y = 0; y < sourceHeight; y++)
                {
                    var row = rows.GetRowSpan(y);
                    for (int x = 0; x < sourceWidth; x++)
                        defect[y * sourceWidth + x] = row[x].R != 0 || row[x].G != 0 || row[x].B != 0;
                }
            });
            if (sourceWidth == width && sourceHeight == height) return defect;

            // Nearest neighbour: each target pixel takes the source pixel its centre falls in.
            var result = new bool[width * height];
            var columns = new int[width];
            for (int x = 0; x < width; x++) columns[x] = (int)Math.Min(((2L * x + 1) * sourceWidth) / (2L * width), sourceWidth - 1);
            for (int y = 0; y < height; y++)
            {
                int sy = (int)Math.Min(((2L * y + 1) * sourceHeight) / (2L * height), sourceHeight - 1);
                for (int x = 0; x < width; x++) result[y * width + x] = defect[sy * sourceWidth + columns[x]];
            }
            return result;
        }
    }
}
