namespace Fsac.MLNet.Checkpoints;

/// <summary>
/// Copies a strided view of raw element bytes into a new contiguous row-major array: how a PyTorch
/// tensor that is a non-contiguous view (a transpose, a slice) of its storage gets materialised.
/// </summary>
internal static class StridedCopy
{
    /// <summary>
    /// The elements of the view <paramref name="shape"/>/<paramref name="stride"/> starting at element
    /// <paramref name="offset"/> of <paramref name="source"/>, contiguous. The caller has checked the bounds.
    /// </summary>
    public static byte[] Materialize(ReadOnlySpan<byte> source, int elementSize, long offset, long[] shape, long[] stride)
    {
        long count = shape.Aggregate(1L, (a, b) => a * b);
        var result = new byte[count * elementSize];
        if (count == 0) return result;
        if (IsContiguous(shape, stride))
        {
            source.Slice(checked((int)(offset * elementSize)), result.Length).CopyTo(result);
            return result;
        }

        int rank = shape.Length;
        var index = new long[rank];
        long src = offset;
        for (long i = 0; i < count; i++)
        {
            source.Slice((int)(src * elementSize), elementSize).CopyTo(result.AsSpan((int)(i * elementSize), elementSize));
            // Odometer increment over the view's indices, innermost dimension fastest.
            for (int d = rank - 1; d >= 0; d--)
            {
                src += stride[d];
                if (++index[d] < shape[d]) break;
                src -= stride[d] * shape[d];
                index[d] = 0;
            }
        }
        return result;
    }

    /// <summary>The 2-D array <paramref name="data"/> of <paramref name="rows"/> x <paramref name="cols"/> elements, transposed.</summary>
    public static byte[] Transpose(byte[] data, int elementSize, long rows, long cols)
        => Materialize(data, elementSize, 0, [cols, rows], [1, cols]);

    /// <summary>True when the stride is the row-major stride of the shape (size-1 dimensions may have any stride).</summary>
    private static bool IsContiguous(long[] shape, long[] stride)
    {
        long expected = 1;
        for (int d = shape.Length - 1; d >= 0; d--)
        {
            if (shape[d] != 1 && stride[d] != expected) return false;
            expected *= shape[d];
        }
        return true;
    }
}
