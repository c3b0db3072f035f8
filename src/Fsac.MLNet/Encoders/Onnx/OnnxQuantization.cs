using Fsac.MLNet.Checkpoints.Onnx;
using Google.Protobuf;
using System.Runtime.InteropServices;
using static Fsac.MLNet.Encoders.Onnx.OnnxAttributes;
using DataType = Fsac.MLNet.Checkpoints.Onnx.TensorProto.Types.DataType;

namespace Fsac.MLNet.Encoders.Onnx;

/// <summary>
/// Dynamic int8 quantization of a float32 ONNX graph, the rewrite ONNX Runtime's <c>quantize_dynamic</c> makes. Every
/// <c>MatMul</c> whose B is a constant float32 matrix, every <c>Gemm</c> with a constant B (A not transposed, C absent or
/// constant) and every <c>Conv</c> with a constant weight becomes:
/// <c>DynamicQuantizeLinear</c> of the activation (uint8, its own scale and zero point per tensor and run), the integer
/// op (<c>MatMulInteger</c> or <c>ConvInteger</c>) on the 8-bit weight, <c>Cast</c> of the int32 result to float,
/// <c>Mul</c> by the activation's scale times the weight's, and <c>Add</c> of the bias where the op had one (Conv's
/// bias, Gemm's C). The node's output keeps its name, so the rest of the graph is untouched.
/// </summary>
/// <remarks>
/// <para>Weights are quantized symmetrically per output channel: each column of a MatMul or Gemm B and each output
/// filter of a Conv gets its own scale, its largest magnitude over the range (±127, or ±63 for MatMul and Gemm with
/// <see cref="ReducedRange"/>), the levels rounded half to even as ONNX's QuantizeLinear rounds. ONNX Runtime's CPU
/// kernels take one weight zero point per tensor, so the per-channel scales live in the float multiply after the
/// integer op. MatMul and Gemm weights are int8 with the zero point omitted (0). Conv weights are stored as uint8 with
/// the zero point 128 (the same ±127 levels, shifted): ONNX Runtime 1.31 runs ConvInteger with int8 weights through a
/// generic kernel about four times slower than its uint8 × uint8 one (measured on ResNet18, AVX512-VNNI).</para>
/// <para>The MatMul chain is the pattern ONNX Runtime's graph optimiser fuses (at its extended level and above) into its
/// <c>DynamicQuantizeMatMul</c> kernel, which multiplies uint8 by int8 with VNNI's dot-product instructions where the
/// CPU has them. Without VNNI, x86 kernels add pairs of uint8 × int8 products in saturating 16-bit arithmetic;
/// weights of at most ±63 (<see cref="ReducedRange"/>, <c>reduce_range</c> in ONNX Runtime's quantizer) keep those
/// sums exact at the cost of one bit. Convolutions need no such care: uint8 × uint8 products are widened before they
/// are added.</para>
/// <para>Float weights that only quantized nodes read are dropped from the model. Other nodes, including matrix
/// products of two activations (attention's q·kᵀ and weights·v), stay float32.</para>
/// </remarks>
internal static class OnnxQuantization
{
    /// <summary>The largest weight level: the full symmetric int8 range.</summary>
    public const int FullRange = 127;

    /// <summary>The largest MatMul and Gemm weight level with the reduced (7-bit) range, for x86 CPUs without VNNI.</summary>
    public const int ReducedRange = 63;

    // The zero point of Conv's uint8 weights: level 0 of the symmetric int8 range.
    private const byte ConvWeightZeroPoint = 128;

    /// <summary>The default-domain opset the rewrite needs at least (DynamicQuantizeLinear came with opset 11).</summary>
    public const int MinimumOpset = 11;

    /// <summary>
    /// Rewrites <paramref name="model"/> in place as described in the type's summary and returns how many nodes it
    /// quantized (0 leaves the model as it was).
    /// </summary>
    /// <param name="model">A float32 model with a graph; its initializers must hold their data inline.</param>
    /// <param name="range">The largest MatMul and Gemm weight level: <see cref="FullRange"/> or <see cref="ReducedRange"/> (Conv always takes the full range).</param>
    /// <exception cref="ArgumentException">The model has no graph.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="range"/> is neither of the two.</exception>
    /// <exception cref="NotSupportedException">The model's default-domain opset is below <see cref="MinimumOpset"/>.</exception>
    public static int Quantize(ModelProto model, int range = FullRange)
    {
        ArgumentNullException.ThrowIfNull(model);
        if (range is not (FullRange or ReducedRange))
            throw new ArgumentOutOfRangeException(nameof(range), range, $"The weight range is {FullRange} or {ReducedRange}.");
        var graph = model.Graph ?? throw new ArgumentException("The model has no graph.", nameof(model));
        long opset = model.OpsetImport.Where(o => o.Domain is "" or "ai.onnx").Select(o => o.Version).DefaultIfEmpty(0).Max();
        if (opset < MinimumOpset)
            throw new NotSupportedException($"Quantization needs default-domain opset {MinimumOpset} or later (DynamicQuantizeLinear); the model has {opset}.");
        return new Rewrite(graph, range).Run();
    }

