using Fsac.MLNet.Checkpoints;
using Fsac.MLNet.Checkpoints.Onnx;
using System.Runtime.InteropServices;
using TorchSharp;

namespace Fsac.MLNet.Encoders.ResNet;

/// <summary>
/// Maps ONNX graphs onto <see cref="ResNetBackbone"/> by structure, since exported names (CNTK's
/// <c>Parameter91</c>, <c>Convolution249</c>) say nothing about layers. The backbone graph must be exactly
/// stem Conv-BatchNormalization-Relu-MaxPool, basic blocks (Conv-BN-Relu-Conv-BN, Add with the identity or a
/// Conv-BN projection, Relu), then a global AveragePool; the preprocessing graph exactly Split-Concat
/// (channel reorder) then Sub (mean image). Anything else throws <see cref="CheckpointFormatException"/>
/// saying which node did not fit, rather than loading a network that computes something different.
/// </summary>
internal static class OnnxResNetImporter
{
    /// <summary>Reads the architecture and weights of a ResNet backbone graph.</summary>
    public static ImportedResNet ImportBackbone(OnnxModel model, string path)
    {
        var g = new GraphWalker(model, path, "a ResNet backbone");
        var input = g.SingleInput();
        var shape = input.Dims();
        var inputChannels = shape.Length == 4 ? shape[1] : -1;
        var size = shape.Length == 4 && shape[2] == shape[3] && shape[2] > 0 ? shape[2] : -1;
        if (inputChannels != 3 || size < 0)
            throw g.Fail($"input '{input.Name}' has shape [{string.Join(", ", shape)}], expected [N, 3, S, S].");

        var state = new Dictionary<string, TensorData>(StringComparer.Ordinal);
        var (stem, stemBn) = ReadConvBn(g, g.Only(input.Name, "Conv"), 3, "conv1", "bn1", state);
        var relu = g.Only(stemBn.Outputs[0], "Relu");
        var pool = g.Only(relu.Outputs[0], "MaxPool");
        var poolKernel = SquareAttribute(g, pool, "kernel_shape", fallback: -1);
        var poolStride = SquareAttribute(g, pool, "strides", fallback: 1);
        var poolPadding = ReadPads(g, pool);
        if (pool.GetInt("ceil_mode", 0) != 0 || pool.GetInts("dilations").Any(d => d != 1))
            throw g.Fail($"max pool '{pool.Name}' uses ceil_mode or dilation.");
        var (height, width) = (stem.Padding.OutputHeight(size, stem.Kernel, stem.Stride), stem.Padding.OutputWidth(size, stem.Kernel, stem.Stride));
        (height, width) = (poolPadding.OutputHeight(height, poolKernel, poolStride), poolPadding.OutputWidth(width, poolKernel, poolStride));

        var stages = new List<List<BlockSpec>>();
        var x = pool.Outputs[0];
        var channels = stem.OutChannels;
        NodeProto averagePool;
        while (true)
        {
            var consumers = g.Consumers(x);
            if (consumers.Count == 1 && consumers[0].OpType is "AveragePool" or "GlobalAveragePool")
            {
                averagePool = g.Take(consumers[0]);
                break;
            }
            var blockState = new Dictionary<string, TensorData>(StringComparer.Ordinal);
            var (block, output) = ReadBlock(g, x, channels, consumers, blockState);
            if (block.Downsample is not null || stages.Count == 0) stages.Add([]);
            stages[^1].Add(block);
            foreach (var (name, tensor) in blockState) state[$"layer{stages.Count}.{stages[^1].Count - 1}.{name}"] = tensor;
            foreach (var conv in new[] { block.Conv1, block.Conv2 })
                (height, width) = (conv.Padding.OutputHeight(height, conv.Kernel, conv.Stride), conv.Padding.OutputWidth(width, conv.Kernel, conv.Stride));
            channels = block.Conv2.OutChannels;
            x = output;
        }

        if (averagePool.OpType == "AveragePool")
        {
            var kernel = SquareAttribute(g, averagePool, "kernel_shape", fallback: -1);
            if (kernel != height || kernel != width || averagePool.GetInts("pads").Any(p => p != 0))
                throw g.Fail($"average pool '{averagePool.Name}' has a {kernel}x{kernel} window over a {height}x{width} map: not a global pool.");
        }
        if (!model.Outputs.Any(o => o.Name == averagePool.Outputs[0]))
            throw g.Fail($"the pooled features '{averagePool.Outputs[0]}' are not a graph output.");
        g.EnsureAllNodesUsed();
        return new ImportedResNet(new ResNetConfig(stem, poolKernel, poolStride, poolPadding, stages), state, size);
    }

