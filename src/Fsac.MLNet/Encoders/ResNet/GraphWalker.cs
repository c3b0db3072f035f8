using Fsac.MLNet.Checkpoints;
using Fsac.MLNet.Checkpoints.Onnx;

namespace Fsac.MLNet.Encoders.ResNet;

/// <summary>
/// Walks an ONNX graph by data flow for <see cref="OnnxResNetImporter"/>: who consumes a value, which
/// initializer feeds a node, and which nodes have been matched, so that an unmatched node fails the import.
/// Nodes are told apart by reference: two identical nodes are still two.
/// </summary>
internal sealed class GraphWalker
{
    private readonly OnnxModel _model;
    private readonly string _path;
    private readonly string _expected;
    private readonly Dictionary<string, List<NodeProto>> _consumers = new(StringComparer.Ordinal);
    private readonly HashSet<NodeProto> _taken = new(ReferenceEqualityComparer.Instance);

    /// <summary>Indexes the graph of <paramref name="model"/>, read from <paramref name="path"/>, which should be <paramref name="expected"/>.</summary>
    public GraphWalker(OnnxModel model, string path, string expected)
    {
        _model = model;
        _path = path;
        _expected = expected;
        foreach (var node in model.Nodes)
        {
            if (node.Outputs.Count == 0) throw Fail($"{node.OpType} '{node.Name}' has no output.");
            foreach (var input in node.Inputs.Where(i => i.Length > 0))
            {
                if (!_consumers.TryGetValue(input, out var list)) _consumers[input] = list = [];
                list.Add(node);
            }
        }
    }

    /// <summary>The graph's only input that is not an initializer.</summary>
    public ValueInfoProto SingleInput()
    {
        var inputs = _model.Inputs.Where(i => !_model.Initializers.ContainsKey(i.Name)).ToList();
        return inputs.Count == 1 ? inputs[0] : throw Fail($"the graph has {inputs.Count} non-constant inputs, expected 1.");
    }

    /// <summary>The nodes that read <paramref name="value"/>.</summary>
    public IReadOnlyList<NodeProto> Consumers(string value) =>
        _consumers.TryGetValue(value, out var list) ? list : [];

    /// <summary>Marks the single consumer of <paramref name="value"/> as matched; it must be an <paramref name="opType"/>.</summary>
    public NodeProto Only(string value, string opType)
    {
        var consumers = Consumers(value);
        if (consumers.Count != 1 || consumers[0].OpType != opType)
            throw Fail($"'{value}' feeds [{string.Join(", ", consumers.Select(n => $"{n.OpType} '{n.Name}'"))}], expected one {opType}.");
        return Take(consumers[0]);
    }

    /// <summary>Marks <paramref name="node"/> as matched.</summary>
    public NodeProto Take(NodeProto node)
    {
        _taken.Add(node);
        return node;
    }

    /// <summary>The initializer that is input <paramref name="index"/> of <paramref name="node"/>.</summary>
    public TensorData Initializer(NodeProto node, int index)
    {
        if (index < node.Inputs.Count && _model.Initializers.TryGetValue(node.Inputs[index], out var tensor)) return tensor;
        throw Fail($"input {index} of {node.OpType} '{node.Name}' is not a constant initializer.");
    }

    /// <summary>Fails unless every node of the graph has been matched.</summary>
    public void EnsureAllNodesUsed()
    {
        var left = _model.Nodes.Where(n => !_taken.Contains(n)).ToList();
        if (left.Count > 0)
            throw Fail($"{left.Count} node(s) fit no known layer, first {left[0].OpType} '{left[0].Name}'.");
    }

    /// <summary>The exception for a graph that is not what the importer expects.</summary>
    public CheckpointFormatException Fail(string problem) =>
        new(_path, $"not {_expected} this loader understands: {problem}");
}
