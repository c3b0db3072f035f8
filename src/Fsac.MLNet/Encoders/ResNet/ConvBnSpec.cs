namespace Fsac.MLNet.Encoders.ResNet;

/// <summary>A bias-free square convolution followed by batch normalisation, as every ResNet convolution is.</summary>
/// <param name="InChannels">Input channels.</param>
/// <param name="OutChannels">Output channels (and batch-norm features).</param>
/// <param name="Kernel">Kernel side.</param>
/// <param name="Stride">Stride along both axes.</param>
/// <param name="Padding">Padding per side.</param>
/// <param name="Epsilon">Batch-norm epsilon.</param>
internal sealed record ConvBnSpec(long InChannels, long OutChannels, long Kernel, long Stride, Padding2d Padding, double Epsilon);
