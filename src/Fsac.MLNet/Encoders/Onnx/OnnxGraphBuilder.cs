using Fsac.MLNet.Checkpoints.Onnx;
using System.Runtime.InteropServices;
using Google.Protobuf;
using TorchSharp;

namespace Fsac.MLNet.Encoders.Onnx;

/// <summary>
/// Builds one ONNX model (IR version 8, default-domain opset <see cref="Opset"/> or <see cref="ResizeOpset"/>) over the
/// generated protobuf classes: constant tensors (initializers), nodes in topological order, and the graph's named, typed
/// inputs and outputs. Every value name is unique: a node's output is named after the node. A network's weights
/// (<see cref="Weight"/>) go where <see cref="Weights"/> says: copied into the model, read in place from libtorch's memory
/// when the model is serialised, or left out of it as graph inputs bound to libtorch's tensors (the engines' graphs).
/// </summary>
internal sealed class OnnxGraphBuilder : IDisposable
{
    /// <summary>The operator set version graphs are written against by default.</summary>
    public const int Opset = 17;

    /// <summary>
    /// The operator set version of graphs that resize images inside (opset 18 gave <c>Resize</c> its <c>antialias</c>
    /// and <c>axes</c> attributes, and moved the reductions' <c>axes</c> from an attribute to an input).
    /// </summary>
    public const int ResizeOpset = 18;

    /// <summary>A dimension written as <see cref="BatchDimension"/> in input and output shapes: the batch size, free.</summary>
    public const long Batch = -1;

    /// <summary>The symbolic name of the batch dimension.</summary>
    public const string BatchDimension = "N";

    private const long IrVersion = 8;

    /// <summary>A dimension written as <see cref="HeightDimension"/>: an image's height, free.</summary>
    public const long Height = -2;

    /// <summary>A dimension written as <see cref="WidthDimension"/>: an image's width, free.</summary>
    public const long Width = -3;

    /// <summary>A dimension written as <see cref="GridHeightDimension"/>: a feature grid's height, which follows the image's.</summary>
    public const long GridHeight = -4;

    /// <summary>A dimension written as <see cref="GridWidthDimension"/>: a feature grid's width, which follows the image's.</summary>
    public const long GridWidth = -5;

    /// <summary>The symbolic name of <see cref="Height"/>.</summary>
    public const string HeightDimension = "H";

    /// <summary>The symbolic name of <see cref="Width"/>.</summary>
    public const string WidthDimension = "W";

    /// <summary>The symbolic name of <see cref="GridHeight"/>.</summary>
    public const string GridHeightDimension = "h";

    /// <summary>The symbolic name of <see cref="GridWidth"/>.</summary>
    public const string GridWidthDimension = "w";

    /// <summary>A free sequence length (token count), in a shape given to <see cref="Input"/> or <see cref="Output"/>.</summary>
    public const long Length = -6;

    /// <summary>The symbolic name of <see cref="Length"/>.</summary>
    public const string LengthDimension = "L";

    private readonly GraphProto graph;
    private readonly HashSet<string> names = new(StringComparer.Ordinal);
    // The in-place views of viewed weights, released on Dispose.
    private readonly List<TensorMemory> viewed = [];
    // The bound weights by input name, until TakeBoundWeights hands them over; released on Dispose otherwise.
    private List<KeyValuePair<string, torch.Tensor>> bound = [];

    /// <summary>
    /// Starts an empty graph called <paramref name="name"/>, written against <paramref name="opset"/>, placing the
    /// network's weights as <paramref name="weights"/> says. A model with <see cref="WeightPlacement.Viewed"/> weights must
    /// be serialised before this builder is disposed, and not used after.
    /// </summary>
    public OnnxGraphBuilder(string name, int opset = Opset, WeightPlacement weights = WeightPlacement.Copied)
    {
        if (opset is not (Opset or ResizeOpset))
            throw new ArgumentOutOfRangeException(nameof(opset), opset, $"The builder writes opset {Opset} or {ResizeOpset}.");
        if (!Enum.IsDefined(weights)) throw new ArgumentOutOfRangeException(nameof(weights), weights, "Not a weight placement.");
        graph = new GraphProto { Name = name };
        OpsetVersion = opset;
        Weights = weights;
    }

    /// <summary>The default-domain operator set version this graph is written against.</summary>
    public int OpsetVersion { get; }

    /// <summary>Where <see cref="Weight"/> puts the network's weights.</summary>
    public WeightPlacement Weights { get; }

    /// <summary>Adds a float32 constant of shape <paramref name="dims"/> (row-major <paramref name="values"/>) and returns its name.</summary>
    public string Initializer(string name, ReadOnlySpan<float> values, params long[] dims)
        => Initializer(name, TensorProto.Types.DataType.Float, MemoryMarshal.AsBytes(values), values.Length, dims);