    // One pass over a graph: the nodes in order, each quantizable one replaced by its integer chain.
    private sealed class Rewrite
    {
        private readonly GraphProto graph;
        private readonly int range;
        private readonly Dictionary<string, TensorProto> initializers;
        private readonly HashSet<string> names = new(StringComparer.Ordinal);
        private readonly List<NodeProto> nodes = [];
        private readonly List<TensorProto> added = [];
        // Float constants the rewrite made copies of (quantized or reshaped), dropped unless something else reads them.
        private readonly HashSet<string> replaced = new(StringComparer.Ordinal);
        // A weight read by several nodes in the same way is quantized once: (name, layout) -> (8-bit weight, scales, zero point).
        private readonly Dictionary<(string Name, Layout Layout), QuantizedWeight> quantized = [];
        private string? convZeroPoint;

        public Rewrite(GraphProto graph, int range)
        {
            this.graph = graph;
            this.range = range;
            initializers = graph.Initializer.GroupBy(t => t.Name, StringComparer.Ordinal).ToDictionary(g => g.Key, g => g.Last(), StringComparer.Ordinal);
            names.UnionWith(initializers.Keys);
            names.UnionWith(graph.Input.Select(i => i.Name));
            names.UnionWith(graph.Output.Select(o => o.Name));
            foreach (var node in graph.Node)
            {
                names.UnionWith(node.Input);
                names.UnionWith(node.Output);
                names.Add(node.Name);
            }
        }

        public int Run()
        {
            int count = 0;
            foreach (var node in graph.Node)
            {
                bool done = node.Domain is "" or "ai.onnx" && node.OpType switch
                {
                    "MatMul" => MatMul(node),
                    "Gemm" => Gemm(node),
                    "Conv" => Conv(node),
                    _ => false,
                };
                if (done) count++;
                else nodes.Add(node);
            }
            if (count == 0) return 0;

            graph.Node.Clear();
            graph.Node.AddRange(nodes);
            // Drop the float weights nothing reads any more (a graph input or output of the same name keeps its initializer).
            var read = new HashSet<string>(nodes.SelectMany(n => n.Input), StringComparer.Ordinal);
            read.UnionWith(graph.Input.Select(i => i.Name));
            read.UnionWith(graph.Output.Select(o => o.Name));
            var kept = graph.Initializer.Where(t => !replaced.Contains(t.Name) || read.Contains(t.Name)).ToList();
            graph.Initializer.Clear();
            graph.Initializer.AddRange(kept);
            graph.Initializer.AddRange(added);
            return count;
        }

        // MatMul(x, B) with B a constant [K, N]: per-column scales.
        private bool MatMul(NodeProto node)
        {
            if (node.Input.Count != 2 || Matrix(node.Input[1]) is not { } b) return false;
            IntegerChain(node, "MatMulInteger", node.Input[0], Weight(node.Input[1], b, Layout.Columns), [], node.Output[0]);
            return true;
        }

        // Gemm(A, B, C) = alpha·A·B' + beta·C with B' = B or Bᵀ: alpha goes into the weight scales, beta into a constant C.
        private bool Gemm(NodeProto node)
        {
            if (node.Input.Count < 2 || Matrix(node.Input[1]) is not { } b) return false;
            float alpha = 1, beta = 1;
            bool transB = false;
            foreach (var a in node.Attribute)
            {
                switch (a.Name)
                {
                    case "transA" when a.I != 0: return false;
                    case "transB": transB = a.I != 0; break;
                    case "alpha": alpha = a.F; break;
                    case "beta": beta = a.F; break;
                }
            }
            TensorProto? c = null;
            float[]? cValues = null;
            if (node.Input.Count > 2 && node.Input[2].Length > 0
                && (!initializers.TryGetValue(node.Input[2], out c) || (cValues = Floats(c)) is null)) return false;

            var weight = Weight(node.Input[1], b, transB ? Layout.RowsTransposed : Layout.Columns, alpha);
            var product = c is not null ? Fresh($"{node.Output[0]}.product") : node.Output[0];
            IntegerChain(node, "MatMulInteger", node.Input[0], weight, [], product);
            if (c is not null)
            {
                var scaled = cValues!.Select(v => beta * v).ToArray();
                var bias = AddInitializer($"{c.Name}.scaled", DataType.Float, MemoryMarshal.AsBytes(scaled.AsSpan()), [.. c.Dims]);
                replaced.Add(c.Name);
                Emit("Add", $"{node.Output[0]}.bias", [product, bias], [node.Output[0]], []);
            }
            return true;
        }

