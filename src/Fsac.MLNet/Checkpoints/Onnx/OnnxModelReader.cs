using Fsac.MLNet.Checkpoints.Protobuf;
using System.Buffers.Binary;
using TorchSharp;

namespace Fsac.MLNet.Checkpoints.Onnx;

/// <summary>
/// Reads the weights and operator graph of an ONNX model straight from its protobuf encoding, without
/// ONNX Runtime: <c>ModelProto</c> → <c>GraphProto</c> → nodes, initializers (<c>TensorProto</c>), inputs and
/// outputs. Unknown fields are skipped, and so are graph-valued attributes (the bodies of <c>If</c>, <c>Loop</c>,
/// <c>Scan</c>): messages are read to a fixed depth, whatever a file nests. A truncated or corrupt file, or one whose
/// declared sizes exceed its bytes, throws <see cref="CheckpointFormatException"/>. Tensors stored in external files
/// are not supported.
/// </summary>
internal static class OnnxModelReader
{
    // Field numbers from onnx.proto.
    private const int ModelIrVersion = 1, ModelProducerName = 2, ModelProducerVersion = 3, ModelGraph = 7, ModelOpsetImport = 8;
    private const int OpsetDomain = 1, OpsetVersion = 2;
    private const int GraphNode = 1, GraphName = 2, GraphInitializer = 5, GraphInput = 11, GraphOutput = 12;
    private const int NodeInput = 1, NodeOutput = 2, NodeName = 3, NodeOpType = 4, NodeAttribute = 5, NodeDomain = 7;
    private const int AttrName = 1, AttrFloat = 2, AttrInt = 3, AttrString = 4, AttrTensor = 5, AttrFloats = 7, AttrInts = 8;
    private const int TensorDims = 1, TensorDataType = 2, TensorFloatData = 4, TensorInt32Data = 5, TensorInt64Data = 7,
        TensorName = 8, TensorRawData = 9, TensorDoubleData = 10, TensorDataLocation = 14;
    private const int ValueName = 1, ValueType = 2, TypeTensor = 1, TypeTensorShape = 2, ShapeDim = 1, DimValue = 1;
    private const int DataLocationExternal = 1;

    /// <summary>Reads the ONNX model at <paramref name="path"/>.</summary>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    /// <exception cref="CheckpointFormatException">
    /// The path is a folder, empty or not a regular file (a FIFO, a device), or the file is truncated, corrupt, or not
    /// an ONNX model.
    /// </exception>
    public static OnnxModel Read(string path) => Parse(RegularFile.ReadAllBytes(path, "ONNX model"), path);

    /// <summary>Parses the bytes of an ONNX model; <paramref name="source"/> names it in error messages.</summary>
    /// <exception cref="CheckpointFormatException">The bytes are truncated, corrupt, or not an ONNX model.</exception>
    public static OnnxModel Parse(ReadOnlySpan<byte> bytes, string source)
    {
        try
        {
            return ReadModel(bytes);
        }
        catch (InvalidDataException e)
        {
            throw new CheckpointFormatException(source, $"not a readable ONNX model: {e.Message}", e);
        }
    }

    private static OnnxModel ReadModel(ReadOnlySpan<byte> bytes)
    {
        long irVersion = 0, opset = 0;
        string producer = "", producerVersion = "";
        OnnxGraph? graph = null;
        var r = new ProtoReader(bytes, "ModelProto");
        while (r.TryReadTag(out var field, out var wire))
        {
            switch (field)
            {
                case ModelIrVersion: Expect(wire, WireType.Varint, "ModelProto.ir_version"); irVersion = r.ReadInt64(); break;
                case ModelProducerName: Expect(wire, WireType.LengthDelimited, "ModelProto.producer_name"); producer = r.ReadString(); break;
                case ModelProducerVersion: Expect(wire, WireType.LengthDelimited, "ModelProto.producer_version"); producerVersion = r.ReadString(); break;
                case ModelGraph:
                    Expect(wire, WireType.LengthDelimited, "ModelProto.graph");
                    if (graph is not null) throw new InvalidDataException("the model has two graphs.");
                    graph = ReadGraph(r.ReadLengthDelimited());
                    break;
                case ModelOpsetImport:
                    Expect(wire, WireType.LengthDelimited, "ModelProto.opset_import");
                    var (domain, version) = ReadOpset(r.ReadLengthDelimited());
                    if (domain is "" or "ai.onnx") opset = version;
                    break;
                default: r.Skip(wire); break;
            }
        }
        if (graph is null) throw new InvalidDataException("the model has no graph.");
        if (irVersion <= 0) throw new InvalidDataException("the model has no IR version.");
        return new OnnxModel(irVersion, producer, producerVersion, opset, graph);
    }

