using Google.Protobuf;
using Google.Protobuf.Collections;
using System.Buffers.Binary;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Security.Cryptography;
using TorchSharp;

namespace Fsac.MLNet.Checkpoints.Onnx;

/// <summary>
/// Reads the weights and operator graph of an ONNX model without ONNX Runtime. The classes generated from
/// <c>onnx.proto</c> (beside this file) parse it under fixed limits on nesting and size; fields the schema leaves out,
/// subgraphs among them, are skipped without being parsed or kept. This reader then checks what the schema cannot say
/// and decodes the graph's initializers. A truncated or corrupt file, one nested deeper than the schema, a tensor
/// whose dims disagree with its data, or one kept in an external file, throws <see cref="CheckpointFormatException"/>
/// naming the file and the problem.
/// </summary>
internal static class OnnxModelReader
{
    /// <summary>
    /// How deep messages may nest: the schema's deepest is 6 levels below <c>ModelProto</c>
    /// (graph.input.type.tensor_type.shape.dim) and it has no cycle, so no valid file nests deeper. Skipped fields are
    /// not parsed, except groups (a deprecated wire form no ONNX writer uses), which protobuf skips by recursing: this
    /// limit, rather than protobuf's default of 100, bounds that recursion too.
    /// </summary>
    private const int RecursionLimit = 6;

    // Fields outside the schema are skipped rather than kept as copies in each message.
    private static readonly MessageParser<ModelProto> Parser = ModelProto.Parser.WithDiscardUnknownFields(true);

    /// <summary>Reads the ONNX model at <paramref name="path"/>.</summary>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    /// <exception cref="CheckpointFormatException">
    /// The path is a folder, empty or not a regular file (a FIFO, a device), or the file is truncated, corrupt, or not
    /// an ONNX model.
    /// </exception>
    public static OnnxModel Read(string path) => Read(path, hash: null);

    /// <summary>
    /// Reads the ONNX model at <paramref name="path"/>, adding the file's bytes to <paramref name="hash"/> as they are
    /// read (null: no hash), so that a caller who names the model by its content reads the file once.
    /// </summary>
    /// <inheritdoc cref="Read(string)" path="/exception"/>
    public static OnnxModel Read(string path, IncrementalHash? hash)
    {
        using var file = RegularFile.Open(path, "ONNX model", int.MaxValue); // protobuf's limit on one message
        int length = (int)file.Length;
        if (hash is null) return Parse(file, length, path);
        // A complete parse reads every byte (it ends at the file's length), so the hash covers the whole file.
        using var hashing = new HashingStream(file, hash);
        return Parse(hashing, length, path);
    }

    /// <summary>Parses the bytes of an ONNX model; <paramref name="source"/> names it in error messages.</summary>
    /// <exception cref="CheckpointFormatException">The bytes are empty, truncated, corrupt, or not an ONNX model.</exception>
    public static OnnxModel Parse(byte[] bytes, string source)
    {
        ArgumentNullException.ThrowIfNull(bytes);
        return Parse(new MemoryStream(bytes, writable: false), bytes.Length, source);
    }

    // The model in the first length bytes of stream (left open), read as a stream, so that protobuf allocates for the
    // bytes it has read, never for what a length prefix claims (it reads long fields in chunks), and no further than
    // length, the size limit. Each tensor's bytes are then held once, by the message, and shared with its TensorData.
    private static OnnxModel Parse(Stream stream, int length, string source)
    {
        if (length == 0) throw new CheckpointFormatException(source, "is empty, not an ONNX model.");
        ModelProto model;
        using (var input = CodedInputStream.CreateWithLimits(stream, length, RecursionLimit))
        {
            try
            {
                model = Parser.ParseFrom(input);
                // An end-group tag at the top level ends the parse without an error; what follows it would go unread.
                if (!input.IsAtEnd)
                    throw new CheckpointFormatException(source, $"not a readable ONNX model: the model ends at byte {input.Position} of {length}.");
            }
            catch (InvalidProtocolBufferException e)
            {
                throw new CheckpointFormatException(source,
                    $"not a readable ONNX model: the protobuf parser stopped at byte {input.Position} of {length}: {e.Message}", e);
            }
        }
        try
        {
            return Validate(model);
        }
        catch (InvalidDataException e)
        {
            throw new CheckpointFormatException(source, $"not a readable ONNX model: {e.Message}", e);
        }
    }

    private static OnnxModel Validate(ModelProto model)
    {
        var graph = model.Graph ?? throw new InvalidDataException("the model has no graph.");
        if (model.IrVersion <= 0) throw new InvalidDataException("the model has no IR version.");
        foreach (var node in graph.Node)
        {
            if (node.OpType.Length == 0) throw new InvalidDataException($"node '{node.Name}' has no operator type.");
            var names = new HashSet<string>(StringComparer.Ordinal);
            foreach (var attribute in node.Attribute)
            {
                if (attribute.Name.Length == 0) throw new InvalidDataException($"an attribute of node '{node.Name}' has no name.");
                if (!names.Add(attribute.Name))
                    throw new InvalidDataException($"node '{node.Name}' has two attributes named '{attribute.Name}'.");
                // Not decoded, since nothing reads them, but held to the same rules as the initializers.
                if (attribute.T is { } tensor) Layout(tensor);
            }
        }
        var initializers = new Dictionary<string, TensorData>(StringComparer.Ordinal);
        foreach (var tensor in graph.Initializer)
            if (!initializers.TryAdd(tensor.Name, Decode(tensor)))
                throw new InvalidDataException($"two initializers are named '{tensor.Name}'.");
        return new OnnxModel(graph, initializers);
    }

