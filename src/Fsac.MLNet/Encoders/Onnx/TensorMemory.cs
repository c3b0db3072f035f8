using System.Buffers;
using TorchSharp;

namespace Fsac.MLNet.Encoders.Onnx;

/// <summary>
/// The bytes of a contiguous CPU tensor as <see cref="Memory{T}"/>, without a copy, for protobuf to serialise straight
/// from libtorch's memory. Holds its own handle to the tensor, so that the storage lives while this does.
/// </summary>
internal sealed unsafe class TensorMemory : MemoryManager<byte>
{
    private readonly torch.Tensor _tensor;
    private readonly byte* _data;
    private readonly int _length;

    /// <summary>A view of <paramref name="tensor"/>'s bytes; <paramref name="tensor"/> is owned from here.</summary>
    /// <exception cref="ArgumentException">The tensor is not contiguous on the CPU, or larger than one span.</exception>
    public TensorMemory(torch.Tensor tensor)
    {
        if (tensor.device_type != DeviceType.CPU || !tensor.is_contiguous())
            throw new ArgumentException("Only a contiguous CPU tensor's bytes can be viewed in place.", nameof(tensor));
        var bytes = tensor.bytes;
        _tensor = tensor;
        _length = bytes.Length;
        fixed (byte* data = bytes) _data = data; // libtorch's memory: it does not move
    }

    /// <inheritdoc />
    public override Span<byte> GetSpan() => new(_data, _length);

    /// <inheritdoc />
    public override MemoryHandle Pin(int elementIndex = 0) => new(_data + elementIndex);

    /// <inheritdoc />
    public override void Unpin() { }

    /// <inheritdoc />
    protected override void Dispose(bool disposing)
    {
        if (disposing) _tensor.Dispose();
    }
}