    private static (string Domain, long Version) ReadOpset(ReadOnlySpan<byte> bytes)
    {
        string domain = "";
        long version = 0;
        var r = new ProtoReader(bytes, "OperatorSetIdProto");
        while (r.TryReadTag(out var field, out var wire))
        {
            switch (field)
            {
                case OpsetDomain: Expect(wire, WireType.LengthDelimited, "OperatorSetIdProto.domain"); domain = r.ReadString(); break;
                case OpsetVersion: Expect(wire, WireType.Varint, "OperatorSetIdProto.version"); version = r.ReadInt64(); break;
                default: r.Skip(wire); break;
            }
        }
        return (domain, version);
    }

    private static OnnxGraph ReadGraph(ReadOnlySpan<byte> bytes)
    {
        string name = "";
        var nodes = new List<OnnxNode>();
        var initializers = new Dictionary<string, TensorData>(StringComparer.Ordinal);
        var inputs = new List<OnnxValueInfo>();
        var outputs = new List<OnnxValueInfo>();
        var r = new ProtoReader(bytes, "GraphProto");
        while (r.TryReadTag(out var field, out var wire))
        {
            switch (field)
            {
                case GraphNode: Expect(wire, WireType.LengthDelimited, "GraphProto.node"); nodes.Add(ReadNode(r.ReadLengthDelimited())); break;
                case GraphName: Expect(wire, WireType.LengthDelimited, "GraphProto.name"); name = r.ReadString(); break;
                case GraphInitializer:
                    Expect(wire, WireType.LengthDelimited, "GraphProto.initializer");
                    var (tensorName, tensor) = ReadTensor(r.ReadLengthDelimited());
                    if (!initializers.TryAdd(tensorName, tensor))
                        throw new InvalidDataException($"two initializers are named '{tensorName}'.");
                    break;
                case GraphInput: Expect(wire, WireType.LengthDelimited, "GraphProto.input"); inputs.Add(ReadValueInfo(r.ReadLengthDelimited())); break;
                case GraphOutput: Expect(wire, WireType.LengthDelimited, "GraphProto.output"); outputs.Add(ReadValueInfo(r.ReadLengthDelimited())); break;
                default: r.Skip(wire); break;
            }
        }
        return new OnnxGraph(name, nodes, initializers, inputs, outputs);
    }

    private static OnnxNode ReadNode(ReadOnlySpan<byte> bytes)
    {
        string name = "", opType = "", domain = "";
        var inputs = new List<string>();
        var outputs = new List<string>();
        var attributes = new Dictionary<string, OnnxAttribute>(StringComparer.Ordinal);
        var r = new ProtoReader(bytes, "NodeProto");
        while (r.TryReadTag(out var field, out var wire))
        {
            switch (field)
            {
                case NodeInput: Expect(wire, WireType.LengthDelimited, "NodeProto.input"); inputs.Add(r.ReadString()); break;
                case NodeOutput: Expect(wire, WireType.LengthDelimited, "NodeProto.output"); outputs.Add(r.ReadString()); break;
                case NodeName: Expect(wire, WireType.LengthDelimited, "NodeProto.name"); name = r.ReadString(); break;
                case NodeOpType: Expect(wire, WireType.LengthDelimited, "NodeProto.op_type"); opType = r.ReadString(); break;
                case NodeDomain: Expect(wire, WireType.LengthDelimited, "NodeProto.domain"); domain = r.ReadString(); break;
                case NodeAttribute:
                    Expect(wire, WireType.LengthDelimited, "NodeProto.attribute");
                    var attribute = ReadAttribute(r.ReadLengthDelimited());
                    if (!attributes.TryAdd(attribute.Name, attribute))
                        throw new InvalidDataException($"node '{name}' has two attributes named '{attribute.Name}'.");
                    break;
                default: r.Skip(wire); break;
            }
        }
        if (opType.Length == 0) throw new InvalidDataException($"node '{name}' has no operator type.");
        return new OnnxNode(name, opType, domain, inputs, outputs, attributes);
    }

    private static OnnxAttribute ReadAttribute(ReadOnlySpan<byte> bytes)
    {
        string name = "";
        float? f = null;
        long? i = null;
        string? s = null;
        TensorData? t = null;
        var floats = new List<float>();
        var ints = new List<long>();
        var r = new ProtoReader(bytes, "AttributeProto");
        while (r.TryReadTag(out var field, out var wire))
        {
            switch (field)
            {
                case AttrName: Expect(wire, WireType.LengthDelimited, "AttributeProto.name"); name = r.ReadString(); break;
                case AttrFloat: Expect(wire, WireType.Fixed32, "AttributeProto.f"); f = BitConverter.UInt32BitsToSingle(r.ReadFixed32()); break;
                case AttrInt: Expect(wire, WireType.Varint, "AttributeProto.i"); i = r.ReadInt64(); break;
                case AttrString: Expect(wire, WireType.LengthDelimited, "AttributeProto.s"); s = r.ReadString(); break;
                case AttrTensor: Expect(wire, WireType.LengthDelimited, "AttributeProto.t"); t = ReadTensor(r.ReadLengthDelimited()).Tensor; break;
                case AttrFloats: ReadFloats(ref r, wire, floats); break;
                case AttrInts: ReadInt64s(ref r, wire, ints); break;
                default: r.Skip(wire); break;
            }
        }
        if (name.Length == 0) throw new InvalidDataException("an attribute has no name.");
        return new OnnxAttribute(name, f, i, s, floats, ints, t);
    }

