namespace Fsac.MLNet.Checkpoints.Onnx;

/// <summary>
/// One operator attribute of an ONNX node. Only the field matching the attribute's kind is set:
/// a float, an integer, a string, lists of floats or integers, or a tensor. Graph-valued attributes are not read.
/// </summary>
/// <param name="Name">Attribute name, e.g. <c>strides</c>.</param>
/// <param name="Float">Value of a FLOAT attribute.</param>
/// <param name="Int">Value of an INT attribute.</param>
/// <param name="String">Value of a STRING attribute (decoded as UTF-8).</param>
/// <param name="Floats">Values of a FLOATS attribute (empty otherwise).</param>
/// <param name="Ints">Values of an INTS attribute (empty otherwise).</param>
/// <param name="Tensor">Value of a TENSOR attribute (as in <c>Constant</c> nodes).</param>
internal sealed record OnnxAttribute(
    string Name,
    float? Float,
    long? Int,
    string? String,
    IReadOnlyList<float> Floats,
    IReadOnlyList<long> Ints,
    TensorData? Tensor);
