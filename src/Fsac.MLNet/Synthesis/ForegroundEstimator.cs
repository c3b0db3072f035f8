using SixLabors.ImageSharp;
using SixLabors.ImageSharp.PixelFormats;

namespace Fsac.MLNet.Synthesis;

/// <summary>
/// Estimates the object of an object-category image (a part on a plain background), so that anomalies are placed
/// on it (<see cref="SynthesisContext.Foreground"/>); not meant for textures, which need no mask. The background
/// is summarised by a few colours of the image border (k-means); pixels farther from all of them than a threshold
/// (Otsu's by default) are object; a closing and an opening clean the mask, holes are filled and the largest object kept.
/// </summary>
public static class ForegroundEstimator
{
    private const int DistanceBins = 443; // ceil(255 * sqrt(3)) + 1

    /// <summary>How many colours summarise the background.</summary>
    private const int BackgroundColours = 4;

    /// <summary>The object mask of <paramref name="image"/>: 255 = object, 0 = background, same size.</summary>
    /// <param name="image">The image (not modified).</param>
    /// <param name="options">Options; null for the defaults.</param>
    /// <exception cref="ArgumentOutOfRangeException">An option is out of range.</exception>
    public static Image<L8> Estimate(Image<Rgb24> image, ForegroundOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(image);
        options ??= new ForegroundOptions();
        options.Validate();
        using var rgb = RgbBuffer.From(image);
        int w = rgb.Width, h = rgb.Height, n = w * h, shorter = Math.Min(w, h);

        var background = BorderColours(rgb, Math.Clamp((int)Math.Round(options.BorderFraction * shorter), 1, (shorter + 1) / 2));
        var distance = new float[n];
        var histogram = new long[DistanceBins];
        for (int i = 0; i < n; i++)
        {
            Nearest(background, rgb.Data[3 * i], rgb.Data[3 * i + 1], rgb.Data[3 * i + 2], out distance[i]);
            histogram[(int)MathF.Round(distance[i])]++;
        }
        double threshold = options.Threshold ?? Otsu(histogram);
        var mask = new bool[n];
        for (int i = 0; i < n; i++) mask[i] = distance[i] > threshold;

        if (options.MorphologyRadiusFraction > 0)
        {
            int radius = Math.Max(1, (int)Math.Round(options.MorphologyRadiusFraction * shorter));
            mask = Erode(Dilate(mask, w, h, radius), w, h, radius); // closing
            mask = Dilate(Erode(mask, w, h, radius), w, h, radius); // opening
        }
        if (options.FillHoles) FillHoles(mask, w, h);
        if (options.KeepLargestObject) KeepLargest(mask, w);

        int count = 0;
        foreach (bool m in mask) if (m) count++;
        bool whole = count < options.MinObjectFraction * n;
        var bytes = new byte[n];
        for (int i = 0; i < n; i++) bytes[i] = whole || mask[i] ? (byte)255 : (byte)0;
        return Image.LoadPixelData<L8>(bytes, w, h);
    }

    /// <summary>
    /// Colours of the pixels within <paramref name="band"/> of the border, summarised by k-means with
    /// <see cref="BackgroundColours"/> centres (started at luminance quantiles, so deterministic): a background with
    /// shading or a reflection along one edge is several colours, not one.
    /// </summary>
    private static float[][] BorderColours(RgbBuffer rgb, int band)
    {
        var border = new List<int>();
        for (int y = 0; y < rgb.Height; y++)
        {
            bool edgeRow = y < band || y >= rgb.Height - band;
            for (int x = 0; x < rgb.Width; x++)
                if (edgeRow || x < band || x >= rgb.Width - band) border.Add(3 * (y * rgb.Width + x));
        }
        var d = rgb.Data;
        border.Sort((a, b) => (d[a] + d[a + 1] + d[a + 2]).CompareTo(d[b] + d[b + 1] + d[b + 2]));
        int k = Math.Min(BackgroundColours, border.Count);
        var centres = new float[k][];
        for (int c = 0; c < k; c++)
        {
            int p = border[(int)((c + 0.5) * border.Count / k)];
            centres[c] = [d[p], d[p + 1], d[p + 2]];
        }
        var sums = new double[k, 3];
        var counts = new int[k];
        for (int iteration = 0; iteration < 10; iteration++)
        {
            Array.Clear(sums);
            Array.Clear(counts);
            foreach (int p in border)
            {
                int nearest = Nearest(centres, d[p], d[p + 1], d[p + 2], out _);
                counts[nearest]++;
                for (int ch = 0; ch < 3; ch++) sums[nearest, ch] += d[p + ch];
            }
            for (int c = 0; c < k; c++)
                if (counts[c] > 0)
                    for (int ch = 0; ch < 3; ch++) centres[c][ch] = (float)(sums[c, ch] / counts[c]);
        }
        return centres;
    }

