using System.Buffers.Binary;

namespace Fsac.MLNet.IO.Protobuf;

/// <summary>
/// Forward-only reader of the protobuf wire format over one message's bytes. Every read is bounds-checked:
/// a field that runs past the end of its message, an over-long varint or an unknown wire type throws
/// <see cref="InvalidDataException"/>, which callers turn into a <see cref="CheckpointFormatException"/>
/// naming the file.
/// </summary>
internal ref struct ProtoReader
{
    private readonly ReadOnlySpan<byte> _buffer;
    private int _position;

    /// <summary>Starts reading <paramref name="buffer"/> as the fields of one message.</summary>
    public ProtoReader(ReadOnlySpan<byte> buffer)
    {
        _buffer = buffer;
        _position = 0;
    }

    /// <summary>True while unread bytes remain (for packed repeated scalars).</summary>
    public readonly bool HasMore => _position < _buffer.Length;

    /// <summary>Reads the next field's key; false at the end of the message.</summary>
    public bool TryReadTag(out int fieldNumber, out WireType wireType)
    {
        if (_position >= _buffer.Length)
        {
            fieldNumber = 0;
            wireType = default;
            return false;
        }
        var key = ReadVarint();
        fieldNumber = checked((int)(key >> 3));
        wireType = (WireType)(key & 7);
        if (fieldNumber == 0)
            throw new InvalidDataException($"protobuf field number 0 at byte {_position}.");
        if (wireType is not (WireType.Varint or WireType.Fixed64 or WireType.LengthDelimited or WireType.Fixed32))
            throw new InvalidDataException($"unsupported protobuf wire type {(int)wireType} for field {fieldNumber} at byte {_position}.");
        return true;
    }

    /// <summary>Reads a base-128 varint (at most 10 bytes).</summary>
    public ulong ReadVarint()
    {
        ulong value = 0;
        for (var shift = 0; shift < 70; shift += 7)
        {
            if (_position >= _buffer.Length)
                throw new InvalidDataException("protobuf varint runs past the end of its message.");
            var b = _buffer[_position++];
            value |= (ulong)(b & 0x7F) << shift;
            if ((b & 0x80) == 0) return value;
        }
        throw new InvalidDataException($"protobuf varint longer than 10 bytes at byte {_position}.");
    }

    /// <summary>Reads a varint as a signed 64-bit integer (two's complement, as protobuf's int64).</summary>
    public long ReadInt64() => unchecked((long)ReadVarint());

    /// <summary>Reads a varint as a signed 32-bit integer (protobuf's int32 and enums).</summary>
    public int ReadInt32() => unchecked((int)ReadVarint());

    /// <summary>Reads a little-endian 4-byte value.</summary>
    public uint ReadFixed32() => BinaryPrimitives.ReadUInt32LittleEndian(Take(4));

    /// <summary>Reads a little-endian 8-byte value.</summary>
    public ulong ReadFixed64() => BinaryPrimitives.ReadUInt64LittleEndian(Take(8));

    /// <summary>Reads a length-delimited field's payload (bytes, string, embedded message or packed scalars).</summary>
    public ReadOnlySpan<byte> ReadLengthDelimited()
    {
        var length = ReadVarint();
        if (length > (ulong)(_buffer.Length - _position))
            throw new InvalidDataException($"protobuf field claims {length} bytes at byte {_position} but only {_buffer.Length - _position} remain in its message.");
        return Take((int)length);
    }

    /// <summary>Reads a length-delimited field as UTF-8 text.</summary>
    public string ReadString() => System.Text.Encoding.UTF8.GetString(ReadLengthDelimited());

    /// <summary>Skips the payload of a field of <paramref name="wireType"/>.</summary>
    public void Skip(WireType wireType)
    {
        switch (wireType)
        {
            case WireType.Varint: ReadVarint(); break;
            case WireType.Fixed64: Take(8); break;
            case WireType.LengthDelimited: ReadLengthDelimited(); break;
            case WireType.Fixed32: Take(4); break;
            default: throw new InvalidDataException($"cannot skip protobuf wire type {(int)wireType}.");
        }
    }

    private ReadOnlySpan<byte> Take(int count)
    {
        if (count > _buffer.Length - _position)
            throw new InvalidDataException($"protobuf value of {count} bytes at byte {_position} runs past the end of its message.");
        var span = _buffer.Slice(_position, count);
        _position += count;
        return span;
    }
}
