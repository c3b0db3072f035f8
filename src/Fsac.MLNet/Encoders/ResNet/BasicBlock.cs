using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Fsac.MLNet.Encoders.ResNet;

/// <summary>
/// ResNet basic block: <c>relu(bn2(conv2(relu(bn1(conv1(x))))) + shortcut(x))</c>, the shortcut being the identity
/// or <c>downsample</c> = 1x1 conv (<c>downsample.0</c>) + BN (<c>downsample.1</c>).
/// </summary>
internal sealed class BasicBlock : nn.Module<Tensor, Tensor>
{
    // Field names are the module names in the state dictionary.
    private readonly PaddedConv2d conv1;
    private readonly BatchNorm2d bn1;
    private readonly PaddedConv2d conv2;
    private readonly BatchNorm2d bn2;
    private readonly Sequential? downsample;

    /// <summary>Creates the block of <paramref name="spec"/> with uninitialised weights.</summary>
    public BasicBlock(BlockSpec spec) : base(nameof(BasicBlock))
    {
        conv1 = new PaddedConv2d(spec.Conv1);
        bn1 = nn.BatchNorm2d(spec.Conv1.OutChannels, eps: spec.Conv1.Epsilon);
        conv2 = new PaddedConv2d(spec.Conv2);
        bn2 = nn.BatchNorm2d(spec.Conv2.OutChannels, eps: spec.Conv2.Epsilon);
        if (spec.Downsample is { } d)
            downsample = nn.Sequential(new PaddedConv2d(d), nn.BatchNorm2d(d.OutChannels, eps: d.Epsilon));
        RegisterComponents();
    }

    /// <inheritdoc />
    public override Tensor forward(Tensor input)
    {
        using var scope = NewDisposeScope();
        var y = nn.functional.relu(bn1.forward(conv1.forward(input)));
        y = bn2.forward(conv2.forward(y));
        var shortcut = downsample is null ? input : downsample.forward(input);
        return nn.functional.relu(y.add_(shortcut)).MoveToOuterDisposeScope();
    }
}