    private static OnnxValueInfo ReadValueInfo(ReadOnlySpan<byte> bytes)
    {
        string name = "";
        var shape = new List<long>();
        var r = new ProtoReader(bytes, "ValueInfoProto");
        while (r.TryReadTag(out var field, out var wire))
        {
            if (field == ValueName && wire == WireType.LengthDelimited) name = r.ReadString();
            else if (field == ValueType && wire == WireType.LengthDelimited) ReadTensorTypeShape(r.ReadLengthDelimited(), shape);
            else r.Skip(wire);
        }
        return new OnnxValueInfo(name, shape);
    }

    // TypeProto.tensor_type.shape.dim[].dim_value; symbolic dimensions become -1.
    private static void ReadTensorTypeShape(ReadOnlySpan<byte> typeProto, List<long> shape)
    {
        var type = new ProtoReader(typeProto, "TypeProto");
        while (type.TryReadTag(out var field, out var wire))
        {
            if (field != TypeTensor || wire != WireType.LengthDelimited) { type.Skip(wire); continue; }
            var tensorType = new ProtoReader(type.ReadLengthDelimited(), "TypeProto.Tensor");
            while (tensorType.TryReadTag(out var tf, out var tw))
            {
                if (tf != TypeTensorShape || tw != WireType.LengthDelimited) { tensorType.Skip(tw); continue; }
                var shapeProto = new ProtoReader(tensorType.ReadLengthDelimited(), "TensorShapeProto");
                while (shapeProto.TryReadTag(out var sf, out var sw))
                {
                    if (sf != ShapeDim || sw != WireType.LengthDelimited) { shapeProto.Skip(sw); continue; }
                    long value = -1;
                    var dim = new ProtoReader(shapeProto.ReadLengthDelimited(), "TensorShapeProto.Dimension");
                    while (dim.TryReadTag(out var df, out var dw))
                    {
                        if (df == DimValue && dw == WireType.Varint) value = dim.ReadInt64();
                        else dim.Skip(dw);
                    }
                    shape.Add(value);
                }
            }
        }
    }

