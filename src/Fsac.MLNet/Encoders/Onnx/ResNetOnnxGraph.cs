using Fsac.MLNet.Encoders.ResNet;
using static Fsac.MLNet.Encoders.Onnx.OnnxAttributes;
using TorchSharp;

namespace Fsac.MLNet.Encoders.Onnx;

/// <summary>
/// Writes an imported ResNet (<see cref="ResNetBackbone"/>) into an ONNX graph up to PatchCore's patch features, op
/// for op as <see cref="ResNetBackbone.Features"/> computes them: stem conv-BN-ReLU and max pool (per-side pads, padded
/// cells never win), layer1 to layer3, 3x3 average pooling of layer2 and layer3 (stride 1, zero padding not counted),
/// layer3 resized bilinearly (half-pixel centres, PyTorch's <c>align_corners=false</c>) to layer2's grid, and the two
/// concatenated. Batch norm stays a separate inference-mode BatchNormalization node with the stored statistics.
/// </summary>
internal static class ResNetOnnxGraph
{
    /// <summary>
    /// Adds the nodes that turn <paramref name="input"/> (normalised pixels <c>[N, 3, H, W]</c>) into the patch features
    /// <c>[N, C2 + C3, H/8, W/8]</c> and returns that value's name; the weights become initializers named as in the
    /// network's state dictionary.
    /// </summary>
    public static string PatchFeatures(OnnxGraphBuilder g, ResNetBackbone backbone, string input)
    {
        var config = backbone.Config;
        if (config.Stages.Count < 3) throw new NotSupportedException("The network has fewer than three stages; PatchCore needs layer2 and layer3.");
        using var scope = torch.NewDisposeScope();
        var state = backbone.state_dict();
        var x = g.Node("Relu", "relu", [ConvBn(g, state, config.Stem, input, "conv1", "bn1")]);
        var pool = config.PoolPadding;
        x = g.Node("MaxPool", "maxpool", [x], Ints("kernel_shape", config.PoolKernel, config.PoolKernel),
            Ints("strides", config.PoolStride, config.PoolStride), Ints("pads", pool.Top, pool.Left, pool.Bottom, pool.Right));
        string layer2 = x;
        for (int i = 0; i < 3; i++)
        {
            for (int j = 0; j < config.Stages[i].Count; j++) x = Block(g, state, config.Stages[i][j], x, $"layer{i + 1}.{j}");
            if (i == 1) layer2 = x;
        }
        var layer3 = x;
        var local2 = LocalAverage(g, layer2, "layer2.local");
        var local3 = LocalAverage(g, layer3, "layer3.local");
        // Output size [N, C3] of layer3 followed by layer2's [h, w], read from the values themselves.
        var sizes = g.Node("Concat", "layer3.up.sizes", [Shape(g, local3, "layer3.shape", 0, 2), Shape(g, local2, "layer2.grid", 2, 4)], Int("axis", 0));
        var up3 = g.Node("Resize", "layer3.up", [local3, "", "", sizes], String("mode", "linear"),
            String("coordinate_transformation_mode", "half_pixel"));
        return g.Node("Concat", "patches", [local2, up3], Int("axis", 1));
    }

    /// <summary>The patch grid <c>(H/8, W/8)</c> of an input of <paramref name="height"/> × <paramref name="width"/>: layer2's output size.</summary>
    public static (int Height, int Width) PatchGrid(ResNetConfig config, int height, int width)
    {
        long h = config.Stem.Padding.OutputHeight(height, config.Stem.Kernel, config.Stem.Stride);
        long w = config.Stem.Padding.OutputWidth(width, config.Stem.Kernel, config.Stem.Stride);
        h = config.PoolPadding.OutputHeight(h, config.PoolKernel, config.PoolStride);
        w = config.PoolPadding.OutputWidth(w, config.PoolKernel, config.PoolStride);
        foreach (var block in config.Stages.Take(2).SelectMany(b => b))
            foreach (var conv in new[] { block.Conv1, block.Conv2 })
            {
                h = conv.Padding.OutputHeight(h, conv.Kernel, conv.Stride);
                w = conv.Padding.OutputWidth(w, conv.Kernel, conv.Stride);
            }
        return (checked((int)h), checked((int)w));
    }

    /// <summary>The dimensions <paramref name="start"/> to <paramref name="end"/> (exclusive) of <paramref name="value"/>'s shape, int64.</summary>
    public static string Shape(OnnxGraphBuilder g, string value, string name, long start, long end)
        => g.Node("Shape", name, [value], Int("start", start), Int("end", end));

    private static string Block(OnnxGraphBuilder g, Dictionary<string, torch.Tensor> state, BlockSpec block, string input, string name)
    {
        var y = g.Node("Relu", $"{name}.relu1", [ConvBn(g, state, block.Conv1, input, $"{name}.conv1", $"{name}.bn1")]);
        y = ConvBn(g, state, block.Conv2, y, $"{name}.conv2", $"{name}.bn2");
        var shortcut = block.Downsample is { } d ? ConvBn(g, state, d, input, $"{name}.downsample.0", $"{name}.downsample.1") : input;
        return g.Node("Relu", $"{name}.relu2", [g.Node("Add", $"{name}.add", [y, shortcut])]);
    }

    // A bias-free convolution with ONNX's per-side pads, then inference batch norm; the weights as initializers.
    private static string ConvBn(OnnxGraphBuilder g, Dictionary<string, torch.Tensor> state, ConvBnSpec spec, string input, string conv, string bn)
    {
        var p = spec.Padding;
        var convolved = g.Node("Conv", conv, [input, Weight(g, state, $"{conv}.weight")], Ints("kernel_shape", spec.Kernel, spec.Kernel),
            Ints("strides", spec.Stride, spec.Stride), Ints("pads", p.Top, p.Left, p.Bottom, p.Right));
        return g.Node("BatchNormalization", bn,
            [convolved, Weight(g, state, $"{bn}.weight"), Weight(g, state, $"{bn}.bias"), Weight(g, state, $"{bn}.running_mean"), Weight(g, state, $"{bn}.running_var")],
            Float("epsilon", (float)spec.Epsilon));

        static string Weight(OnnxGraphBuilder b, Dictionary<string, torch.Tensor> s, string key) => b.Initializer(key, Values(s, key), s[key].shape);
    }

    private static string LocalAverage(OnnxGraphBuilder g, string input, string name)
        => g.Node("AveragePool", name, [input], Ints("kernel_shape", 3, 3), Ints("strides", 1, 1), Ints("pads", 1, 1, 1, 1),
            Int("count_include_pad", 0));

    private static float[] Values(Dictionary<string, torch.Tensor> state, string key)
        => state.TryGetValue(key, out var t)
            ? t.to_type(torch.ScalarType.Float32).contiguous().data<float>().ToArray()
            : throw new InvalidOperationException($"The network has no tensor '{key}'.");
}
