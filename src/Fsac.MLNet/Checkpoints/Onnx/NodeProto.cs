namespace Fsac.MLNet.Checkpoints.Onnx;

/// <summary>
/// The generated <c>NodeProto</c>, with its inputs and outputs as read-only lists and its attributes looked up by name,
/// for code outside this room, which does not name Google.Protobuf's types.
/// </summary>
internal sealed partial class NodeProto
{
    /// <summary>The names of the consumed values (an empty name marks an omitted optional input).</summary>
    public IReadOnlyList<string> Inputs => Input;

    /// <summary>The names of the produced values.</summary>
    public IReadOnlyList<string> Outputs => Output;

    /// <summary>The INT attribute <paramref name="name"/>, or <paramref name="fallback"/> when absent.</summary>
    public long GetInt(string name, long fallback) => FindAttribute(name) is { HasI: true } a ? a.I : fallback;

    /// <summary>The FLOAT attribute <paramref name="name"/>, or <paramref name="fallback"/> when absent.</summary>
    public float GetFloat(string name, float fallback) => FindAttribute(name) is { HasF: true } a ? a.F : fallback;

    /// <summary>The STRING attribute <paramref name="name"/> (decoded as UTF-8), or <paramref name="fallback"/> when absent.</summary>
    public string GetString(string name, string fallback) => FindAttribute(name) is { HasS: true } a ? a.S.ToStringUtf8() : fallback;

    /// <summary>The INTS attribute <paramref name="name"/>, or an empty list when absent.</summary>
    public IReadOnlyList<long> GetInts(string name) => FindAttribute(name)?.Ints ?? (IReadOnlyList<long>)[];

    // OnnxModelReader refuses nodes with two attributes of one name, so the first is the only one.
    private AttributeProto? FindAttribute(string name) => Attribute.FirstOrDefault(a => a.Name == name);
}
