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

    /// <summary>Copies the bytes into a new CPU tensor of the same type and shape.</summary>
    public torch.Tensor ToTensor()
    {
        var t = torch.empty(Shape, DType);
        t.bytes = Data;
        return t;
    }

    /// <summary>Copies a CPU tensor's contents out of TorchSharp.</summary>
    public static TensorData FromTensor(torch.Tensor tensor)
    {
        using var c = tensor.cpu().contiguous();
        return new TensorData(c.dtype, c.shape.ToArray(), c.bytes.ToArray());
    }
}
