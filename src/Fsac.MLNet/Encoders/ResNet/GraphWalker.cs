using Fsac.MLNet.Checkpoints;
using Fsac.MLNet.Checkpoints.Onnx;

namespace Fsac.MLNet.Encoders.ResNet;

/// <summary>
/// Walks an ONNX graph by data flow for <see cref="OnnxResNetImporter"/>: who consumes a value, which
/// initializer feeds a node, and which nodes have been matched, so that an unmatched node fails the import.
/// </summary>
internal sealed class GraphWalker
{
    private readonly OnnxGraph _graph;
    private readonly string _path;
    private readonly string _expected;
    private readonly Dictionary<string, List<OnnxNode>> _consumers = new(StringComparer.Ordinal);
    private readonly HashSet<OnnxNode> _taken = new(ReferenceEqualityComparer.Instance);

    /// <summary>Indexes <paramref name="graph"/> read from <paramref name="path"/>, which should be <paramref name="expected"/>.</summary>
    public GraphWalker(OnnxGraph graph, string path, string expected)
    {
        _graph = graph;
        _path = path;
        _expected = expected;
        foreach (var node in graph.Nodes)
            foreach (var input in node.Inputs.Where(i => i.Length > 0))
            {
                if (!_consumers.TryGetValue(input, out var list)) _consumers[input] = list = [];
                list.Add(node);
            }
    }

    /// <summary>The graph's only input that is not an initializer.</summary>
    public OnnxValueInfo SingleInput()
    {
        var inputs = _graph.Inputs.Where(i => !_graph.Initializers.ContainsKey(i.Name)).ToList();
        return inputs.Count == 1 ? inputs[0] : throw Fail($"the graph has {inputs.Count} non-constant inputs, expected 1.");
    }

    /// <summary>The nodes that read <paramref name="value"/>.</summary>
    public IReadOnlyList<OnnxNode> Consumers(string value) =>
        _consumers.TryGetValue(value, out var list) ? list : [];

    /// <summary>Marks the single consumer of <paramref name="value"/> as matched; it must be an <paramref name="opType"/>.</summary>
    public OnnxNode Only(string value, string opType)
    {
        var consumers = Consumers(value);
        if (consumers.Count != 1 || consumers[0].OpType != opType)
            throw Fail($"'{value}' feeds [{string.Join(", ", consumers.Select(n => $"{n.OpType} '{n.Name}'"))}], expected one {opType}.");
        return Take(consumers[0]);
    }

    /// <summary>Marks <paramref name="node"/> as matched.</summary>
    public OnnxNode Take(OnnxNode node)
    {
        _taken.Add(node);
        return node;
    }

    /// <summary>The initializer that is input <paramref name="index"/> of <paramref name="node"/>.</summary>
    public TensorData Initializer(OnnxNode node, int index)
    {
        if (index < node.Inputs.Count && _graph.Initializers.TryGetValue(node.Inputs[index], out var tensor)) return tensor;
        throw Fail($"input {index} of {node.OpType} '{node.Name}' is not a constant initializer.");
    }

    /// <summary>Fails unless every node of the graph has been matched.</summary>
    public void EnsureAllNodesUsed()
    {
        var left = _graph.Nodes.Where(n => !_taken.Contains(n)).ToList();
        if (left.Count > 0)
            throw Fail($"{left.Count} node(s) fit no known layer, first {left[0].OpType} '{left[0].Name}'.");
    }

    /// <summary>The exception for a graph that is not what the importer expects.</summary>
    public CheckpointFormatException Fail(string problem) =>
        new(_path, $"not {_expected} this loader understands: {problem}");
}
