using Fsac.MLNet.Files;
using System.Buffers.Binary;
using System.Text.Json;
using TorchSharp;

namespace Fsac.MLNet.Checkpoints;

/// <summary>
/// Reads and writes the safetensors format: an 8-byte little-endian header length, a JSON header
/// mapping names to dtype, shape and byte range, then the raw data. Every header claim is checked
/// against the file before any byte is trusted.
/// </summary>
public static class SafeTensors
{
    private const long MaxHeaderBytes = 100L * 1024 * 1024;

    /// <summary>How deep the header's JSON may nest: it nests three levels (entry, its fields, the shape array).</summary>
    private const int MaxHeaderDepth = 16;

    /// <summary>Reads every tensor of a safetensors file.</summary>
    /// <exception cref="CheckpointFormatException">The file is not a regular file, is truncated, or its header is inconsistent.</exception>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    public static Dictionary<string, TensorData> Read(string path) => Read(path, out _);

    /// <summary>Reads every tensor of a safetensors file and its <c>__metadata__</c> strings.</summary>
    /// <exception cref="CheckpointFormatException">The file is not a regular file, is truncated, or its header is inconsistent.</exception>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    public static Dictionary<string, TensorData> Read(string path, out Dictionary<string, string> metadata)
    {
        using var fs = RegularFile.Open(path, "tensor file");
        return Read(fs, path, out metadata);
    }

    /// <summary>Reads every tensor of a safetensors stream (seekable, e.g. a file or a <see cref="MemoryStream"/>); <paramref name="path"/> names it in errors.</summary>
    /// <exception cref="CheckpointFormatException">The data is truncated or its header is inconsistent.</exception>
    public static Dictionary<string, TensorData> Read(Stream fs, string path, out Dictionary<string, string> metadata)
    {
        var (entries, dataStart) = ReadHeader(fs, path, out metadata);
        var result = new Dictionary<string, TensorData>(entries.Count);
        foreach (var e in entries)
        {
            var data = new byte[e.End - e.Begin];
            fs.Position = dataStart + e.Begin;
            fs.ReadExactly(data);
            result[e.Name] = new TensorData(e.DType, e.Shape, data);
        }
        return result;
    }

    /// <summary>
    /// The tensors of a safetensors file, validated as <see cref="Read(string)"/> does, whose bytes are read from the
    /// file only when each is used (<see cref="TensorData.ToTensor"/> reads them straight into libtorch's memory), so
    /// that loading a model never holds a second copy of its weights. The file must stay as it is until then.
    /// </summary>
    /// <exception cref="CheckpointFormatException">The file is not a regular file, is truncated, or its header is inconsistent.</exception>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    internal static Dictionary<string, TensorData> ReadDeferred(string path)
    {
        List<Entry> entries;
        long dataStart, fileLength;
        using (var fs = RegularFile.Open(path, "tensor file"))
        {
            (entries, dataStart) = ReadHeader(fs, path, out _);
            fileLength = fs.Length;
        }
        var result = new Dictionary<string, TensorData>(entries.Count);
        foreach (var e in entries)
        {
            long offset = dataStart + e.Begin;
            result[e.Name] = new TensorData(e.DType, e.Shape, target =>
            {
                using var fs = RegularFile.Open(path, "tensor file");
                if (fs.Length != fileLength)
                    throw new CheckpointFormatException(path, $"changed while it was read: {fs.Length} bytes, {fileLength} when its header was read.");
                fs.Position = offset;
                fs.ReadExactly(target);
            });
        }
        return result;
    }

    private readonly record struct Entry(string Name, torch.ScalarType DType, long[] Shape, long Begin, long End);

