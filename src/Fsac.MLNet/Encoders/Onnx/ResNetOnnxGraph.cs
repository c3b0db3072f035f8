using Fsac.MLNet.Checkpoints.Onnx;
using Fsac.MLNet.Encoders.ResNet;
using static Fsac.MLNet.Encoders.Onnx.OnnxAttributes;
using Google.Protobuf;
using TorchSharp;

namespace Fsac.MLNet.Encoders.Onnx;

/// <summary>
/// Writes an imported ResNet (<see cref="ResNetBackbone"/>) into an ONNX graph, op for op as
/// <see cref="ResNetBackbone.Features"/> computes it: stem conv-BN-ReLU and max pool (per-side pads, padded cells never
/// win), then the stages. PatchCore's patch features are 3x3 average pooling of layer2 and layer3 (stride 1, zero
/// padding not counted), layer3 resized bilinearly (half-pixel centres, PyTorch's <c>align_corners=false</c>) to
/// layer2's grid, and the two concatenated; the pooled features are the last stage's global average. Batch norm stays
/// a separate inference-mode BatchNormalization node with the stored statistics. The ONNX export writes the patch
/// features into its graph; the ONNX Runtime engine of <see cref="ResNet18Encoder"/> runs either or both.
/// </summary>
internal static class ResNetOnnxGraph
{
    /// <summary>The input of <see cref="EncoderModel"/>: normalised pixels, float32 <c>[N, 3, H, W]</c>.</summary>
    public const string PixelsInput = "pixels";

    /// <summary>The pooled features output of <see cref="EncoderModel"/>, float32 <c>[N, C]</c>.</summary>
    public const string PooledOutput = "pooled_features";

    /// <summary>The patch features output of <see cref="EncoderModel"/>, float32 <c>[N, C2 + C3, H/8, W/8]</c>.</summary>
    public const string PatchesOutput = "patch_features";

    /// <summary>
    /// The serialized ONNX model (opset <see cref="OnnxGraphBuilder.Opset"/>) of the network for normalised inputs of any
    /// batch size and image size: <see cref="PooledOutput"/> and/or <see cref="PatchesOutput"/>, as asked for. The
    /// weights are serialised straight from the network's tensors, as initializers that ONNX Runtime can repack for its
    /// convolutions.
    /// </summary>
    public static OnnxEngineModel EncoderModel(ResNetBackbone backbone, bool pooled, bool patches)
    {
        if (!pooled && !patches) throw new ArgumentException("Ask for pooled features, patches or both.", nameof(pooled));
        using var g = new OnnxGraphBuilder("fsac_resnet_encoder", weights: WeightPlacement.Viewed);
        g.Input(PixelsInput, TensorProto.Types.DataType.Float, OnnxGraphBuilder.Batch, 3, OnnxGraphBuilder.Height, OnnxGraphBuilder.Width);
        var (pooledValue, patchesValue) = Features(g, backbone, PixelsInput, pooled, patches);
        if (pooledValue is not null)
            g.Output(PooledOutput, pooledValue, TensorProto.Types.DataType.Float, OnnxGraphBuilder.Batch, backbone.Config.FeatureDim);
        if (patchesValue is not null)
            g.Output(PatchesOutput, patchesValue, TensorProto.Types.DataType.Float, OnnxGraphBuilder.Batch, backbone.PatchChannels,
                OnnxGraphBuilder.GridHeight, OnnxGraphBuilder.GridWidth);
        return new OnnxEngineModel(g.Build("Fsac.MLNet", "", $"ResNet encoder, {PixelsInput} [N, 3, H, W] to its frozen features.",
            new Dictionary<string, string>()).ToByteArray(), []);
    }

    /// <summary>
    /// Adds the nodes that turn <paramref name="input"/> (normalised pixels <c>[N, 3, H, W]</c>) into the patch features
    /// <c>[N, C2 + C3, H/8, W/8]</c> and returns that value's name; the weights become initializers named as in the
    /// network's state dictionary.
    /// </summary>
    public static string PatchFeatures(OnnxGraphBuilder g, ResNetBackbone backbone, string input)
        => Features(g, backbone, input, pooled: false, patches: true).Patches!;

    /// <summary>
    /// Adds the nodes that turn <paramref name="input"/> (normalised pixels <c>[N, 3, H, W]</c>) into the pooled features
    /// <c>[N, C]</c> (all stages, global average) and/or the patch features <c>[N, C2 + C3, H/8, W/8]</c>, and returns
    /// the names of the values asked for (null otherwise). As in <see cref="ResNetBackbone.Features"/>, the stages after
    /// layer3 are written only when the pooled features are asked for.
    /// </summary>
    public static (string? Pooled, string? Patches) Features(OnnxGraphBuilder g, ResNetBackbone backbone, string input, bool pooled, bool patches)
    {
        var config = backbone.Config;
        if (patches && config.Stages.Count < 3) throw new NotSupportedException("The network has fewer than three stages; PatchCore needs layer2 and layer3.");
        using var scope = torch.NewDisposeScope();
        var state = backbone.state_dict();
        var x = g.Node("Relu", "relu", [ConvBn(g, state, config.Stem, input, "conv1", "bn1")]);
        var pool = config.PoolPadding;
        x = g.Node("MaxPool", "maxpool", [x], Ints("kernel_shape", config.PoolKernel, config.PoolKernel),
            Ints("strides", config.PoolStride, config.PoolStride), Ints("pads", pool.Top, pool.Left, pool.Bottom, pool.Right));
        string? layer2 = null, layer3 = null;
        int last = pooled ? config.Stages.Count : 3;
        for (int i = 0; i < last; i++)
        {
            for (int j = 0; j < config.Stages[i].Count; j++) x = Block(g, state, config.Stages[i][j], x, $"layer{i + 1}.{j}");
            if (i == 1) layer2 = x;
            if (i == 2) layer3 = x;
        }
        string? dense = null;
        if (patches)
        {
            var local2 = LocalAverage(g, layer2!, "layer2.local");
            var local3 = LocalAverage(g, layer3!, "layer3.local");
            // Output size [N, C3] of layer3 followed by layer2's [h, w], read from the values themselves.
            var sizes = g.Node("Concat", "layer3.up.sizes", [Shape(g, local3, "layer3.shape", 0, 2), Shape(g, local2, "layer2.grid", 2, 4)], Int("axis", 0));
            var up3 = g.Node("Resize", "layer3.up", [local3, "", "", sizes], String("mode", "linear"),
                String("coordinate_transformation_mode", "half_pixel"));
            dense = g.Node("Concat", "patches", [local2, up3], Int("axis", 1));
        }
        var global = pooled ? g.Node("Flatten", "pooled", [g.Node("GlobalAveragePool", "pooled.map", [x])], Int("axis", 1)) : null;
        return (global, dense);
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

        static string Weight(OnnxGraphBuilder b, Dictionary<string, torch.Tensor> s, string key)
            => b.Weight(key, s.TryGetValue(key, out var t) ? t : throw new InvalidOperationException($"The network has no tensor '{key}'."));
    }

    private static string LocalAverage(OnnxGraphBuilder g, string input, string name)
        => g.Node("AveragePool", name, [input], Ints("kernel_shape", 3, 3), Ints("strides", 1, 1), Ints("pads", 1, 1, 1, 1),
            Int("count_include_pad", 0));
}