    /// <summary>Adds a float64 constant of shape <paramref name="dims"/> (row-major <paramref name="values"/>) and returns its name.</summary>
    public string Initializer(string name, ReadOnlySpan<double> values, params long[] dims)
        => Initializer(name, TensorProto.Types.DataType.Double, MemoryMarshal.AsBytes(values), values.Length, dims);

    /// <summary>Adds an int64 constant of shape <paramref name="dims"/> (row-major <paramref name="values"/>) and returns its name.</summary>
    public string Initializer(string name, ReadOnlySpan<long> values, params long[] dims)
        => Initializer(name, TensorProto.Types.DataType.Int64, MemoryMarshal.AsBytes(values), values.Length, dims);

    /// <summary>
    /// Adds a network weight, <paramref name="values"/> as float32 in its shape, placed as <see cref="Weights"/> says,
    /// and returns its name. Viewed and bound weights are not copied at all when <paramref name="values"/> is a
    /// contiguous float32 CPU tensor; any other is converted once.
    /// </summary>
    public string Weight(string name, torch.Tensor values)
    {
        ArgumentNullException.ThrowIfNull(values);
        using var scope = torch.NewDisposeScope();
        var t = values.detach().to(torch.ScalarType.Float32, torch.CPU).contiguous();
        switch (Weights)
        {
            case WeightPlacement.Copied:
                return Initializer(name, TensorProto.Types.DataType.Float, t.bytes, t.numel(), t.shape);
            case WeightPlacement.Viewed:
                var memory = new TensorMemory(t.DetachFromDisposeScope());
                viewed.Add(memory);
                return Initializer(name, TensorProto.Types.DataType.Float, UnsafeByteOperations.UnsafeWrap(memory.Memory), t.shape);
            default:
                Input(name, TensorProto.Types.DataType.Float, t.shape);
                bound.Add(new(name, t.DetachFromDisposeScope()));
                return name;
        }
    }

    /// <summary>
    /// Hands over the <see cref="WeightPlacement.Bound"/> weights added so far, by input name, with ownership of their
    /// tensor handles; the builder keeps none.
    /// </summary>
    public IReadOnlyList<KeyValuePair<string, torch.Tensor>> TakeBoundWeights()
    {
        var taken = bound;
        bound = [];
        return taken;
    }

    /// <summary>Adds a node of <paramref name="opType"/> named <paramref name="name"/>, whose single output takes that name, and returns it.</summary>
    public string Node(string opType, string name, IReadOnlyList<string> inputs, params AttributeProto[] attributes)
        => AddNode(opType, name, inputs, [name], attributes)[0];

    /// <summary>
    /// Adds a node with several outputs, named <c>name</c>, <c>name.1</c>, ... (an empty input name is an omitted
    /// optional input), and returns the output names.
    /// </summary>
    public IReadOnlyList<string> Node(string opType, string name, IReadOnlyList<string> inputs, int outputs, params AttributeProto[] attributes)
        => AddNode(opType, name, inputs, [name, .. Enumerable.Range(1, outputs - 1).Select(i => $"{name}.{i}")], attributes);

    /// <summary>The domain of ONNX Runtime's own operators (<c>FusedMatMul</c> and others), version 1.</summary>
    public const string OnnxRuntimeDomain = "com.microsoft";

    /// <summary>
    /// Adds a node of ONNX Runtime's own operator <paramref name="opType"/> (<see cref="OnnxRuntimeDomain"/>), whose
    /// single output takes its name, and returns it. Graphs with such nodes run on ONNX Runtime only.
    /// </summary>
    public string OnnxRuntimeNode(string opType, string name, IReadOnlyList<string> inputs, params AttributeProto[] attributes)
    {
        var output = AddNode(opType, name, inputs, [name], attributes)[0];
        graph.Node[^1].Domain = OnnxRuntimeDomain;
        return output;
    }

    /// <summary>
    /// Adds a reduction (<c>ReduceMin</c>, <c>ReduceMean</c>, <c>ReduceL2</c>, <c>ReduceSumSquare</c>) over
    /// <paramref name="axes"/>, which opset 18 takes as an input and earlier opsets as an attribute, and returns its output.
    /// </summary>
    public string Reduce(string opType, string name, string input, long[] axes, bool keepDims)
    {
        var keep = OnnxAttributes.Int("keepdims", keepDims ? 1 : 0);
        return OpsetVersion >= ResizeOpset
            ? Node(opType, name, [input, Initializer($"{name}.axes", axes, axes.Length)], keep)
            : Node(opType, name, [input], OnnxAttributes.Ints("axes", axes), keep);
    }