        // Conv(x, W[, bias]) with W a constant [M, C/group, k...]: per-filter scales shaped [M, 1, ...] to broadcast over
        // the output [N, M, ...], the bias likewise.
        private bool Conv(NodeProto node)
        {
            if (node.Input.Count < 2 || !initializers.TryGetValue(node.Input[1], out var w) || w.Dims.Count < 3 || Floats(w) is null) return false;
            bool hasBias = node.Input.Count > 2 && node.Input[2].Length > 0;
            if (hasBias && (!initializers.TryGetValue(node.Input[2], out var b) || Floats(b) is null)) return false;
            long filters = w.Dims[0];
            var weight = Weight(node.Input[1], (w, filters, w.Dims.Skip(1).Aggregate(1L, (x, y) => x * y)), Layout.Rows);
            var product = hasBias ? Fresh($"{node.Output[0]}.product") : node.Output[0];
            IntegerChain(node, "ConvInteger", node.Input[0], weight, node.Attribute, product);
            if (hasBias)
            {
                var values = Floats(initializers[node.Input[2]])!;
                var bias = AddInitializer($"{node.Input[2]}.channels", DataType.Float, MemoryMarshal.AsBytes(values.AsSpan()), ChannelShape(filters, w.Dims.Count));
                replaced.Add(node.Input[2]);
                Emit("Add", $"{node.Output[0]}.bias", [product, bias], [node.Output[0]], []);
            }
            return true;
        }

        // DynamicQuantizeLinear(x) -> (x_q, x_scale, x_zero_point); op(x_q, W_q, x_zero_point[, W_zero_point]) -> int32;
        // Cast -> float; times Mul(x_scale, W_scale) -> output. The order of the Mul inputs is the one ONNX Runtime's fusion expects.
        private void IntegerChain(NodeProto node, string op, string input, QuantizedWeight weight, IEnumerable<AttributeProto> attributes, string output)
        {
            var prefix = node.Output[0];
            string q = Fresh($"{prefix}.input_quantized"), scale = Fresh($"{prefix}.input_scale"), zero = Fresh($"{prefix}.input_zero_point");
            Emit("DynamicQuantizeLinear", $"{prefix}.quantize_input", [input], [q, scale, zero], []);
            var integer = Fresh($"{prefix}.int32");
            Emit(op, $"{prefix}.integer", weight.ZeroPoint is { } z ? [q, weight.Values, zero, z] : [q, weight.Values, zero], [integer], attributes);
            var real = Fresh($"{prefix}.float");
            Emit("Cast", $"{prefix}.cast", [integer], [real], [Int("to", (long)DataType.Float)]);
            var combined = Fresh($"{prefix}.scale");
            Emit("Mul", $"{prefix}.combine_scales", [scale, weight.Scale], [combined], []);
            Emit("Mul", $"{prefix}.rescale", [real, combined], [output], []);
        }

