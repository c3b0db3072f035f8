using System.Buffers;

namespace Fsac.MLNet.Imaging;

/// <summary>
/// PIL's separable convolution resize (<c>Image.resize</c> with BICUBIC or BILINEAR, no reducing gap) for
/// 8-bit RGB, bit for bit: per output pixel, the kernel is centred at <c>(i + 0.5) · scale</c>, widened by
/// the scale when shrinking (antialiasing), normalised to sum 1, and applied in 22-bit fixed point; the
/// horizontal pass runs first and rounds to 8 bits before the vertical pass, as PIL does.
/// </summary>
internal static class PilResampler
{
    private const int PrecisionBits = 32 - 8 - 2;
    private const int Channels = 3;

    /// <summary>
    /// Resizes <paramref name="src"/> (<paramref name="srcWidth"/> × <paramref name="srcHeight"/>, RGB interleaved) to
    /// <paramref name="outWidth"/> × <paramref name="outHeight"/> but computes only the window of
    /// <paramref name="width"/> × <paramref name="height"/> pixels at (<paramref name="x0"/>, <paramref name="y0"/>) of
    /// the result, written RGB interleaved to <paramref name="dst"/>.
    /// </summary>
    public static void Resize(ReadOnlySpan<byte> src, int srcWidth, int srcHeight, int outWidth, int outHeight,
        int x0, int y0, int width, int height, ImageInterpolation filter, Span<byte> dst)
    {
        var horizontal = Kernel.Compute(srcWidth, outWidth, x0, width, filter);
        var vertical = Kernel.Compute(srcHeight, outHeight, y0, height, filter);
        int firstRow = vertical.Start[0];
        int rows = vertical.Start[height - 1] + vertical.Count[height - 1] - firstRow;

        // The horizontal pass covers only the source rows the vertical pass will read.
        int tmpStride = width * Channels;
        var tmpArray = ArrayPool<byte>.Shared.Rent(rows * tmpStride);
        var accArray = ArrayPool<int>.Shared.Rent(tmpStride);
        try
        {
            Horizontal(src, srcWidth, horizontal, firstRow, rows, width, tmpArray.AsSpan(0, rows * tmpStride));
            Vertical(tmpArray.AsSpan(0, rows * tmpStride), tmpStride, vertical, firstRow, height, accArray.AsSpan(0, tmpStride), dst);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(tmpArray);
            ArrayPool<int>.Shared.Return(accArray);
        }
    }

    private static void Horizontal(ReadOnlySpan<byte> src, int srcWidth, Kernel horizontal, int firstRow, int rows, int width, Span<byte> tmp)
    {
        int tmpStride = width * Channels;
        int srcStride = srcWidth * Channels;
        for (int r = 0; r < rows; r++)
        {
            var line = src.Slice((firstRow + r) * srcStride, srcStride);
            var outLine = tmp.Slice(r * tmpStride, tmpStride);
            for (int x = 0; x < width; x++)
            {
                var k = horizontal.Weights(x);
                var taps = line.Slice(horizontal.Start[x] * Channels, k.Length * Channels);
                int s0 = 1 << (PrecisionBits - 1), s1 = s0, s2 = s0;
                for (int j = 0; j < k.Length; j++)
                {
                    s0 += taps[j * Channels] * k[j];
                    s1 += taps[j * Channels + 1] * k[j];
                    s2 += taps[j * Channels + 2] * k[j];
                }
                outLine[x * Channels] = Clip8(s0);
                outLine[x * Channels + 1] = Clip8(s1);
                outLine[x * Channels + 2] = Clip8(s2);
            }
        }
    }

    // Row by row into an accumulator line, so that every tap reads one contiguous row.
    private static void Vertical(ReadOnlySpan<byte> tmp, int stride, Kernel vertical, int firstRow, int height, Span<int> acc, Span<byte> dst)
    {
        for (int y = 0; y < height; y++)
        {
            var k = vertical.Weights(y);
            int top = vertical.Start[y] - firstRow;
            acc.Fill(1 << (PrecisionBits - 1));
            for (int j = 0; j < k.Length; j++)
            {
                var row = tmp.Slice((top + j) * stride, stride);
                int w = k[j];
                for (int i = 0; i < row.Length; i++) acc[i] += row[i] * w;
            }
            var outLine = dst.Slice(y * stride, stride);
            for (int i = 0; i < outLine.Length; i++) outLine[i] = Clip8(acc[i]);
        }
    }

    private static byte Clip8(int s)
    {
        int v = s >> PrecisionBits;
        return v < 0 ? (byte)0 : v > 255 ? (byte)255 : (byte)v;
    }

    private static double Filter(double x, ImageInterpolation filter)
    {
        x = Math.Abs(x);
        if (filter == ImageInterpolation.Bilinear) return x < 1.0 ? 1.0 - x : 0.0;
        const double a = -0.5;
        if (x < 1.0) return ((a + 2.0) * x - (a + 3.0)) * x * x + 1.0;
        if (x < 2.0) return (((x - 5.0) * x + 8.0) * x - 4.0) * a;
        return 0.0;
    }

    /// <summary>Fixed-point kernels of output positions <c>first .. first + count - 1</c> along one axis.</summary>
    private sealed class Kernel
    {
        private readonly int[] _weights;
        private readonly int _stride;

        private Kernel(int count, int stride)
        {
            Start = new int[count];
            Count = new int[count];
            _weights = new int[count * stride];
            _stride = stride;
        }

        /// <summary>First input index each output position reads.</summary>
        public int[] Start { get; }

        /// <summary>Number of input indices each output position reads.</summary>
        public int[] Count { get; }

        /// <summary>The weights of the <paramref name="i"/>-th computed output position.</summary>
        public ReadOnlySpan<int> Weights(int i) => _weights.AsSpan(i * _stride, Count[i]);

        public static Kernel Compute(int inSize, int outSize, int first, int count, ImageInterpolation filter)
        {
            double support = filter == ImageInterpolation.Bilinear ? 1.0 : 2.0;
            double scale = (double)inSize / outSize;
            double filterScale = Math.Max(scale, 1.0);
            support *= filterScale;
            var kernel = new Kernel(count, (int)Math.Ceiling(support) * 2 + 1);
            var k = new double[kernel._stride];
            double inverseScale = 1.0 / filterScale; // PIL multiplies by the reciprocal; dividing can differ in the last bit
            for (int i = 0; i < count; i++)
            {
                double center = (first + i + 0.5) * scale;
                int xmin = Math.Max((int)(center - support + 0.5), 0);
                int xmax = Math.Min((int)(center + support + 0.5), inSize) - xmin;
                double sum = 0;
                for (int x = 0; x < xmax; x++)
                {
                    k[x] = Filter((x + xmin - center + 0.5) * inverseScale, filter);
                    sum += k[x];
                }
                var w = kernel._weights.AsSpan(i * kernel._stride, xmax);
                for (int x = 0; x < xmax; x++)
                {
                    double v = sum != 0.0 ? k[x] / sum : k[x];
                    w[x] = (int)(v < 0 ? -0.5 + v * (1 << PrecisionBits) : 0.5 + v * (1 << PrecisionBits));
                }
                kernel.Start[i] = xmin;
                kernel.Count[i] = xmax;
            }
            return kernel;
        }
    }
}
