using Fsac.MLNet.Checkpoints.Onnx;
using Fsac.MLNet.Files;
using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;

namespace Fsac.MLNet.Export;

/// <summary>
/// A model repository for NVIDIA Triton Inference Server (and KServe's Triton runtime) holding one exported graph:
/// <c>&lt;repository&gt;/&lt;name&gt;/1/model.onnx</c> and <c>&lt;repository&gt;/&lt;name&gt;/config.pbtxt</c>, the
/// configuration read from the graph itself (tensor names, types and dims, the batch dimension left to the server),
/// for the <c>onnxruntime</c> backend on CPU with dynamic batching.
/// </summary>
public static partial class TritonRepository
{
    /// <summary>
    /// Writes the repository entry <paramref name="name"/> for the ONNX graph <paramref name="onnx"/> (whose first
    /// dimension of every input and output is the batch), each file atomically.
    /// </summary>
    /// <returns>The model's folder, <c>&lt;repository&gt;/&lt;name&gt;</c>.</returns>
    /// <exception cref="ArgumentException">The name is not a valid model name, the batch size is below 1, or the bytes are not an ONNX model.</exception>
    /// <exception cref="NotSupportedException">A tensor has no batch dimension first, or an element type Triton cannot carry.</exception>
    public static string Write(string repository, string name, byte[] onnx, int maxBatchSize = 8)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(repository);
        ArgumentNullException.ThrowIfNull(onnx);
        var config = Config(name, onnx, maxBatchSize);
        var folder = Path.Combine(repository, name);
        Directory.CreateDirectory(Path.Combine(folder, "1"));
        AtomicFile.Write(Path.Combine(folder, "1", "model.onnx"), stream => stream.Write(onnx));
        AtomicFile.Write(Path.Combine(folder, "config.pbtxt"), stream => stream.Write(Encoding.UTF8.GetBytes(config)));
        return folder;
    }

    /// <summary>Whether <paramref name="name"/> can name a model: letters, digits, '_', '-' and '.', starting with a letter or digit.</summary>
    public static bool IsModelName(string name) => name is not null && ModelName().IsMatch(name);

    /// <summary>The <c>config.pbtxt</c> text for <paramref name="onnx"/> served as <paramref name="name"/>.</summary>
    /// <exception cref="ArgumentException">The name is not a valid model name, the batch size is below 1, or the bytes are not an ONNX model.</exception>
    /// <exception cref="NotSupportedException">A tensor has no batch dimension first, or an element type Triton cannot carry.</exception>
    public static string Config(string name, byte[] onnx, int maxBatchSize = 8)
    {
        ArgumentNullException.ThrowIfNull(name);
        ArgumentNullException.ThrowIfNull(onnx);
        if (!IsModelName(name))
            throw new ArgumentException($"'{name}' is not a model name: use letters, digits, '_', '-' and '.', starting with a letter or digit.", nameof(name));
        ArgumentOutOfRangeException.ThrowIfLessThan(maxBatchSize, 1);
        ModelProto model;
        try
        {
            model = ModelProto.Parser.ParseFrom(onnx);
        }
        catch (Google.Protobuf.InvalidProtocolBufferException e)
        {
            throw new ArgumentException($"The bytes are not an ONNX model: {e.Message}", nameof(onnx), e);
        }
        if (model.Graph is null || model.Graph.Input.Count == 0 || model.Graph.Output.Count == 0)
            throw new ArgumentException("The ONNX model has no graph inputs or outputs.", nameof(onnx));
        var text = new StringBuilder();
        text.Append(CultureInfo.InvariantCulture, $"name: \"{name}\"\n");
        text.Append("backend: \"onnxruntime\"\n");
        text.Append(CultureInfo.InvariantCulture, $"max_batch_size: {maxBatchSize}\n");
        AppendTensors(text, "input", model.Graph.Input);
        AppendTensors(text, "output", model.Graph.Output);
        text.Append("instance_group [ { kind: KIND_CPU } ]\n");
        text.Append("dynamic_batching { }\n");
        return text.ToString();
    }

    private static void AppendTensors(StringBuilder text, string section, IReadOnlyList<ValueInfoProto> tensors)
    {
        text.Append(section).Append(" [\n");
        for (int i = 0; i < tensors.Count; i++)
        {
            var tensor = tensors[i];
            var type = tensor.Type?.TensorType ?? throw new NotSupportedException($"'{tensor.Name}' is not a tensor.");
            var dims = type.Shape?.Dim ?? throw new NotSupportedException($"'{tensor.Name}' has no shape.");
            if (dims.Count == 0 || dims[0].ValueCase != TensorShapeProto.Types.Dimension.ValueOneofCase.DimParam)
                throw new NotSupportedException($"'{tensor.Name}' has no batch dimension first; Triton's batching needs one.");
            var rest = dims.Skip(1).Select(d => d.ValueCase == TensorShapeProto.Types.Dimension.ValueOneofCase.DimValue
                ? d.DimValue.ToString(CultureInfo.InvariantCulture)
                : "-1").ToList();
            // A tensor that is only the batch ([N]) is declared as [1] per item and reshaped to a scalar.
            var shape = rest.Count == 0 ? "dims: [ 1 ] reshape: { shape: [ ] }" : $"dims: [ {string.Join(", ", rest)} ]";
            text.Append(CultureInfo.InvariantCulture, $"  {{ name: \"{tensor.Name}\" data_type: {TritonType(tensor.Name, type.ElemType)} {shape} }}");
            text.Append(i + 1 < tensors.Count ? ",\n" : "\n");
        }
        text.Append("]\n");
    }

    private static string TritonType(string tensor, int onnxType) => (TensorProto.Types.DataType)onnxType switch
    {
        TensorProto.Types.DataType.Float => "TYPE_FP32",
        TensorProto.Types.DataType.Bool => "TYPE_BOOL",
        TensorProto.Types.DataType.Int64 => "TYPE_INT64",
        TensorProto.Types.DataType.Int32 => "TYPE_INT32",
        TensorProto.Types.DataType.Uint8 => "TYPE_UINT8",
        _ => throw new NotSupportedException($"'{tensor}' has ONNX element type {onnxType}, which this writer does not map to a Triton type."),
    };

    [GeneratedRegex("^[A-Za-z0-9][A-Za-z0-9_.-]*$")]
    private static partial Regex ModelName();
}
