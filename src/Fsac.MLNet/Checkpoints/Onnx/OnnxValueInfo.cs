namespace Fsac.MLNet.Checkpoints.Onnx;

/// <summary>A graph input or output: its name and declared tensor shape.</summary>
/// <param name="Name">Value name, as nodes refer to it.</param>
/// <param name="Shape">Declared dimensions; -1 for a symbolic or unknown dimension; empty when no shape is declared.</param>
internal sealed record OnnxValueInfo(string Name, IReadOnlyList<long> Shape);
