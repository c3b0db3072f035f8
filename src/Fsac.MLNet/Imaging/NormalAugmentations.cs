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

    /// <summary>Creates the six variants of <paramref name="image"/> (new images, which the caller disposes).</summary>
    public static IReadOnlyList<Image<Rgb24>> Create(Image<Rgb24> image)
    {
        ArgumentNullException.ThrowIfNull(image);
        int w = Math.Max(1, (int)(image.Width * CropFraction)), h = Math.Max(1, (int)(image.Height * CropFraction));
        int dx = image.Width - w, dy = image.Height - h;
        return
        [
            image.Clone(c => c.Crop(new Rectangle(0, 0, w, h))),
            image.Clone(c => c.Crop(new Rectangle(dx, 0, w, h))),
            image.Clone(c => c.Crop(new Rectangle(0, dy, w, h))),
            image.Clone(c => c.Crop(new Rectangle(dx, dy, w, h))),
            image.Clone(c => c.Brightness(1f - BrightnessChange)),
            image.Clone(c => c.Brightness(1f + BrightnessChange)),
        ];
    }
}
