using System.Buffers.Binary;
using System.Text;

namespace Fsac.MLNet.Tests.Checkpoints;

/// <summary>Writes protobuf wire format by hand, so reader tests control every byte (packed and unpacked forms, unknown fields).</summary>
public sealed class ProtoWriter
{
    private readonly MemoryStream _stream = new();

    public byte[] ToArray() => _stream.ToArray();

    public ProtoWriter Varint(int field, long value)
    {
        Key(field, 0);
        Raw((ulong)value);
        return this;
    }

    public ProtoWriter Fixed32(int field, float value)
    {
        Key(field, 5);
        Span<byte> b = stackalloc byte[4];
        BinaryPrimitives.WriteSingleLittleEndian(b, value);
        _stream.Write(b);
        return this;
    }

    public ProtoWriter Fixed64(int field, ulong value)
    {
        Key(field, 1);
        Span<byte> b = stackalloc byte[8];
        BinaryPrimitives.WriteUInt64LittleEndian(b, value);
        _stream.Write(b);
        return this;
    }

    public ProtoWriter Bytes(int field, ReadOnlySpan<byte> bytes)
    {
        Key(field, 2);
        Raw((ulong)bytes.Length);
        _stream.Write(bytes);
        return this;
    }

    public ProtoWriter String(int field, string text) => Bytes(field, Encoding.UTF8.GetBytes(text));

    public ProtoWriter Message(int field, Action<ProtoWriter> build)
    {
        var inner = new ProtoWriter();
        build(inner);
        return Bytes(field, inner.ToArray());
    }

    /// <summary>A group (the deprecated wire types 3 and 4): start tag, the fields, end tag.</summary>
    public ProtoWriter Group(int field, Action<ProtoWriter> build)
    {
        Key(field, 3);
        build(this);
        Key(field, 4);
        return this;
    }

    /// <summary>Bytes as they are, for what no field method writes (a lone tag, garbage).</summary>
    public ProtoWriter Verbatim(ReadOnlySpan<byte> bytes)
    {
        _stream.Write(bytes);
        return this;
    }

    public ProtoWriter PackedVarints(int field, params long[] values)
    {
        var inner = new ProtoWriter();
        foreach (var v in values) inner.Raw((ulong)v);
        return Bytes(field, inner.ToArray());
    }

    public ProtoWriter PackedFloats(int field, params float[] values)
    {
        var bytes = new byte[values.Length * 4];
        for (var i = 0; i < values.Length; i++) BinaryPrimitives.WriteSingleLittleEndian(bytes.AsSpan(i * 4), values[i]);
        return Bytes(field, bytes);
    }

    private void Key(int field, int wireType) => Raw((ulong)((field << 3) | wireType));

    private void Raw(ulong value)
    {
        while (value >= 0x80)
        {
            _stream.WriteByte((byte)(value | 0x80));
            value >>= 7;
        }
        _stream.WriteByte((byte)value);
    }
}
