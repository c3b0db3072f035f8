using SixLabors.ImageSharp;

namespace Fsac.MLNet.Encoders;

/// <summary>
/// Where an encoder's preprocessed input sits on an original image: the image's <see cref="Region"/> is resized to
/// <see cref="Width"/> × <see cref="Height"/> input pixels. Anomaly maps computed on the input are placed back on the
/// image through it.
/// </summary>
/// <param name="Width">Input width in pixels.</param>
/// <param name="Height">Input height in pixels.</param>
/// <param name="Region">The part of the original image the input shows (the whole image, or a centre crop), in its pixels.</param>
public readonly record struct InputLayout(int Width, int Height, RectangleF Region)
{
    /// <summary>A centre crop of a <paramref name="imageWidth"/> × <paramref name="imageHeight"/> image to the input's aspect ratio, resized to <paramref name="width"/> × <paramref name="height"/>.</summary>
    public static InputLayout CentreCrop(int imageWidth, int imageHeight, int width, int height)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(imageWidth, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(imageHeight, 1);
        // The largest region of the input's aspect ratio that fits the image, centred.
        double scale = Math.Max((double)width / imageWidth, (double)height / imageHeight);
        float w = (float)(width / scale), h = (float)(height / scale);
        return new InputLayout(width, height, new RectangleF((imageWidth - w) / 2f, (imageHeight - h) / 2f, w, h));
    }

    /// <summary>
    /// The input size that keeps an image's aspect ratio with its shorter side at <paramref name="shorterSide"/>: the
    /// longer side is rounded to a multiple of <paramref name="multiple"/> and capped at 4 × the shorter side.
    /// </summary>
    public static (int Width, int Height) AspectPreserving(int imageWidth, int imageHeight, int shorterSide, int multiple)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(imageWidth, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(imageHeight, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(shorterSide, 1);
        int Longer(int longSide, int shortSide)
        {
            double exact = (double)shorterSide * longSide / shortSide;
            int rounded = (int)Math.Round(exact / multiple) * multiple;
            return Math.Clamp(rounded, shorterSide, 4 * shorterSide);
        }
        return imageWidth >= imageHeight
            ? (Longer(imageWidth, imageHeight), shorterSide)
            : (shorterSide, Longer(imageHeight, imageWidth));
    }
}
