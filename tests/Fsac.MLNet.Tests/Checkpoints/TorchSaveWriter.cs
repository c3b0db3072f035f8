using System.Buffers.Binary;
using System.IO.Compression;
using System.Text;

namespace Fsac.MLNet.Tests.Checkpoints;

/// <summary>A tensor to pickle: a view of the storage record <c>data/StorageKey</c>, as torch.save writes it.</summary>
internal sealed record PickledTensor(string StorageKey, string StorageType, long StorageElements, long Offset, long[] Shape, long[] Stride)
{
    /// <summary>Wrap in torch._utils._rebuild_parameter, as an nn.Parameter is saved.</summary>
    public bool AsParameter { get; init; }
}

/// <summary>
/// Writes small <c>torch.save</c>-style zip archives for tests: a hand-built pickle (protocol 2 as torch writes
/// it, or protocol 4 with FRAME, STACK_GLOBAL and MEMOIZE) and raw storage records. Values may be
/// <see cref="PickledTensor"/>, ordered dicts (lists of key/value pairs; keys string or long), lists, strings,
/// longs and doubles.
/// </summary>
internal static class TorchSaveWriter
{
    public static void Write(string path, IEnumerable<KeyValuePair<object, object>> root, IReadOnlyDictionary<string, byte[]> storages,
                             bool protocol4 = false, string? byteOrder = null, IEnumerable<(string Name, byte[] Data)>? extraRecords = null)
        => WriteArchive(path, Pickle(root, protocol4), storages, byteOrder, extraRecords);

    public static void WriteArchive(string path, byte[] pickle, IReadOnlyDictionary<string, byte[]> storages,
                                    string? byteOrder = null, IEnumerable<(string Name, byte[] Data)>? extraRecords = null)
    {
        using var fs = File.Create(path);
        using var zip = new ZipArchive(fs, ZipArchiveMode.Create);
        void Add(string name, byte[] data)
        {
            using var s = zip.CreateEntry("archive/" + name, CompressionLevel.NoCompression).Open();
            s.Write(data);
        }
        Add("data.pkl", pickle);
        if (byteOrder is not null) Add("byteorder", Encoding.ASCII.GetBytes(byteOrder));
        foreach (var (key, data) in storages) Add("data/" + key, data);
        Add("version", "3\n"u8.ToArray());
        foreach (var (name, data) in extraRecords ?? []) Add(name, data);
    }

    public static KeyValuePair<object, object> Item(object key, object value) => new(key, value);

    public static byte[] Pickle(IEnumerable<KeyValuePair<object, object>> root, bool protocol4 = false)
    {
        var w = new Emitter(protocol4);
        w.Proto();
        w.Global("collections", "OrderedDict");
        w.Op(')');
        w.Op('R');
        w.Items(root);
        w.Op('.');
        return w.ToArray();
    }

    private sealed class Emitter(bool protocol4)
    {
        private readonly MemoryStream _ms = new();

        public byte[] ToArray()
        {
            if (!protocol4) return _ms.ToArray();
            // A protocol-4 pickle: PROTO 4, then one FRAME holding the rest.
            var body = _ms.ToArray()[2..];
            var framed = new byte[2 + 9 + body.Length];
            framed[0] = 0x80; framed[1] = 4; framed[2] = 0x95;
            BinaryPrimitives.WriteUInt64LittleEndian(framed.AsSpan(3), (ulong)body.Length);
            body.CopyTo(framed, 11);
            return framed;
        }

        public void Proto() { _ms.WriteByte(0x80); _ms.WriteByte(protocol4 ? (byte)4 : (byte)2); }

        public void Op(char op) => _ms.WriteByte((byte)op);

        public void Op(byte op) => _ms.WriteByte(op);

        public void Global(string module, string name)
        {
            if (protocol4)
            {
                Str(module);
                Str(name);
                Op(0x93); // STACK_GLOBAL
                Op(0x94); // MEMOIZE
            }
            else
            {
                Op('c');
                _ms.Write(Encoding.ASCII.GetBytes(module + "\n" + name + "\n"));
            }
        }

        public void Str(string s)
        {
            var b = Encoding.UTF8.GetBytes(s);
            if (protocol4 && b.Length < 256) { Op(0x8c); _ms.WriteByte((byte)b.Length); }
            else { Op('X'); Span<byte> n = stackalloc byte[4]; BinaryPrimitives.WriteInt32LittleEndian(n, b.Length); _ms.Write(n); }
            _ms.Write(b);
        }

        public void Int(long v)
        {
            if (v is >= 0 and < 256) { Op('K'); _ms.WriteByte((byte)v); }
            else if (v is >= 0 and < 65536) { Op('M'); _ms.WriteByte((byte)v); _ms.WriteByte((byte)(v >> 8)); }
            else if (v is >= int.MinValue and <= int.MaxValue) { Op('J'); Span<byte> b = stackalloc byte[4]; BinaryPrimitives.WriteInt32LittleEndian(b, (int)v); _ms.Write(b); }
            else { Op(0x8a); _ms.WriteByte(8); Span<byte> b = stackalloc byte[8]; BinaryPrimitives.WriteInt64LittleEndian(b, v); _ms.Write(b); }
        }

        public void Items(IEnumerable<KeyValuePair<object, object>> items)
        {
            Op('(');
            foreach (var (k, v) in items) { Value(k); Value(v); }
            Op('u');
        }

        private void LongTuple(long[] values)
        {
            Op('(');
            foreach (var v in values) Int(v);
            Op('t');
        }

        private void EmptyOrderedDict()
        {
            Global("collections", "OrderedDict");
            Op(')');
            Op('R');
        }

        public void Value(object v)
        {
            switch (v)
            {
                case string s: Str(s); break;
                case long l: Int(l); break;
                case int i: Int(i); break;
                case double d: { Op('G'); Span<byte> b = stackalloc byte[8]; BinaryPrimitives.WriteDoubleBigEndian(b, d); _ms.Write(b); break; }
                case bool b: Op(b ? (byte)0x88 : (byte)0x89); break;
                case IEnumerable<KeyValuePair<object, object>> dict: Op('}'); Items(dict); break;
                case PickledTensor t: Tensor(t); break;
                case IEnumerable<object> list:
                    Op(']');
                    Op('(');
                    foreach (var item in list) Value(item);
                    Op('e');
                    break;
                default: throw new ArgumentException($"cannot pickle {v.GetType()}");
            }
        }

        private void Tensor(PickledTensor t)
        {
            if (t.AsParameter) Global("torch._utils", "_rebuild_parameter");
            if (t.AsParameter) Op('(');
            Global("torch._utils", "_rebuild_tensor_v2");
            Op('(');
            Op('('); // persistent id ('storage', type, key, location, numel)
            Str("storage");
            Global("torch", t.StorageType);
            Str(t.StorageKey);
            Str("cpu");
            Int(t.StorageElements);
            Op('t');
            Op('Q');
            Int(t.Offset);
            LongTuple(t.Shape);
            LongTuple(t.Stride);
            Op(0x89);
            EmptyOrderedDict();
            Op('t');
            Op('R');
            if (!t.AsParameter) return;
            Op(0x88);
            EmptyOrderedDict();
            Op('t');
            Op('R');
        }
    }
}