    /// <summary>Reads the channel reorder and mean image of ML.NET's ResNet preprocessing graph.</summary>
    public static PreprocessSpec ImportPreprocessing(OnnxModel model, string path)
    {
        var g = new GraphWalker(model, path, "a ResNet preprocessing graph (Split, Concat, Sub)");
        var input = g.SingleInput();
        var shape = input.Dims();
        if (shape.Length != 4 || shape[1] != 3 || shape[2] != shape[3] || shape[2] is <= 0 or > int.MaxValue)
            throw g.Fail($"input '{input.Name}' has shape [{string.Join(", ", shape)}], expected [N, 3, S, S].");
        var size = (int)shape[2];

        var split = g.Only(input.Name, "Split");
        if (split.GetInt("axis", 0) != 1 || split.Outputs.Count != 3)
            throw g.Fail($"split '{split.Name}' does not split the 3 channels.");
        var concat = g.Only(split.Outputs[0], "Concat");
        var order = concat.Inputs.Select(name => split.Outputs.ToList().IndexOf(name)).ToArray();
        if (concat.GetInt("axis", 0) != 1 || order.Length != 3 || order.Distinct().Count() != 3 || order.Any(o => o < 0))
            throw g.Fail($"concat '{concat.Name}' is not a permutation of the channels.");
        foreach (var other in split.Outputs.Skip(1))
            if (g.Consumers(other) is not [var c] || c != concat)
                throw g.Fail($"channel '{other}' feeds something other than '{concat.Name}'.");

        var sub = g.Only(concat.Outputs[0], "Sub");
        if (sub.Inputs.Count != 2 || sub.Inputs[0] != concat.Outputs[0])
            throw g.Fail($"'{sub.Name}' does not subtract from the reordered image.");
        var mean = g.Initializer(sub, 1);
        if (mean.DType != torch.ScalarType.Float32 || mean.ElementCount != 3L * size * size || mean.Shape[^1] != size || mean.Shape[^2] != size)
            throw g.Fail($"mean image '{sub.Inputs[1]}' has shape [{string.Join(", ", mean.Shape)}], expected [1, 3, {size}, {size}] float32.");
        if (!model.Outputs.Any(o => o.Name == sub.Outputs[0]))
            throw g.Fail($"'{sub.Outputs[0]}' is not a graph output.");
        g.EnsureAllNodesUsed();
        return new PreprocessSpec(size, order, MemoryMarshal.Cast<byte, float>(mean.Data).ToArray());
    }

    private static (BlockSpec Block, string Output) ReadBlock(
        GraphWalker g, string x, long width, IReadOnlyList<NodeProto> consumers, Dictionary<string, TensorData> state)
    {
        // The main path's first conv is the one whose BN feeds a Relu; a projection's BN feeds the Add.
        var convs = consumers.Where(n => n.OpType == "Conv").ToList();
        var main = convs.FirstOrDefault(c => g.Consumers(c.Outputs[0]) is [var bn] && bn.OpType == "BatchNormalization"
                                              && g.Consumers(bn.Outputs[0]) is [var r] && r.OpType == "Relu")
                   ?? throw g.Fail($"no residual block starts at '{x}'.");
        var projection = convs.FirstOrDefault(c => c != main);
        var identity = consumers.FirstOrDefault(n => n.OpType == "Add");
        if (consumers.Count != 2 || (projection is null) == (identity is null))
            throw g.Fail($"'{x}' feeds [{string.Join(", ", consumers.Select(n => $"{n.OpType} '{n.Name}'"))}], expected a block's first conv and its shortcut.");

        var (conv1, bn1) = ReadConvBn(g, main, width, "conv1", "bn1", state);
        var relu = g.Only(bn1.Outputs[0], "Relu");
        var (conv2, bn2) = ReadConvBn(g, g.Only(relu.Outputs[0], "Conv"), conv1.OutChannels, "conv2", "bn2", state);
        var add = g.Only(bn2.Outputs[0], "Add");
        string shortcut = x;
        ConvBnSpec? downsample = null;
        if (projection is not null)
        {
            NodeProto projectionBn;
            (downsample, projectionBn) = ReadConvBn(g, projection, width, "downsample.0", "downsample.1", state);
            shortcut = projectionBn.Outputs[0];
            if (g.Consumers(shortcut) is not [var a] || a != add)
                throw g.Fail($"projection '{projection.Name}' does not feed the block's Add '{add.Name}'.");
            if (downsample.OutChannels != conv2.OutChannels || downsample.Stride != conv1.Stride)
                throw g.Fail($"projection '{projection.Name}' does not match the main path's width or stride.");
        }
        else
        {
            if (identity != add || conv2.OutChannels != width || conv1.Stride != 1)
                throw g.Fail($"identity shortcut of '{main.Name}' does not match its main path.");
        }
        if (add.Inputs.Count != 2 || !add.Inputs.Contains(bn2.Outputs[0]) || !add.Inputs.Contains(shortcut))
            throw g.Fail($"'{add.Name}' does not add the main path and the shortcut.");
        var output = g.Only(add.Outputs[0], "Relu");
        return (new BlockSpec(conv1, conv2, downsample), output.Outputs[0]);
    }

