namespace Fsac.MLNet.Metrics;

/// <summary>
/// Pixel-level anomaly segmentation metrics: P-AUROC over all pixels pooled and AUPRO, the MVTec AD area under the
/// per-region overlap curve. Maps and masks are row-major, one array per image; a pixel is anomalous where its mask is
/// true and higher scores mean more anomalous. Both metrics come from one sort of every pixel score and handle tied
/// scores exactly: a threshold never separates two equal scores.
/// </summary>
internal static class PixelMetrics
{
    /// <summary>
    /// Area under the ROC curve over every pixel of every image pooled: the probability that a random defect pixel
    /// scores higher than a random normal one, ties counting one half (as <see cref="ImageMetrics.Auroc"/>).
    /// </summary>
    /// <param name="maps">Anomaly maps, one per image.</param>
    /// <param name="masks">Ground-truth masks, one per image, each as long as its map.</param>
    /// <exception cref="ArgumentException">
    /// The image counts or an image's map and mask lengths differ, a score is NaN, or there is no defect pixel or no
    /// normal pixel.
    /// </exception>
    public static double PixelAuroc(IReadOnlyList<float[]> maps, IReadOnlyList<bool[]> masks)
    {
        var (keys, labels) = Pool(maps, masks);
        long positives = 0;
        foreach (var l in labels) positives += l;
        long negatives = keys.Length - positives;
        if (positives == 0) throw new ArgumentException("At least one defect pixel (mask true) is required.", nameof(masks));
        if (negatives == 0) throw new ArgumentException("At least one normal pixel (mask false) is required.", nameof(masks));

        Array.Sort(keys, labels);
        // Twice the Mann–Whitney U: each defect pixel counts 2 per lower normal pixel and 1 per tied one.
        long twiceU = 0, negativesBelow = 0;
        for (int start = 0; start < keys.Length;)
        {
            int end = start;
            long p = 0;
            float value = keys[start];
            while (end < keys.Length && keys[end] == value) p += labels[end++];
            long n = end - start - p;
            twiceU += p * (2 * negativesBelow + n);
            negativesBelow += n;
            start = end;
        }
        return twiceU / (2.0 * positives * negatives);
    }

    /// <summary>
    /// The MVTec AD AUPRO: the area under the per-region overlap (PRO) curve over false positive rates 0 to
    /// <paramref name="maxFpr"/>, divided by <paramref name="maxFpr"/> so that a perfect map gives 1. The regions are
    /// the 8-connected components of each mask. At a threshold t, PRO(t) is the mean over all regions of the fraction
    /// of the region's pixels scoring at least t, and FPR(t) the fraction of all normal pixels (every image, defect-free
    /// ones included) scoring at least t. The curve runs from (0, 0) through one point per distinct score, highest
    /// first; it is integrated with the trapezoid rule and interpolated linearly at exactly <paramref name="maxFpr"/>,
    /// as the MVTec AD reference evaluation computes it.
    /// </summary>
    /// <param name="maps">Anomaly maps, one per image.</param>
    /// <param name="masks">Ground-truth masks, one per image, each as long as its map.</param>
    /// <param name="widths">Width of each image (its height is its length divided by the width).</param>
    /// <param name="maxFpr">The false positive rate the integration stops at, in (0, 1].</param>
    /// <exception cref="ArgumentException">
    /// The counts or lengths differ, a length is not a multiple of its width, a score is NaN, or there is no defect
    /// region or no normal pixel.
    /// </exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="maxFpr"/> is not in (0, 1], or a width is not positive.</exception>
    public static double Aupro(IReadOnlyList<float[]> maps, IReadOnlyList<bool[]> masks, IReadOnlyList<int> widths, double maxFpr = 0.3)
    {
        ArgumentNullException.ThrowIfNull(widths);
        if (!(maxFpr > 0 && maxFpr <= 1)) throw new ArgumentOutOfRangeException(nameof(maxFpr), maxFpr, "The maximum FPR must be in (0, 1].");
        CheckShapes(maps, masks);
        if (widths.Count != maps.Count)
            throw new ArgumentException($"{maps.Count} maps but {widths.Count} widths.", nameof(widths));

        long total = 0;
        for (int i = 0; i < maps.Count; i++)
        {
            if (widths[i] <= 0) throw new ArgumentOutOfRangeException(nameof(widths), widths[i], $"Width of image {i} must be positive.");
            if (maps[i].Length % widths[i] != 0)
                throw new ArgumentException($"Image {i} has {maps[i].Length} pixels, not a multiple of its width {widths[i]}.", nameof(widths));
            total += maps[i].Length;
        }
        if (total > Array.MaxLength) throw new ArgumentException($"{total} pixels are more than one array can hold.", nameof(maps));

        // Label every pixel with its global region (1, 2, …) or 0 for a normal pixel.
        var keys = new float[total];
        var regions = new int[total];
        var sizes = new List<int> { 0 };
        long normals = 0;
        int offset = 0;
        for (int i = 0; i < maps.Count; i++)
        {
            var map = maps[i];
            CheckNoNaN(map, i);
            map.CopyTo(keys, offset);
            var labels = regions.AsSpan(offset, map.Length);
            normals += LabelRegions(masks[i], widths[i], labels, sizes);
            offset += map.Length;
        }
        int regionCount = sizes.Count - 1;
        if (regionCount == 0) throw new ArgumentException("At least one defect region (mask true) is required.", nameof(masks));
        if (normals == 0) throw new ArgumentException("At least one normal pixel (mask false) is required.", nameof(masks));

        // Each pixel of region r raises the PRO by 1 / (R·|r|).
        var step = new double[sizes.Count];
        for (int r = 1; r < sizes.Count; r++) step[r] = 1.0 / ((double)regionCount * sizes[r]);

        Array.Sort(keys, regions);
        double area = 0, previousFpr = 0, previousPro = 0;
        double pro = 0, compensation = 0; // Neumaier summation keeps the PRO exact to rounding over millions of steps.
        long falsePositives = 0;
        for (int end = keys.Length - 1; end >= 0;)
        {
            float value = keys[end];
            for (; end >= 0 && keys[end] == value; end--)
            {
                int r = regions[end];
                if (r == 0) { falsePositives++; continue; }
                double t = pro + step[r];
                compensation += Math.Abs(pro) >= step[r] ? pro - t + step[r] : step[r] - t + pro;
                pro = t;
            }
            double fpr = (double)falsePositives / normals;
            double y = Math.Min(pro + compensation, 1.0);
            if (fpr > maxFpr)
            {
                double atMax = previousPro + (y - previousPro) * (maxFpr - previousFpr) / (fpr - previousFpr);
                area += 0.5 * (previousPro + atMax) * (maxFpr - previousFpr);
                previousFpr = maxFpr;
                break;
            }
            area += 0.5 * (previousPro + y) * (fpr - previousFpr);
            (previousFpr, previousPro) = (fpr, y);
        }
        return area / maxFpr;
    }

