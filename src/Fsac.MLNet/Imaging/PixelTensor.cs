using TorchSharp;

namespace Fsac.MLNet.Imaging;

/// <summary>
/// A float32 CPU tensor that images are resampled straight into: the values are written in libtorch's memory rather
/// than into a managed array that is copied into a tensor, so that a batch costs no large-object garbage.
/// </summary>
internal static unsafe class PixelTensor
{
    /// <summary>An uninitialised contiguous float32 tensor of <paramref name="shape"/>, and the address of its values.</summary>
    public static torch.Tensor Empty(long[] shape, out IntPtr address)
    {
        var tensor = torch.empty(shape, torch.float32);
        fixed (byte* data = tensor.bytes) address = (IntPtr)data; // libtorch's memory: it does not move
        return tensor;
    }

    /// <summary>
    /// <paramref name="length"/> values from <paramref name="offset"/> of the tensor at <paramref name="address"/>
    /// (<see cref="Empty"/>), which must stay alive while the span is used.
    /// </summary>
    public static Span<float> Slice(IntPtr address, long offset, int length) => new((float*)address + offset, length);
}