    private static (ConvBnSpec Spec, NodeProto BatchNorm) ReadConvBn(
        GraphWalker g, NodeProto conv, long inChannels, string convName, string bnName, Dictionary<string, TensorData> state)
    {
        g.Take(conv);
        if (conv.Inputs.Count != 2)
            throw g.Fail($"conv '{conv.Name}' has a bias (or no weight); ResNet convolutions have neither.");
        var weight = g.Initializer(conv, 1);
        if (weight.DType != torch.ScalarType.Float32 || weight.Shape.Length != 4 || weight.Shape[1] != inChannels || weight.Shape[2] != weight.Shape[3])
            throw g.Fail($"conv '{conv.Name}' weight has shape [{string.Join(", ", weight.Shape)}], expected float32 [out, {inChannels}, k, k].");
        var kernel = SquareAttribute(g, conv, "kernel_shape", fallback: weight.Shape[2]);
        if (kernel != weight.Shape[2])
            throw g.Fail($"conv '{conv.Name}' kernel_shape disagrees with its weight.");
        if (conv.GetInt("group", 1) != 1 || conv.GetInts("dilations").Any(d => d != 1))
            throw g.Fail($"conv '{conv.Name}' is grouped or dilated.");
        var stride = SquareAttribute(g, conv, "strides", fallback: 1);
        var padding = ReadPads(g, conv);
        var outChannels = weight.Shape[0];

        var bn = g.Only(conv.Outputs[0], "BatchNormalization");
        if (bn.Inputs.Count != 5 || bn.GetInt("spatial", 1) != 1)
            throw g.Fail($"batch norm '{bn.Name}' is not a per-channel inference batch norm.");
        string[] parts = ["weight", "bias", "running_mean", "running_var"];
        for (var i = 0; i < parts.Length; i++)
        {
            var t = g.Initializer(bn, i + 1);
            if (t.DType != torch.ScalarType.Float32 || t.Shape is not [var n] || n != outChannels)
                throw g.Fail($"batch norm '{bn.Name}' {parts[i]} has shape [{string.Join(", ", t.Shape)}], expected float32 [{outChannels}].");
            state[$"{bnName}.{parts[i]}"] = t;
        }
        state[$"{convName}.weight"] = weight;
        return (new ConvBnSpec(inChannels, outChannels, kernel, stride, padding, bn.GetFloat("epsilon", 1e-5f)), bn);
    }

    private static long SquareAttribute(GraphWalker g, NodeProto node, string name, long fallback)
    {
        var values = node.GetInts(name);
        if (values.Count == 0 && fallback > 0) return fallback;
        if (values.Count != 2 || values[0] != values[1] || values[0] <= 0)
            throw g.Fail($"'{node.Name}' has {name} [{string.Join(", ", values)}], expected two equal positive values.");
        return values[0];
    }

    private static Padding2d ReadPads(GraphWalker g, NodeProto node)
    {
        var autoPad = node.GetString("auto_pad", "NOTSET");
        if (autoPad is not ("NOTSET" or ""))
            throw g.Fail($"'{node.Name}' uses auto_pad={autoPad}; only explicit pads are supported.");
        var pads = node.GetInts("pads");
        if (pads.Count == 0) return new Padding2d(0, 0, 0, 0);
        if (pads.Count != 4 || pads.Any(p => p < 0))
            throw g.Fail($"'{node.Name}' has pads [{string.Join(", ", pads)}], expected four non-negative values.");
        return new Padding2d(pads[0], pads[1], pads[2], pads[3]);
    }
}