    private static (string Name, TensorData Tensor) ReadTensor(ReadOnlySpan<byte> bytes)
    {
        string name = "";
        int dataType = 0;
        var dims = new List<long>();
        var floatData = new List<float>();
        var int32Data = new List<long>();
        var int64Data = new List<long>();
        var doubleData = new List<double>();
        byte[]? raw = null;
        var r = new ProtoReader(bytes, "TensorProto");
        while (r.TryReadTag(out var field, out var wire))
        {
            switch (field)
            {
                case TensorDims: ReadInt64s(ref r, wire, dims); break;
                case TensorDataType: Expect(wire, WireType.Varint, "TensorProto.data_type"); dataType = r.ReadInt32(); break;
                case TensorFloatData: ReadFloats(ref r, wire, floatData); break;
                case TensorInt32Data: ReadInt64s(ref r, wire, int32Data); break;
                case TensorInt64Data: ReadInt64s(ref r, wire, int64Data); break;
                case TensorName: Expect(wire, WireType.LengthDelimited, "TensorProto.name"); name = r.ReadString(); break;
                case TensorRawData: Expect(wire, WireType.LengthDelimited, "TensorProto.raw_data"); raw = r.ReadLengthDelimited().ToArray(); break;
                case TensorDoubleData: ReadDoubles(ref r, wire, doubleData); break;
                case TensorDataLocation:
                    Expect(wire, WireType.Varint, "TensorProto.data_location");
                    if (r.ReadInt32() == DataLocationExternal)
                        throw new InvalidDataException($"tensor '{name}' keeps its data in an external file, which is not supported.");
                    break;
                default: r.Skip(wire); break;
            }
        }

        var dtype = ToScalarType(dataType) ?? throw new InvalidDataException($"tensor '{name}' has unsupported ONNX data type {dataType}.");
        if (dims.Any(d => d < 0)) throw new InvalidDataException($"tensor '{name}' has a negative dimension [{string.Join(", ", dims)}].");
        var shape = dims.ToArray();
        var elementSize = TensorData.ElementSize(dtype);
        long expectedBytes;
        try { expectedBytes = shape.Aggregate((long)elementSize, (a, b) => checked(a * b)); }
        catch (OverflowException) { expectedBytes = long.MaxValue; }
        if (expectedBytes > Array.MaxLength)
            throw new InvalidDataException($"tensor '{name}' of shape [{string.Join(", ", shape)}] is larger than one array can hold.");
        var count = expectedBytes / elementSize;
        byte[] data;
        if (raw is not null)
        {
            if (raw.LongLength != expectedBytes)
                throw new InvalidDataException($"tensor '{name}' of shape [{string.Join(", ", shape)}] needs {expectedBytes} bytes of raw data but has {raw.LongLength}.");
            data = raw;
        }
        else
        {
            // The values are counted before the tensor is allocated: the dims alone are a claim, the values are in the file.
            var typed = dtype switch
            {
                torch.ScalarType.Float32 => floatData.Count,
                torch.ScalarType.Int64 => int64Data.Count,
                torch.ScalarType.Float64 => doubleData.Count,
                _ => int32Data.Count,
            };
            if (typed != count)
                throw new InvalidDataException($"tensor '{name}' of shape [{string.Join(", ", shape)}] needs {count} values but stores {typed}.");
            data = new byte[expectedBytes];
            var span = data.AsSpan();
            Span<byte> wide = stackalloc byte[8];
            for (var k = 0; k < count; k++)
            {
                switch (dtype)
                {
                    case torch.ScalarType.Float32: BinaryPrimitives.WriteSingleLittleEndian(span[(k * 4)..], floatData[k]); break;
                    case torch.ScalarType.Int64: BinaryPrimitives.WriteInt64LittleEndian(span[(k * 8)..], int64Data[k]); break;
                    case torch.ScalarType.Float64: BinaryPrimitives.WriteDoubleLittleEndian(span[(k * 8)..], doubleData[k]); break;
                    default:
                        // int32_data carries every narrower type (and float16/bfloat16 bit patterns), one value per element.
                        BinaryPrimitives.WriteInt64LittleEndian(wide, int32Data[k]);
                        wide[..elementSize].CopyTo(span[(k * elementSize)..]);
                        break;
                }
            }
        }
        return (name, new TensorData(dtype, shape, data));
    }

    private static torch.ScalarType? ToScalarType(int onnxDataType) => onnxDataType switch
    {
        1 => torch.ScalarType.Float32,
        2 => torch.ScalarType.Byte,
        3 => torch.ScalarType.Int8,
        5 => torch.ScalarType.Int16,
        6 => torch.ScalarType.Int32,
        7 => torch.ScalarType.Int64,
        9 => torch.ScalarType.Bool,
        10 => torch.ScalarType.Float16,
        11 => torch.ScalarType.Float64,
        16 => torch.ScalarType.BFloat16,
        _ => null,
    };

    private static void ReadInt64s(ref ProtoReader r, WireType wire, List<long> into)
    {
        if (wire == WireType.Varint) { into.Add(r.ReadInt64()); return; }
        Expect(wire, WireType.LengthDelimited, "repeated integer field");
        var packed = new ProtoReader(r.ReadLengthDelimited(), "packed integers");
        while (packed.HasMore) into.Add(packed.ReadInt64());
    }

    private static void ReadFloats(ref ProtoReader r, WireType wire, List<float> into)
    {
        if (wire == WireType.Fixed32) { into.Add(BitConverter.UInt32BitsToSingle(r.ReadFixed32())); return; }
        Expect(wire, WireType.LengthDelimited, "repeated float field");
        var packed = r.ReadLengthDelimited();
        if (packed.Length % 4 != 0) throw new InvalidDataException($"packed float field of {packed.Length} bytes is not a multiple of 4.");
        for (var k = 0; k < packed.Length; k += 4) into.Add(BinaryPrimitives.ReadSingleLittleEndian(packed[k..]));
    }

    private static void ReadDoubles(ref ProtoReader r, WireType wire, List<double> into)
    {
        if (wire == WireType.Fixed64) { into.Add(BitConverter.UInt64BitsToDouble(r.ReadFixed64())); return; }
        Expect(wire, WireType.LengthDelimited, "repeated double field");
        var packed = r.ReadLengthDelimited();
        if (packed.Length % 8 != 0) throw new InvalidDataException($"packed double field of {packed.Length} bytes is not a multiple of 8.");
        for (var k = 0; k < packed.Length; k += 8) into.Add(BinaryPrimitives.ReadDoubleLittleEndian(packed[k..]));
    }

    private static void Expect(WireType actual, WireType expected, string field)
    {
        if (actual != expected)
            throw new InvalidDataException($"{field} has wire type {(int)actual}, expected {(int)expected}.");
    }
}
