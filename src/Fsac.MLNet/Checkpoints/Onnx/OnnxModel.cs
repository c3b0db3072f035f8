namespace Fsac.MLNet.Checkpoints.Onnx;

/// <summary>
/// An ONNX model as <see cref="OnnxModelReader"/> returns it: the main graph's nodes, inputs and outputs as parsed,
/// with an operator type on every node and distinct attribute names, and its initializers decoded, their dims checked
/// against their data. The lists are the generated classes' own, seen as read-only lists, so that code outside this
/// room walks the graph without naming Google.Protobuf's types.
/// </summary>
/// <param name="graph">The model's main graph.</param>
/// <param name="initializers">The graph's constant tensors (weights) by name.</param>
internal sealed class OnnxModel(GraphProto graph, IReadOnlyDictionary<string, TensorData> initializers)
{
    /// <summary>The operators, in file (topological) order.</summary>
    public IReadOnlyList<NodeProto> Nodes { get; } = graph.Node;

    /// <summary>The declared graph inputs; in older files these include the initializers.</summary>
    public IReadOnlyList<ValueInfoProto> Inputs { get; } = graph.Input;

    /// <summary>The declared graph outputs.</summary>
    public IReadOnlyList<ValueInfoProto> Outputs { get; } = graph.Output;

    /// <summary>The graph's constant tensors (weights) by name.</summary>
    public IReadOnlyDictionary<string, TensorData> Initializers { get; } = initializers;
}