    /// <summary>
    /// Writes the 8-connected component of every true pixel of <paramref name="mask"/> into <paramref name="labels"/>
    /// as a global region number (appending each region's size to <paramref name="sizes"/>), 0 for false pixels.
    /// Returns the number of false pixels.
    /// </summary>
    private static long LabelRegions(bool[] mask, int width, Span<int> labels, List<int> sizes)
    {
        int height = mask.Length / width;
        long normals = 0;
        var queue = new Queue<int>();
        for (int start = 0; start < mask.Length; start++)
        {
            if (!mask[start]) { normals++; continue; }
            if (labels[start] != 0) continue;
            int region = sizes.Count, size = 0;
            labels[start] = region;
            queue.Enqueue(start);
            while (queue.TryDequeue(out int p))
            {
                size++;
                int px = p % width, py = p / width;
                for (int y = Math.Max(py - 1, 0); y <= Math.Min(py + 1, height - 1); y++)
                    for (int x = Math.Max(px - 1, 0); x <= Math.Min(px + 1, width - 1); x++)
                    {
                        int q = y * width + x;
                        if (!mask[q] || labels[q] != 0) continue;
                        labels[q] = region;
                        queue.Enqueue(q);
                    }
            }
            sizes.Add(size);
        }
        return normals;
    }

    private static (float[] Keys, byte[] Labels) Pool(IReadOnlyList<float[]> maps, IReadOnlyList<bool[]> masks)
    {
        CheckShapes(maps, masks);
        long total = 0;
        foreach (var map in maps) total += map.Length;
        if (total > Array.MaxLength) throw new ArgumentException($"{total} pixels are more than one array can hold.", nameof(maps));
        var keys = new float[total];
        var labels = new byte[total];
        int offset = 0;
        for (int i = 0; i < maps.Count; i++)
        {
            CheckNoNaN(maps[i], i);
            maps[i].CopyTo(keys, offset);
            var mask = masks[i];
            for (int j = 0; j < mask.Length; j++) labels[offset + j] = mask[j] ? (byte)1 : (byte)0;
            offset += mask.Length;
        }
        return (keys, labels);
    }

    private static void CheckShapes(IReadOnlyList<float[]> maps, IReadOnlyList<bool[]> masks)
    {
        ArgumentNullException.ThrowIfNull(maps);
        ArgumentNullException.ThrowIfNull(masks);
        if (maps.Count != masks.Count) throw new ArgumentException($"{maps.Count} maps but {masks.Count} masks.", nameof(masks));
        for (int i = 0; i < maps.Count; i++)
        {
            if (maps[i] is null) throw new ArgumentException($"Map {i} is null.", nameof(maps));
            if (masks[i] is null) throw new ArgumentException($"Mask {i} is null.", nameof(masks));
            if (maps[i].Length != masks[i].Length)
                throw new ArgumentException($"Image {i}: the map has {maps[i].Length} pixels but the mask {masks[i].Length}.", nameof(masks));
        }
    }

    private static void CheckNoNaN(float[] map, int image)
    {
        if (Array.Exists(map, float.IsNaN))
            throw new ArgumentException($"Map {image} holds a NaN score.", "maps");
    }
}
