namespace Fsac.MLNet.Checkpoints.Onnx;

/// <summary>The generated <c>ValueInfoProto</c>, with its tensor shape as numbers.</summary>
internal sealed partial class ValueInfoProto
{
    /// <summary>
    /// The declared dimensions (<c>type.tensor_type.shape.dim</c>): -1 for a symbolic or unknown dimension; empty when
    /// no tensor shape is declared.
    /// </summary>
    public long[] Dims() =>
        Type?.TensorType?.Shape?.Dim.Select(d => d.ValueCase == TensorShapeProto.Types.Dimension.ValueOneofCase.DimValue ? d.DimValue : -1).ToArray() ?? [];
}