    // The header's entries in data order, checked against the stream's length, and where the data section starts.
    private static (List<Entry> Entries, long DataStart) ReadHeader(Stream fs, string path, out Dictionary<string, string> metadata)
    {
        ArgumentNullException.ThrowIfNull(fs);
        long fileLength = fs.Length;
        if (fileLength < 8) throw new CheckpointFormatException(path, $"not a safetensors file: only {fileLength} bytes.");
        Span<byte> lenBytes = stackalloc byte[8];
        fs.ReadExactly(lenBytes);
        ulong headerLen = BinaryPrimitives.ReadUInt64LittleEndian(lenBytes);
        if (headerLen == 0 || headerLen > (ulong)MaxHeaderBytes || headerLen > (ulong)(fileLength - 8))
            throw new CheckpointFormatException(path, $"safetensors header claims {headerLen} bytes but the file has {fileLength - 8} after the length field.");
        var headerBytes = new byte[headerLen];
        fs.ReadExactly(headerBytes);
        long dataStart = 8 + (long)headerLen;
        long dataLength = fileLength - dataStart;

        JsonDocument doc;
        try { doc = JsonDocument.Parse(headerBytes, new JsonDocumentOptions { MaxDepth = MaxHeaderDepth }); }
        catch (JsonException e) { throw new CheckpointFormatException(path, $"safetensors header is not valid JSON: {e.Message}", e); }

        metadata = new Dictionary<string, string>();
        var entries = new List<Entry>();
        using (doc)
        {
            if (doc.RootElement.ValueKind != JsonValueKind.Object)
                throw new CheckpointFormatException(path, "safetensors header is not a JSON object.");
            foreach (var prop in doc.RootElement.EnumerateObject())
            {
                if (prop.Name == "__metadata__")
                {
                    if (prop.Value.ValueKind == JsonValueKind.Object)
                        foreach (var m in prop.Value.EnumerateObject())
                            metadata[m.Name] = m.Value.ValueKind == JsonValueKind.String ? m.Value.GetString()! : m.Value.GetRawText();
                    continue;
                }
                var (name, dtype, shape, begin, end) = ParseEntry(path, prop);
                entries.Add(new Entry(name, dtype, shape, begin, end));
            }
        }

        // Offsets must lie inside the data section, match dtype x shape, and not overlap.
        foreach (var e in entries)
        {
            long expected;
            try { expected = e.Shape.Aggregate((long)TensorData.ElementSize(e.DType), (a, b) => checked(a * b)); }
            catch (OverflowException ex) { throw new CheckpointFormatException(path, $"tensor '{e.Name}' of shape [{string.Join(", ", e.Shape)}] is too large.", ex); }
            if (e.Begin < 0 || e.End < e.Begin || e.End > dataLength)
                throw new CheckpointFormatException(path, $"tensor '{e.Name}' claims bytes [{e.Begin}, {e.End}) but the data section has {dataLength} bytes.");
            if (e.End - e.Begin != expected)
                throw new CheckpointFormatException(path, $"tensor '{e.Name}' of shape [{string.Join(", ", e.Shape)}] and type {e.DType} needs {expected} bytes but its header gives {e.End - e.Begin}.");
            if (expected > Array.MaxLength)
                throw new CheckpointFormatException(path, $"tensor '{e.Name}' of shape [{string.Join(", ", e.Shape)}] has {expected} bytes, more than one array can hold.");
        }
        var sorted = entries.OrderBy(e => e.Begin).ToList();
        for (int i = 1; i < sorted.Count; i++)
            if (sorted[i].Begin < sorted[i - 1].End)
                throw new CheckpointFormatException(path, $"tensors '{sorted[i - 1].Name}' and '{sorted[i].Name}' overlap in the data section.");
        return (sorted, dataStart);
    }

    private static (string, torch.ScalarType, long[], long, long) ParseEntry(string path, JsonProperty prop)
    {
        try
        {
            var v = prop.Value;
            var dtype = ParseDType(v.GetProperty("dtype").GetString() ?? "");
            var shape = v.GetProperty("shape").EnumerateArray().Select(x => x.GetInt64()).ToArray();
            if (shape.Any(d => d < 0)) throw new FormatException("negative dimension");
            var offs = v.GetProperty("data_offsets").EnumerateArray().Select(x => x.GetInt64()).ToArray();
            if (offs.Length != 2) throw new FormatException("data_offsets must have two entries");
            return (prop.Name, dtype, shape, offs[0], offs[1]);
        }
        catch (Exception e) when (e is KeyNotFoundException or InvalidOperationException or FormatException or NotSupportedException)
        {
            throw new CheckpointFormatException(path, $"safetensors header entry '{prop.Name}' is malformed: {e.Message}", e);
        }
    }

    private static torch.ScalarType ParseDType(string s) => s switch
    {
        "F32" => torch.ScalarType.Float32,
        "F16" => torch.ScalarType.Float16,
        "BF16" => torch.ScalarType.BFloat16,
        "F64" => torch.ScalarType.Float64,
        "I64" => torch.ScalarType.Int64,
        "I32" => torch.ScalarType.Int32,
        "I16" => torch.ScalarType.Int16,
        "I8" => torch.ScalarType.Int8,
        "U8" => torch.ScalarType.Byte,
        "BOOL" => torch.ScalarType.Bool,
        _ => throw new NotSupportedException($"unsupported dtype '{s}'"),
    };

