using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Fsac.MLNet.Encoders.ResNet;

/// <summary>
/// A basic-block ResNet without its classifier: <c>[N, 3, H, W]</c> → global-average-pooled features
/// <c>[N, C]</c>. Parameter names follow torchvision (<c>conv1.weight</c>, <c>bn1.running_mean</c>,
/// <c>layer1.0.conv1.weight</c>, <c>layer2.0.downsample.1.bias</c>, ...). Weights are frozen; use in eval mode.
/// </summary>
internal sealed class ResNetBackbone : nn.Module<Tensor, Tensor>
{
    // Field names are the module names in the state dictionary; stages are registered as layer1, layer2, ...
    private readonly PaddedConv2d conv1;
    private readonly BatchNorm2d bn1;
    private readonly Sequential[] _stages;
    private readonly ResNetConfig _config;

    /// <summary>Creates the network of <paramref name="config"/> with uninitialised weights.</summary>
    public ResNetBackbone(ResNetConfig config) : base(nameof(ResNetBackbone))
    {
        _config = config;
        conv1 = new PaddedConv2d(config.Stem);
        bn1 = nn.BatchNorm2d(config.Stem.OutChannels, eps: config.Stem.Epsilon);
        _stages = config.Stages.Select(blocks => nn.Sequential(blocks.Select(b => (nn.Module<Tensor, Tensor>)new BasicBlock(b)))).ToArray();
        RegisterComponents();
        for (var i = 0; i < _stages.Length; i++) register_module($"layer{i + 1}", _stages[i]);
    }

    /// <inheritdoc />
    public override Tensor forward(Tensor input)
    {
        using var scope = NewDisposeScope();
        var x = nn.functional.relu(bn1.forward(conv1.forward(input)));
        var pool = _config.PoolPadding;
        long[] kernel = [_config.PoolKernel, _config.PoolKernel], stride = [_config.PoolStride, _config.PoolStride];
        x = pool.IsSymmetric
            ? nn.functional.max_pool2d(x, kernel, stride, [pool.Top, pool.Left])
            : nn.functional.max_pool2d(nn.functional.pad(x, pool.ToTorchPad(), value: double.NegativeInfinity), kernel, stride);
        foreach (var stage in _stages) x = stage.forward(x);
        return x.mean([2, 3]).MoveToOuterDisposeScope();
    }
}