    private static int Nearest(float[][] centres, float r, float g, float b, out float distance)
    {
        int best = 0;
        float bestSquared = float.MaxValue;
        for (int c = 0; c < centres.Length; c++)
        {
            float dr = r - centres[c][0], dg = g - centres[c][1], db = b - centres[c][2];
            float squared = dr * dr + dg * dg + db * db;
            if (squared < bestSquared)
            {
                bestSquared = squared;
                best = c;
            }
        }
        distance = MathF.Sqrt(bestSquared);
        return best;
    }

    /// <summary>Otsu's threshold: the bin that best separates the histogram into two classes (object is above it).</summary>
    private static double Otsu(long[] histogram)
    {
        long total = 0;
        double sum = 0;
        for (int i = 0; i < histogram.Length; i++)
        {
            total += histogram[i];
            sum += (double)i * histogram[i];
        }
        long below = 0;
        double sumBelow = 0, best = -1;
        int bestBin = 0;
        for (int t = 0; t < histogram.Length - 1; t++)
        {
            below += histogram[t];
            sumBelow += (double)t * histogram[t];
            long above = total - below;
            if (below == 0 || above == 0) continue;
            double meanBelow = sumBelow / below, meanAbove = (sum - sumBelow) / above;
            double between = (double)below * above * (meanBelow - meanAbove) * (meanBelow - meanAbove);
            if (between > best)
            {
                best = between;
                bestBin = t;
            }
        }
        return bestBin + 0.5;
    }

    /// <summary>Object pixels in each pixel's (2r+1)^2 window, clipped to the image (summed-area table).</summary>
    private static int[] WindowCounts(bool[] mask, int w, int h, int r, out int[] windowArea)
    {
        var table = new int[(w + 1) * (h + 1)];
        for (int y = 0; y < h; y++)
        {
            int row = 0;
            for (int x = 0; x < w; x++)
            {
                row += mask[y * w + x] ? 1 : 0;
                table[(y + 1) * (w + 1) + x + 1] = table[y * (w + 1) + x + 1] + row;
            }
        }
        var counts = new int[w * h];
        windowArea = new int[w * h];
        for (int y = 0; y < h; y++)
        {
            int top = Math.Max(0, y - r), bottom = Math.Min(h, y + r + 1);
            for (int x = 0; x < w; x++)
            {
                int left = Math.Max(0, x - r), right = Math.Min(w, x + r + 1);
                counts[y * w + x] = table[bottom * (w + 1) + right] - table[top * (w + 1) + right]
                                  - table[bottom * (w + 1) + left] + table[top * (w + 1) + left];
                windowArea[y * w + x] = (bottom - top) * (right - left);
            }
        }
        return counts;
    }

    private static bool[] Dilate(bool[] mask, int w, int h, int r)
    {
        var counts = WindowCounts(mask, w, h, r, out _);
        var result = new bool[mask.Length];
        for (int i = 0; i < mask.Length; i++) result[i] = counts[i] > 0;
        return result;
    }

    /// <summary>Erosion that treats the outside of the image as object, so the border does not eat into the mask.</summary>
    private static bool[] Erode(bool[] mask, int w, int h, int r)
    {
        var counts = WindowCounts(mask, w, h, r, out var area);
        var result = new bool[mask.Length];
        for (int i = 0; i < mask.Length; i++) result[i] = counts[i] == area[i];
        return result;
    }

    private static void FillHoles(bool[] mask, int w, int h)
    {
        var outside = new bool[mask.Length];
        var stack = new Stack<int>();
        for (int x = 0; x < w; x++)
        {
            Seed(x);
            Seed((h - 1) * w + x);
        }
        for (int y = 0; y < h; y++)
        {
            Seed(y * w);
            Seed(y * w + w - 1);
        }
        while (stack.Count > 0)
        {
            int p = stack.Pop(), x = p % w;
            if (x > 0) Seed(p - 1);
            if (x < w - 1) Seed(p + 1);
            if (p >= w) Seed(p - w);
            if (p < mask.Length - w) Seed(p + w);
        }
        for (int i = 0; i < mask.Length; i++) mask[i] = !outside[i];

        void Seed(int p)
        {
            if (mask[p] || outside[p]) return;
            outside[p] = true;
            stack.Push(p);
        }
    }

    private static void KeepLargest(bool[] mask, int w)
    {
        var label = new int[mask.Length];
        var stack = new Stack<int>();
        int next = 0, bestLabel = 0, bestSize = 0;
        for (int start = 0; start < mask.Length; start++)
        {
            if (!mask[start] || label[start] != 0) continue;
            int id = ++next, size = 0;
            label[start] = id;
            stack.Push(start);
            while (stack.Count > 0)
            {
                int p = stack.Pop(), x = p % w;
                size++;
                if (x > 0) Visit(p - 1, id);
                if (x < w - 1) Visit(p + 1, id);
                if (p >= w) Visit(p - w, id);
                if (p < mask.Length - w) Visit(p + w, id);
            }
            if (size > bestSize)
            {
                bestSize = size;
                bestLabel = id;
            }
        }
        for (int i = 0; i < mask.Length; i++) mask[i] = label[i] == bestLabel && bestLabel != 0;

        void Visit(int p, int id)
        {
            if (!mask[p] || label[p] != 0) return;
            label[p] = id;
            stack.Push(p);
        }
    }
}
