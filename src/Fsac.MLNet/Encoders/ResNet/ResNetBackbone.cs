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

    /// <summary>The architecture the network was built from.</summary>
    public ResNetConfig Config => _config;

    /// <summary>
    /// Converts the stages' weights to bfloat16 and keeps the stem (<c>conv1</c>, <c>bn1</c>) in float32: its input is
    /// three channels of pixels on the 0..255 scale, which bfloat16's 8-bit mantissa rounds by up to 0.5, and that
    /// rounding cost the circuit boards' features most of their distance to float32 (cosine 0.9986 with the stem in
    /// bfloat16, 0.9998 without, on deeppcb/group12100), for about 6% of the network's products.
    /// <see cref="Features"/> then takes float32 pixels and hands the stem's output to the stages in bfloat16.
    /// </summary>
    public void ToBFloat16()
    {
        foreach (var stage in _stages) stage.to(ScalarType.BFloat16);
    }

    /// <inheritdoc />
    public override Tensor forward(Tensor input) => Features(input, pooled: true, patches: false).Pooled!;

    /// <summary>Channels of <see cref="Features"/>' patch grid: layer2's plus layer3's.</summary>
    public long PatchChannels => _config.Stages.Count >= 3
        ? _config.Stages[1][^1].Conv2.OutChannels + _config.Stages[2][^1].Conv2.OutChannels
        : throw new InvalidOperationException("The network has fewer than three stages.");

    /// <summary>
    /// One pass over <paramref name="input"/> <c>[N, 3, H, W]</c>: the global-average-pooled last stage <c>[N, C]</c>
    /// and/or PatchCore's local features: the maps of layer2 (stride 8) and layer3 (stride 16), each averaged over
    /// 3x3 neighbourhoods (stride 1, zero padding counted out), layer3 upsampled bilinearly to layer2's grid, and the
    /// two concatenated, <c>[N, C2 + C3, H/8, W/8]</c>. Layer4 is not run when only patches are asked for.
    /// </summary>
    public (Tensor? Pooled, Tensor? Patches) Features(Tensor input, bool pooled, bool patches)
    {
        using var scope = NewDisposeScope();
        // The stem's weights and the stages' may differ in type (ToBFloat16); each part takes its input in its own.
        var x = nn.functional.relu(bn1.forward(conv1.forward(input.to(bn1.weight!.dtype))));
        var pool = _config.PoolPadding;
        long[] kernel = [_config.PoolKernel, _config.PoolKernel], stride = [_config.PoolStride, _config.PoolStride];
        x = pool.IsSymmetric
            ? nn.functional.max_pool2d(x, kernel, stride, [pool.Top, pool.Left])
            : nn.functional.max_pool2d(nn.functional.pad(x, pool.ToTorchPad(), value: double.NegativeInfinity), kernel, stride);
        Tensor? layer2 = null, layer3 = null;
        int last = pooled ? _stages.Length : Math.Min(3, _stages.Length);
        if (last > 0) x = x.to(_stages[0].parameters().First().dtype);
        for (int i = 0; i < last; i++)
        {
            x = _stages[i].forward(x);
            if (i == 1) layer2 = x;
            if (i == 2) layer3 = x;
        }
        Tensor? dense = null;
        if (patches)
        {
            if (layer2 is null || layer3 is null) throw new InvalidOperationException("The network has fewer than three stages.");
            var local2 = nn.functional.avg_pool2d(layer2, 3, 1, 1, count_include_pad: false);
            var local3 = nn.functional.avg_pool2d(layer3, 3, 1, 1, count_include_pad: false);
            var up3 = nn.functional.interpolate(local3, [local2.shape[2], local2.shape[3]], mode: InterpolationMode.Bilinear, align_corners: false);
            dense = cat([local2, up3], 1).MoveToOuterDisposeScope();
        }
        var global = pooled ? x.mean([2, 3]).MoveToOuterDisposeScope() : null;
        return (global, dense);
    }
}