    /// <summary>
    /// The element type, shape and byte size a tensor declares, once its data is known to be in the file and to hold
    /// exactly that many values.
    /// </summary>
    private static (torch.ScalarType DType, long[] Shape, long Bytes) Layout(TensorProto tensor)
    {
        var name = tensor.Name;
        if (tensor.DataLocation == TensorProto.Types.DataLocation.External || tensor.ExternalData.Count > 0)
        {
            var location = tensor.ExternalData.FirstOrDefault(e => e.Key == "location")?.Value;
            throw new InvalidDataException($"tensor '{name}' keeps its data in an external file{(location is null ? "" : $" ('{location}')")}, which is not supported.");
        }
        var dtype = ToScalarType(tensor.DataType) ?? throw new InvalidDataException($"tensor '{name}' has unsupported ONNX data type {tensor.DataType}.");
        var shape = tensor.Dims.ToArray();
        if (shape.Any(d => d < 0)) throw new InvalidDataException($"tensor '{name}' has a negative dimension [{string.Join(", ", shape)}].");
        var elementSize = TensorData.ElementSize(dtype);
        long bytes;
        try { bytes = shape.Aggregate((long)elementSize, (a, b) => checked(a * b)); }
        catch (OverflowException) { bytes = long.MaxValue; }
        if (bytes > Array.MaxLength)
            throw new InvalidDataException($"tensor '{name}' of shape [{string.Join(", ", shape)}] is larger than one array can hold.");
        if (!tensor.RawData.IsEmpty)
        {
            if (tensor.RawData.Length != bytes)
                throw new InvalidDataException($"tensor '{name}' of shape [{string.Join(", ", shape)}] needs {bytes} bytes of raw data but has {tensor.RawData.Length}.");
        }
        else if (Values(tensor, dtype) != bytes / elementSize)
        {
            // Counted before anything is allocated: the dims alone are a claim, the values are in the file.
            throw new InvalidDataException($"tensor '{name}' of shape [{string.Join(", ", shape)}] needs {bytes / elementSize} values but stores {Values(tensor, dtype)}.");
        }
        return (dtype, shape, bytes);
    }

    /// <summary>How many values a tensor without raw data stores in the field of its element type.</summary>
    private static int Values(TensorProto tensor, torch.ScalarType dtype) => dtype switch
    {
        torch.ScalarType.Float32 => tensor.FloatData.Count,
        torch.ScalarType.Int64 => tensor.Int64Data.Count,
        torch.ScalarType.Float64 => tensor.DoubleData.Count,
        _ => tensor.Int32Data.Count,
    };

    private static TensorData Decode(TensorProto tensor)
    {
        var (dtype, shape, bytes) = Layout(tensor);
        if (!tensor.RawData.IsEmpty) return new TensorData(dtype, shape, Bytes(tensor.RawData));
        switch (dtype)
        {
            case torch.ScalarType.Float32: return new TensorData(dtype, shape, Bytes(tensor.FloatData));
            case torch.ScalarType.Int64: return new TensorData(dtype, shape, Bytes(tensor.Int64Data));
            case torch.ScalarType.Float64: return new TensorData(dtype, shape, Bytes(tensor.DoubleData));
        }
        // int32_data carries every narrower type (and float16/bfloat16 bit patterns), one value per element.
        var elementSize = TensorData.ElementSize(dtype);
        var data = new byte[bytes];
        Span<byte> wide = stackalloc byte[4];
        for (var k = 0; k < tensor.Int32Data.Count; k++)
        {
            BinaryPrimitives.WriteInt32LittleEndian(wide, tensor.Int32Data[k]);
            wide[..elementSize].CopyTo(data.AsSpan(k * elementSize));
        }
        return new TensorData(dtype, shape, data);
    }

    /// <summary>
    /// Raw data's bytes: the array the parser read them into when the message owns one of exactly their length (nothing
    /// writes to either), else a copy.
    /// </summary>
    private static byte[] Bytes(ByteString raw)
        => MemoryMarshal.TryGetArray(raw.Memory, out var segment) && segment.Offset == 0 && segment.Count == segment.Array!.Length
            ? segment.Array
            : raw.ToByteArray();

    /// <summary>The values' bytes as they lie in memory: little-endian, as <see cref="TensorData"/> holds them, wherever TorchSharp runs.</summary>
    private static byte[] Bytes<T>(RepeatedField<T> values) where T : unmanaged
    {
        var data = new byte[(long)values.Count * Unsafe.SizeOf<T>()];
        var span = MemoryMarshal.Cast<byte, T>(data.AsSpan());
        for (var k = 0; k < span.Length; k++) span[k] = values[k];
        return data;
    }

    private static torch.ScalarType? ToScalarType(int onnxDataType) => (TensorProto.Types.DataType)onnxDataType switch
    {
        TensorProto.Types.DataType.Float => torch.ScalarType.Float32,
        TensorProto.Types.DataType.Uint8 => torch.ScalarType.Byte,
        TensorProto.Types.DataType.Int8 => torch.ScalarType.Int8,
        TensorProto.Types.DataType.Int16 => torch.ScalarType.Int16,
        TensorProto.Types.DataType.Int32 => torch.ScalarType.Int32,
        TensorProto.Types.DataType.Int64 => torch.ScalarType.Int64,
        TensorProto.Types.DataType.Bool => torch.ScalarType.Bool,
        TensorProto.Types.DataType.Float16 => torch.ScalarType.Float16,
        TensorProto.Types.DataType.Double => torch.ScalarType.Float64,
        TensorProto.Types.DataType.Bfloat16 => torch.ScalarType.BFloat16,
        _ => null,
    };
}
