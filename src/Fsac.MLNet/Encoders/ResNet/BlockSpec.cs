namespace Fsac.MLNet.Encoders.ResNet;

/// <summary>
/// A ResNet basic block: two 3x3 conv-BN layers with a ReLU between them, plus a shortcut that is either the
/// identity or a projection (1x1 conv-BN) when the block changes resolution or width.
/// </summary>
/// <param name="Conv1">First conv-BN (may be strided).</param>
/// <param name="Conv2">Second conv-BN.</param>
/// <param name="Downsample">Projection shortcut; null for the identity.</param>
internal sealed record BlockSpec(ConvBnSpec Conv1, ConvBnSpec Conv2, ConvBnSpec? Downsample);