    private static string DTypeName(torch.ScalarType t) => t switch
    {
        torch.ScalarType.Float32 => "F32",
        torch.ScalarType.Float16 => "F16",
        torch.ScalarType.BFloat16 => "BF16",
        torch.ScalarType.Float64 => "F64",
        torch.ScalarType.Int64 => "I64",
        torch.ScalarType.Int32 => "I32",
        torch.ScalarType.Int16 => "I16",
        torch.ScalarType.Int8 => "I8",
        torch.ScalarType.Byte => "U8",
        torch.ScalarType.Bool => "BOOL",
        _ => throw new NotSupportedException($"Unsupported tensor element type {t}."),
    };

    /// <summary>Writes tensors (in name order) and optional metadata to a safetensors file, atomically.</summary>
    public static void Write(string path, IReadOnlyDictionary<string, TensorData> tensors, IReadOnlyDictionary<string, string>? metadata = null)
    {
        var (header, pad, ordered) = Header(tensors, metadata);
        AtomicFile.Write(path, fs => WriteBody(fs, header, pad, ordered));
    }

    /// <summary>Writes tensors (in name order) and optional metadata in the safetensors format to <paramref name="output"/>.</summary>
    public static void Write(Stream output, IReadOnlyDictionary<string, TensorData> tensors, IReadOnlyDictionary<string, string>? metadata = null)
    {
        ArgumentNullException.ThrowIfNull(output);
        var (header, pad, ordered) = Header(tensors, metadata);
        WriteBody(output, header, pad, ordered);
    }

    private static void WriteBody(Stream fs, byte[] header, int pad, List<KeyValuePair<string, TensorData>> ordered)
    {
        Span<byte> len = stackalloc byte[8];
        BinaryPrimitives.WriteUInt64LittleEndian(len, (ulong)(header.Length + pad));
        fs.Write(len);
        fs.Write(header);
        for (int i = 0; i < pad; i++) fs.WriteByte((byte)' ');
        foreach (var (_, t) in ordered) fs.Write(t.Data);
    }

    private static (byte[] Header, int Pad, List<KeyValuePair<string, TensorData>> Ordered) Header(
        IReadOnlyDictionary<string, TensorData> tensors, IReadOnlyDictionary<string, string>? metadata)
    {
        using var headerStream = new MemoryStream();
        long offset = 0;
        var ordered = tensors.OrderBy(kv => kv.Key, StringComparer.Ordinal).ToList();
        using (var w = new Utf8JsonWriter(headerStream))
        {
            w.WriteStartObject();
            if (metadata is { Count: > 0 })
            {
                w.WriteStartObject("__metadata__");
                foreach (var kv in metadata) w.WriteString(kv.Key, kv.Value);
                w.WriteEndObject();
            }
            foreach (var (name, t) in ordered)
            {
                long expected = t.ElementCount * TensorData.ElementSize(t.DType);
                if (t.Data.Length != expected)
                    throw new ArgumentException($"Tensor '{name}' is {t.DType} [{string.Join(", ", t.Shape)}], which is {expected} bytes, but holds {t.Data.Length}.", nameof(tensors));
                w.WriteStartObject(name);
                w.WriteString("dtype", DTypeName(t.DType));
                w.WriteStartArray("shape");
                foreach (var d in t.Shape) w.WriteNumberValue(d);
                w.WriteEndArray();
                w.WriteStartArray("data_offsets");
                w.WriteNumberValue(offset);
                w.WriteNumberValue(offset + t.Data.Length);
                w.WriteEndArray();
                w.WriteEndObject();
                offset += t.Data.Length;
            }
            w.WriteEndObject();
        }
        // Pad the header with spaces to an 8-byte boundary, as the reference writer does.
        var header = headerStream.ToArray();
        int pad = (8 - header.Length % 8) % 8;
        return (header, pad, ordered);
    }

    /// <summary>Writes TorchSharp tensors to a safetensors file.</summary>
    public static void Write(string path, IReadOnlyDictionary<string, torch.Tensor> tensors, IReadOnlyDictionary<string, string>? metadata = null)
        => Write(path, tensors.ToDictionary(kv => kv.Key, kv => TensorData.FromTensor(kv.Value)), metadata);

    /// <summary>Reads a safetensors file straight into TorchSharp tensors (caller disposes them).</summary>
    public static Dictionary<string, torch.Tensor> ReadTensors(string path)
        => Read(path).ToDictionary(kv => kv.Key, kv => kv.Value.ToTensor());
}
