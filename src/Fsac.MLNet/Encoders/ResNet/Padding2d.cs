namespace Fsac.MLNet.Encoders.ResNet;

/// <summary>
/// Zero (or, for pooling, minus-infinity) padding of a 2-D window operator, per side. ONNX models exported by
/// CNTK pad asymmetrically (e.g. 3 before and 2 after), which PyTorch's symmetric <c>padding</c> cannot express.
/// </summary>
/// <param name="Top">Rows added above.</param>
/// <param name="Left">Columns added on the left.</param>
/// <param name="Bottom">Rows added below.</param>
/// <param name="Right">Columns added on the right.</param>
internal sealed record Padding2d(long Top, long Left, long Bottom, long Right)
{
    /// <summary>True when each axis has the same padding on both sides.</summary>
    public bool IsSymmetric => Top == Bottom && Left == Right;

    /// <summary>Spatial output length of a window of <paramref name="kernel"/> and <paramref name="stride"/> over <paramref name="height"/> rows.</summary>
    public long OutputHeight(long height, long kernel, long stride) => (height + Top + Bottom - kernel) / stride + 1;

    /// <summary>Spatial output length of a window of <paramref name="kernel"/> and <paramref name="stride"/> over <paramref name="width"/> columns.</summary>
    public long OutputWidth(long width, long kernel, long stride) => (width + Left + Right - kernel) / stride + 1;

    /// <summary>The padding in the order <c>torch.nn.functional.pad</c> takes: left, right, top, bottom.</summary>
    public long[] ToTorchPad() => [Left, Right, Top, Bottom];
}