    /// <summary>
    /// Declares a graph input: a tensor of <paramref name="type"/> and shape <paramref name="dims"/> (<see cref="Batch"/>
    /// for the batch size, <see cref="Height"/> and <see cref="Width"/> for free image sides).
    /// </summary>
    public void Input(string name, TensorProto.Types.DataType type, params long[] dims)
    {
        Claim(name);
        graph.Input.Add(ValueInfo(name, type, dims));
    }

    /// <summary>Declares a graph output <paramref name="name"/>: the value <paramref name="value"/>, passed through an Identity node.</summary>
    public void Output(string name, string value, TensorProto.Types.DataType type, params long[] dims)
    {
        Node("Identity", name, [value]);
        graph.Output.Add(ValueInfo(name, type, dims));
    }

    /// <summary>The model: this graph, the opset it uses, who wrote it, a description and metadata key/value pairs.</summary>
    public ModelProto Build(string producer, string producerVersion, string description, IReadOnlyDictionary<string, string> metadata)
    {
        var model = new ModelProto
        {
            IrVersion = IrVersion,
            ProducerName = producer,
            ProducerVersion = producerVersion,
            DocString = description,
            Graph = graph,
        };
        model.OpsetImport.Add(new OperatorSetIdProto { Domain = "", Version = OpsetVersion });
        if (graph.Node.Any(n => n.Domain == OnnxRuntimeDomain))
            model.OpsetImport.Add(new OperatorSetIdProto { Domain = OnnxRuntimeDomain, Version = 1 });
        foreach (var (key, value) in metadata) model.MetadataProps.Add(new StringStringEntryProto { Key = key, Value = value });
        return model;
    }

    /// <summary>
    /// Releases the views of viewed weights (the model must have been serialised already) and the bound weights not
    /// handed over.
    /// </summary>
    public void Dispose()
    {
        viewed.ForEach(m => ((IDisposable)m).Dispose());
        viewed.Clear();
        foreach (var (_, tensor) in TakeBoundWeights()) tensor.Dispose();
    }

    private string Initializer(string name, TensorProto.Types.DataType type, ReadOnlySpan<byte> data, long count, long[] dims)
    {
        if (dims.Aggregate(1L, (a, b) => a * b) != count)
            throw new ArgumentException($"Initializer '{name}' has {count} values but shape [{string.Join(", ", dims)}].", nameof(dims));
        return Initializer(name, type, ByteString.CopyFrom(data), dims);
    }

    private string Initializer(string name, TensorProto.Types.DataType type, ByteString data, long[] dims)
    {
        Claim(name);
        var tensor = new TensorProto { Name = name, DataType = (int)type, RawData = data };
        tensor.Dims.AddRange(dims);
        graph.Initializer.Add(tensor);
        return name;
    }

    private string[] AddNode(string opType, string name, IReadOnlyList<string> inputs, string[] outputs, AttributeProto[] attributes)
    {
        foreach (var input in inputs)
            if (input.Length > 0 && !names.Contains(input))
                throw new InvalidOperationException($"Node '{name}' reads '{input}', which no earlier node, input or initializer defines.");
        foreach (var output in outputs) Claim(output);
        var node = new NodeProto { OpType = opType, Name = name };
        node.Input.AddRange(inputs);
        node.Output.AddRange(outputs);
        node.Attribute.AddRange(attributes);
        graph.Node.Add(node);
        return outputs;
    }

    private void Claim(string name)
    {
        if (!names.Add(name)) throw new InvalidOperationException($"The value name '{name}' is used twice in graph '{graph.Name}'.");
    }

    private static ValueInfoProto ValueInfo(string name, TensorProto.Types.DataType type, long[] dims)
    {
        var shape = new TensorShapeProto();
        foreach (var d in dims)
            shape.Dim.Add(d switch
            {
                Batch => new TensorShapeProto.Types.Dimension { DimParam = BatchDimension },
                Height => new TensorShapeProto.Types.Dimension { DimParam = HeightDimension },
                Width => new TensorShapeProto.Types.Dimension { DimParam = WidthDimension },
                GridHeight => new TensorShapeProto.Types.Dimension { DimParam = GridHeightDimension },
                GridWidth => new TensorShapeProto.Types.Dimension { DimParam = GridWidthDimension },
                Length => new TensorShapeProto.Types.Dimension { DimParam = LengthDimension },
                _ => new TensorShapeProto.Types.Dimension { DimValue = d },
            });
        return new ValueInfoProto
        {
            Name = name,
            Type = new TypeProto { TensorType = new TypeProto.Types.Tensor { ElemType = (int)type, Shape = shape } },
        };
    }
}
