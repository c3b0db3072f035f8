namespace Fsac.MLNet.Checkpoints.Onnx;

/// <summary>An ONNX <c>GraphProto</c>: nodes in file (topological) order, constant initializers, inputs and outputs.</summary>
/// <param name="Name">Graph name (may be empty).</param>
/// <param name="Nodes">Operators in the order the file lists them (ONNX requires topological order).</param>
/// <param name="Initializers">Constant tensors (weights) by name.</param>
/// <param name="Inputs">Declared graph inputs; in older files these include the initializers.</param>
/// <param name="Outputs">Declared graph outputs.</param>
internal sealed record OnnxGraph(
    string Name,
    IReadOnlyList<OnnxNode> Nodes,
    IReadOnlyDictionary<string, TensorData> Initializers,
    IReadOnlyList<OnnxValueInfo> Inputs,
    IReadOnlyList<OnnxValueInfo> Outputs);
