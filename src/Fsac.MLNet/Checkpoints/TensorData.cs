using TorchSharp;

namespace Fsac.MLNet.Checkpoints;

/// <summary>
/// One tensor read from a checkpoint: element type, shape and raw little-endian bytes.
/// Kept outside TorchSharp until it is needed so that checkpoints can be validated without libtorch.
/// </summary>
/// <param name="DType">Element type.</param>
/// <param name="Shape">Dimensions, outermost first.</param>
/// <param name="Data">Contiguous row-major little-endian bytes.</param>
public sealed record TensorData(torch.ScalarType DType, long[] Shape, byte[] Data)
{
    private byte[]? _data = Data;
    // Where a deferred tensor's bytes are read from, straight into the span given; null once read into _data.
    private readonly Action<Span<byte>>? _read;

    /// <summary>
    /// A tensor whose bytes stay in the checkpoint until asked for: <paramref name="read"/> fills a span of its
    /// <see cref="ElementCount"/> × element size bytes. <see cref="ToTensor"/> reads them straight into libtorch's memory;
    /// <see cref="Data"/> reads and keeps them.
    /// </summary>
    internal TensorData(torch.ScalarType dtype, long[] shape, Action<Span<byte>> read) : this(dtype, shape, (byte[])null!)
    {
        _read = read;
    }

    /// <summary>Contiguous row-major little-endian bytes (read from the checkpoint on first use where deferred).</summary>
    public byte[] Data
    {
        get
        {
            if (_data is null)
            {
                var data = new byte[checked(ElementCount * ElementSize(DType))];
                _read!(data);
                _data = data;
            }
            return _data;
        }
        init => _data = value;
    }

    /// <summary>Number of elements.</summary>
    public long ElementCount => Shape.Aggregate(1L, (a, b) => a * b);

    /// <summary>Size in bytes of one element of <paramref name="dtype"/>.</summary>
    public static int ElementSize(torch.ScalarType dtype) => dtype switch
    {
        torch.ScalarType.Float64 or torch.ScalarType.Int64 => 8,
        torch.ScalarType.Float32 or torch.ScalarType.Int32 => 4,
        torch.ScalarType.Float16 or torch.ScalarType.BFloat16 or torch.ScalarType.Int16 => 2,
        torch.ScalarType.Byte or torch.ScalarType.Int8 or torch.ScalarType.Bool => 1,
        _ => throw new NotSupportedException($"Unsupported tensor element type {dtype}."),
    };

    /// <summary>
    /// Copies the bytes into a new CPU tensor of the same type and shape; a deferred tensor not read yet is read from
    /// its checkpoint straight into the tensor, with no managed copy.
    /// </summary>
    public torch.Tensor ToTensor()
    {
        var t = torch.empty(Shape, DType);
        try
        {
            if (_data is null && _read is not null) _read(t.bytes);
            else t.bytes = Data;
            return t;
        }
        catch
        {
            t.Dispose();
            throw;
        }
    }

    /// <summary>Copies a CPU tensor's contents out of TorchSharp.</summary>
    public static TensorData FromTensor(torch.Tensor tensor)
    {
        using var c = tensor.cpu().contiguous();
        return new TensorData(c.dtype, c.shape.ToArray(), c.bytes.ToArray());
    }
}
