namespace Fsac.MLNet.Encoders.ResNet;

/// <summary>
/// The architecture of a basic-block ResNet up to its global average pool, as read from an ONNX graph:
/// stem conv-BN-ReLU, stem max pool, then stages of blocks. Module names follow torchvision
/// (<c>conv1</c>, <c>bn1</c>, <c>layer1.0.conv1</c>, <c>layer2.0.downsample.0</c>, ...).
/// </summary>
/// <param name="Stem">The stem convolution (<c>conv1</c>/<c>bn1</c>).</param>
/// <param name="PoolKernel">Stem max-pool window side.</param>
/// <param name="PoolStride">Stem max-pool stride.</param>
/// <param name="PoolPadding">Stem max-pool padding (padded cells never win the max).</param>
/// <param name="Stages">Blocks of <c>layer1</c>, <c>layer2</c>, ... in order.</param>
internal sealed record ResNetConfig(
    ConvBnSpec Stem,
    long PoolKernel,
    long PoolStride,
    Padding2d PoolPadding,
    IReadOnlyList<IReadOnlyList<BlockSpec>> Stages)
{
    /// <summary>Channels of the pooled feature vector.</summary>
    public long FeatureDim => Stages[^1][^1].Conv2.OutChannels;
}
