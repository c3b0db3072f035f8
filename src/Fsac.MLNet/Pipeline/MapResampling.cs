namespace Fsac.MLNet.Pipeline;

/// <summary>Resizes a row-major single-channel map (pixel centres aligned, edges clamped).</summary>
internal static class MapResampling
{
    public static float[] Bilinear(float[] map, int width, int height, int outWidth, int outHeight)
    {
        if (width == outWidth && height == outHeight) return map;
        var result = new float[outWidth * outHeight];
        for (var y = 0; y < outHeight; y++)
        {
            var (y0, y1, fy) = Source(y, height, outHeight);
            for (var x = 0; x < outWidth; x++)
            {
                var (x0, x1, fx) = Source(x, width, outWidth);
                var top = map[y0 * width + x0] * (1 - fx) + map[y0 * width + x1] * fx;
                var bottom = map[y1 * width + x0] * (1 - fx) + map[y1 * width + x1] * fx;
                result[y * outWidth + x] = top * (1 - fy) + bottom * fy;
            }
        }
        return result;
    }

    /// <summary>The two source samples around output index <paramref name="i"/> and the weight of the second.</summary>
    private static (int Low, int High, float Weight) Source(int i, int size, int outSize)
    {
        var s = Math.Clamp((i + 0.5f) * size / outSize - 0.5f, 0f, size - 1);
        var low = (int)s;
        return (low, Math.Min(low + 1, size - 1), s - low);
    }
}
