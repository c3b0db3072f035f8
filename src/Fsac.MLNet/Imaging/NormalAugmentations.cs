using SixLabors.ImageSharp;
using SixLabors.ImageSharp.PixelFormats;
using SixLabors.ImageSharp.Processing;

namespace Fsac.MLNet.Imaging;

/// <summary>
/// Mild, label-preserving variants of a normal image, standing in for held-out normals when only a few shots exist:
/// the four corner crops keeping 90 % of each side, and the image 5 % darker and 5 % brighter. No flips or
/// rotations, which would be anomalies for oriented objects (e.g. a misplaced transistor).
/// </summary>
internal static class NormalAugmentations
{
    /// <summary>Fraction of each side kept by the corner crops.</summary>
    public const float CropFraction = 0.9f;

    /// <summary>Relative brightness change of the photometric variants.</summary>
    public const float BrightnessChange = 0.05f;

    /// <summary>The number of variants of one image.</summary>
    public const int Count = 6;

    /// <summary>Creates the six variants of <paramref name="image"/> (new images, which the caller disposes).</summary>
    public static IReadOnlyList<Image<Rgb24>> Create(Image<Rgb24> image)
    {
        ArgumentNullException.ThrowIfNull(image);
        return [.. Enumerable.Range(0, Count).Select(v => Create(image, v))];
    }

    /// <summary>
    /// Creates <paramref name="total"/> variants of <paramref name="images"/> in all (new images, which the caller
    /// disposes): as evenly spread over the images as whole numbers allow, at most <see cref="Count"/> from each, and
    /// with the kinds taken in turn across images, so that every kind is used when there are enough. With one image and
    /// <paramref name="total"/> ≥ <see cref="Count"/> this is <see cref="Create(Image{Rgb24})"/>.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="total"/> is less than 1.</exception>
    public static IReadOnlyList<Image<Rgb24>> Spread(IReadOnlyList<Image<Rgb24>> images, int total)
    {
        ArgumentNullException.ThrowIfNull(images);
        ArgumentOutOfRangeException.ThrowIfLessThan(total, 1);
        var variants = new List<Image<Rgb24>>();
        int kind = 0;
        try
        {
            for (int i = 0; i < images.Count; i++)
            {
                int share = Math.Min(Count, total / images.Count + (i < total % images.Count ? 1 : 0));
                for (int j = 0; j < share; j++, kind++) variants.Add(Create(images[i], kind % Count));
            }
            return variants;
        }
        catch
        {
            foreach (var v in variants) v.Dispose();
            throw;
        }
    }

    // Variant 0-3: the corner crops (top left, top right, bottom left, bottom right); 4: darker; 5: brighter.
    private static Image<Rgb24> Create(Image<Rgb24> image, int kind)
    {
        ArgumentNullException.ThrowIfNull(image);
        int w = Math.Max(1, (int)(image.Width * CropFraction)), h = Math.Max(1, (int)(image.Height * CropFraction));
        int dx = image.Width - w, dy = image.Height - h;
        return kind switch
        {
            0 => image.Clone(c => c.Crop(new Rectangle(0, 0, w, h))),
            1 => image.Clone(c => c.Crop(new Rectangle(dx, 0, w, h))),
            2 => image.Clone(c => c.Crop(new Rectangle(0, dy, w, h))),
            3 => image.Clone(c => c.Crop(new Rectangle(dx, dy, w, h))),
            4 => image.Clone(c => c.Brightness(1f - BrightnessChange)),
            _ => image.Clone(c => c.Brightness(1f + BrightnessChange)),
        };
    }
}
