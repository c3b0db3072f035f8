using Fsac.MLNet.Encoders;
using System.Runtime.InteropServices;
using TorchSharp;
using static TorchSharp.torch;

namespace Fsac.MLNet.Maps;

/// <summary>
/// Turns patch scores into an anomaly map on the original image, as PatchCore does: the score grid is upsampled
/// bilinearly to the encoder's input size, smoothed with a Gaussian (σ = 4 input pixels by default), then placed on
/// the image through the input's <see cref="InputLayout"/> (the region a centre crop left out scores 0).
/// </summary>
internal static class AnomalyMapBuilder
{
    /// <summary>PatchCore's smoothing, in input pixels.</summary>
    public const double DefaultSigma = 4.0;

    /// <summary>
    /// The map of one image, row-major at the image's own size (<c>[y · width + x]</c>), from its patch scores
    /// <c>[h · w]</c> (row-major over <paramref name="grid"/>).
    /// </summary>
    /// <exception cref="ArgumentException">The scores do not fit the grid.</exception>
    public static float[] Build(ReadOnlySpan<float> patchScores, PatchGrid grid, double sigma = DefaultSigma)
        => Build(patchScores, grid, grid.ImageWidth, grid.ImageHeight, sigma);

    /// <summary>
    /// The map of one image on a raster of <paramref name="outWidth"/> × <paramref name="outHeight"/> pixels that spans
    /// the whole image (for metrics at a reduced size), row-major.
    /// </summary>
    /// <exception cref="ArgumentException">The scores do not fit the grid.</exception>
    public static float[] Build(ReadOnlySpan<float> patchScores, PatchGrid grid, int outWidth, int outHeight, double sigma = DefaultSigma)
    {
        if (patchScores.Length != grid.Count)
            throw new ArgumentException($"{patchScores.Length} patch scores for a {grid.Rows}x{grid.Columns} grid.", nameof(patchScores));
        using var scope = NewDisposeScope();
        var scores = tensor(patchScores.ToArray(), [1, 1, grid.Rows, grid.Columns]);
        var input = nn.functional.interpolate(scores, [grid.Layout.Height, grid.Layout.Width], mode: InterpolationMode.Bilinear, align_corners: false);
        if (sigma > 0) input = GaussianBlur(input, sigma);
        return Place(input, grid.Layout, grid.ImageWidth, grid.ImageHeight, outWidth, outHeight);
    }

    /// <summary>Blurs <c>[N, 1, H, W]</c> with a normalised Gaussian of σ <paramref name="sigma"/> (kernel 2⌊4σ + 0.5⌋ + 1, reflected edges).</summary>
    public static Tensor GaussianBlur(Tensor maps, double sigma)
    {
        ArgumentNullException.ThrowIfNull(maps);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(sigma);
        using var scope = NewDisposeScope();
        int radius = (int)(4 * sigma + 0.5);
        var taps = new float[2 * radius + 1];
        for (int i = -radius; i <= radius; i++) taps[i + radius] = (float)Math.Exp(-0.5 * i * i / (sigma * sigma));
        float sum = taps.Sum();
        for (int i = 0; i < taps.Length; i++) taps[i] /= sum;
        var kernel = tensor(taps);
        // Reflection needs the pad to be smaller than the side; replicate the edge beyond that.
        long h = maps.shape[2], w = maps.shape[3];
        var mode = radius < h && radius < w ? PaddingModes.Reflect : PaddingModes.Replicate;
        var x = nn.functional.pad(maps, [radius, radius, 0, 0], mode);
        x = nn.functional.conv2d(x, kernel.view(1, 1, 1, -1));
        x = nn.functional.pad(x, [0, 0, radius, radius], mode);
        x = nn.functional.conv2d(x, kernel.view(1, 1, -1, 1));
        return x.MoveToOuterDisposeScope();
    }

    /// <summary>
    /// Samples a row-major input-size map (<paramref name="layout"/>'s Width × Height) bilinearly at every pixel of the
    /// original image; pixels outside the layout's region get 0.
    /// </summary>
    public static float[] Place(ReadOnlySpan<float> inputMap, InputLayout layout, int imageWidth, int imageHeight)
        => Place(inputMap, layout, imageWidth, imageHeight, imageWidth, imageHeight);

    /// <summary>
    /// As the span overloads, from a float32 tensor of the input's size, read in place: an input-size copy per image
    /// would be large-object garbage.
    /// </summary>
    /// <exception cref="ArgumentException">The tensor is not float32 or not of the input's size.</exception>
    public static float[] Place(Tensor inputMap, InputLayout layout, int imageWidth, int imageHeight, int outWidth, int outHeight)
    {
        ArgumentNullException.ThrowIfNull(inputMap);
        if (inputMap.dtype != ScalarType.Float32) throw new ArgumentException($"The map must be float32, not {inputMap.dtype}.", nameof(inputMap));
        using var values = inputMap.contiguous();
        return Place(MemoryMarshal.Cast<byte, float>(values.bytes), layout, imageWidth, imageHeight, outWidth, outHeight);
    }

    /// <summary>
    /// As the other overload, onto a raster of <paramref name="outWidth"/> × <paramref name="outHeight"/> pixels that
    /// spans the whole <paramref name="imageWidth"/> × <paramref name="imageHeight"/> image.
    /// </summary>
    public static float[] Place(ReadOnlySpan<float> inputMap, InputLayout layout, int imageWidth, int imageHeight, int outWidth, int outHeight)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(outWidth, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(outHeight, 1);
        int w = layout.Width, h = layout.Height;
        if (inputMap.Length != w * h) throw new ArgumentException($"{inputMap.Length} values for a {w}x{h} input.", nameof(inputMap));
        var r = layout.Region;
        var result = new float[outWidth * outHeight];
        float sx = w / r.Width, sy = h / r.Height;
        float ox = (float)imageWidth / outWidth, oy = (float)imageHeight / outHeight;
        var xs = new (int Low, int High, float Weight, bool Inside)[outWidth];
        for (int x = 0; x < outWidth; x++) xs[x] = Sample(((x + 0.5f) * ox - r.X) * sx - 0.5f, w);
        for (int y = 0; y < outHeight; y++)
        {
            var (y0, y1, fy, insideY) = Sample(((y + 0.5f) * oy - r.Y) * sy - 0.5f, h);
            if (!insideY) continue;
            int row = y * outWidth;
            for (int x = 0; x < outWidth; x++)
            {
                var (x0, x1, fx, insideX) = xs[x];
                if (!insideX) continue;
                float top = inputMap[y0 * w + x0] * (1 - fx) + inputMap[y0 * w + x1] * fx;
                float bottom = inputMap[y1 * w + x0] * (1 - fx) + inputMap[y1 * w + x1] * fx;
                result[row + x] = top * (1 - fy) + bottom * fy;
            }
        }
        return result;
    }

    // The two input samples around position s (pixel centres at integers), clamped at the edges; Inside is false
    // for positions more than half a pixel outside the input.
    private static (int Low, int High, float Weight, bool Inside) Sample(float s, int size)
    {
        bool inside = s >= -0.5f && s <= size - 0.5f;
        var clamped = Math.Clamp(s, 0f, size - 1);
        int low = (int)clamped;
        return (low, Math.Min(low + 1, size - 1), clamped - low, inside);
    }
}
