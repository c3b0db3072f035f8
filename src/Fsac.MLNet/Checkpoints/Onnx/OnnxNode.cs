namespace Fsac.MLNet.Checkpoints.Onnx;

/// <summary>One operator of an ONNX graph.</summary>
/// <param name="Name">Node name (may be empty).</param>
/// <param name="OpType">Operator, e.g. <c>Conv</c>.</param>
/// <param name="Domain">Operator set domain; empty for the default <c>ai.onnx</c>.</param>
/// <param name="Inputs">Names of the consumed values (an empty name marks an omitted optional input).</param>
/// <param name="Outputs">Names of the produced values.</param>
/// <param name="Attributes">Attributes by name.</param>
internal sealed record OnnxNode(
    string Name,
    string OpType,
    string Domain,
    IReadOnlyList<string> Inputs,
    IReadOnlyList<string> Outputs,
    IReadOnlyDictionary<string, OnnxAttribute> Attributes)
{
    /// <summary>The INT attribute <paramref name="name"/>, or <paramref name="fallback"/> when absent.</summary>
    public long GetInt(string name, long fallback) =>
        Attributes.TryGetValue(name, out var a) && a.Int is { } v ? v : fallback;

    /// <summary>The FLOAT attribute <paramref name="name"/>, or <paramref name="fallback"/> when absent.</summary>
    public float GetFloat(string name, float fallback) =>
        Attributes.TryGetValue(name, out var a) && a.Float is { } v ? v : fallback;

    /// <summary>The STRING attribute <paramref name="name"/>, or <paramref name="fallback"/> when absent.</summary>
    public string GetString(string name, string fallback) =>
        Attributes.TryGetValue(name, out var a) && a.String is { } v ? v : fallback;

    /// <summary>The INTS attribute <paramref name="name"/>, or an empty list when absent.</summary>
    public IReadOnlyList<long> GetInts(string name) =>
        Attributes.TryGetValue(name, out var a) ? a.Ints : [];
}