        // The 8-bit weight, its float scales and (Conv) zero point for one layout, made once per weight and layout.
        private QuantizedWeight Weight(string name, (TensorProto Tensor, long Rows, long Columns) matrix, Layout layout, float gain = 1)
        {
            if (gain == 1 && quantized.TryGetValue((name, layout), out var known)) return known;
            var (tensor, rows, columns) = matrix;
            var values = Floats(tensor)!;
            bool perRow = layout != Layout.Columns;
            long channels = perRow ? rows : columns;
            var scales = new float[channels];
            for (long i = 0; i < rows; i++)
                for (long j = 0; j < columns; j++)
                {
                    long channel = perRow ? i : j;
                    scales[channel] = Math.Max(scales[channel], Math.Abs(values[i * columns + j]));
                }
            int levels = layout == Layout.Rows ? FullRange : range;
            for (long c = 0; c < channels; c++) scales[c] = scales[c] > 0 ? scales[c] / levels : 1;

            var q = new sbyte[values.Length];
            for (long i = 0; i < rows; i++)
                for (long j = 0; j < columns; j++)
                {
                    var level = Math.Round(values[i * columns + j] / scales[perRow ? i : j], MidpointRounding.ToEven);
                    // A transposed B [N, K] is written as [K, N]: row i, column j goes to row j, column i.
                    long at = layout == Layout.RowsTransposed ? j * rows + i : i * columns + j;
                    q[at] = (sbyte)Math.Clamp(level, -levels, levels);
                }
            long[] dims = layout switch
            {
                Layout.Columns => [rows, columns],
                Layout.RowsTransposed => [columns, rows],
                _ => [.. tensor.Dims],
            };
            string weight;
            string? zeroPoint = null;
            if (layout == Layout.Rows)
            {
                var shifted = q.Select(v => (byte)(v + ConvWeightZeroPoint)).ToArray();
                weight = AddInitializer($"{name}.uint8", DataType.Uint8, shifted, dims);
                zeroPoint = convZeroPoint ??= AddInitializer("conv_weight_zero_point", DataType.Uint8, [ConvWeightZeroPoint], []);
            }
            else
            {
                weight = AddInitializer($"{name}.int8", DataType.Int8, MemoryMarshal.AsBytes(q.AsSpan()), dims);
            }
            for (long c = 0; c < channels; c++) scales[c] *= gain;
            long[] scaleDims = layout == Layout.Rows ? ChannelShape(channels, tensor.Dims.Count) : [channels];
            var scale = AddInitializer($"{name}.scale", DataType.Float, MemoryMarshal.AsBytes(scales.AsSpan()), scaleDims);
            replaced.Add(name);
            var result = new QuantizedWeight(weight, scale, zeroPoint);
            if (gain == 1) quantized[(name, layout)] = result;
            return result;
        }

        // A float32 constant matrix [rows, columns], or null.
        private (TensorProto, long, long)? Matrix(string name)
            => initializers.TryGetValue(name, out var t) && t.Dims.Count == 2 && Floats(t) is not null ? (t, t.Dims[0], t.Dims[1]) : null;

        private string AddInitializer(string name, DataType type, ReadOnlySpan<byte> data, long[] dims)
        {
            var tensor = new TensorProto { Name = Fresh(name), DataType = (int)type, RawData = ByteString.CopyFrom(data) };
            tensor.Dims.AddRange(dims);
            added.Add(tensor);
            return tensor.Name;
        }

        private void Emit(string op, string name, IEnumerable<string> inputs, IEnumerable<string> outputs, IEnumerable<AttributeProto> attributes)
        {
            var node = new NodeProto { OpType = op, Name = Fresh(name) };
            node.Input.AddRange(inputs);
            node.Output.AddRange(outputs);
            node.Attribute.AddRange(attributes.Select(a => a.Clone()));
            nodes.Add(node);
        }

        // A name no value, node or initializer of the graph has yet: the wanted one, else with a counter appended.
        private string Fresh(string wanted)
        {
            var name = wanted;
            for (int i = 1; !names.Add(name); i++) name = $"{wanted}.{i}";
            return name;
        }

        // [channels, 1, ..., 1] of the given rank: per-channel values broadcast over an NCHW-like output.
        private static long[] ChannelShape(long channels, int rank) => [channels, .. Enumerable.Repeat(1L, rank - 2)];
    }

    // A quantized weight's initializers: the 8-bit values, the float scales and, for uint8 values, the zero point.
    private sealed record QuantizedWeight(string Values, string Scale, string? ZeroPoint);

    // Which axis of a weight is its output channel: MatMul's and Gemm's B [K, N] per column; Gemm's transposed B [N, K]
    // per row, written back as [K, N]; Conv's W [M, ...] per row (filter), its shape kept.
    private enum Layout
    {
        Columns,
        RowsTransposed,
        Rows,
    }

    // The values of a float32 initializer with its data inline (raw or float_data), or null for any other.
    private static float[]? Floats(TensorProto tensor)
    {
        if (tensor.DataType != (int)DataType.Float || tensor.DataLocation == TensorProto.Types.DataLocation.External) return null;
        long count = tensor.Dims.Aggregate(1L, (a, b) => a * b);
        if (tensor.RawData.Length > 0)
            return tensor.RawData.Length == count * sizeof(float) ? MemoryMarshal.Cast<byte, float>(tensor.RawData.Span).ToArray() : null;
        return tensor.FloatData.Count == count ? [.. tensor.FloatData] : null;
    }
}
