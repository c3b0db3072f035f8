namespace Fsac.MLNet.Encoders.ResNet;

/// <summary>
/// Input normalisation read from ML.NET's <c>ResNetPreprocess.onnx</c>: the model takes pixels on the 0..255 scale,
/// reorders the channels, then subtracts a per-pixel mean image.
/// </summary>
/// <param name="ImageSize">Side S of the square input.</param>
/// <param name="ChannelOrder">Output channel c is input (RGB) channel <c>ChannelOrder[c]</c>; {2, 1, 0} means BGR.</param>
/// <param name="Mean">Mean image <c>[3, S, S]</c> (output channel order), row-major, subtracted from the reordered pixels.</param>
internal sealed record PreprocessSpec(int ImageSize, int[] ChannelOrder, float[] Mean);
