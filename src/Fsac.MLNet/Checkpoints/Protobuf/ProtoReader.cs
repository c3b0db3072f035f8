using Fsac.MLNet.Checkpoints.Onnx;
using System.Buffers.Binary;

namespace Fsac.MLNet.Checkpoints.Protobuf;

/// <summary>
/// Forward-only reader of the protobuf wire format over one message's bytes. Every read is bounds-checked before
/// anything is allocated: a length prefix larger than the bytes left in its message, an over-long varint or an
/// unknown wire type throws <see cref="InvalidDataException"/> naming the message and field, which callers turn
/// into a <see cref="CheckpointFormatException"/> naming the file. Payloads are slices of the buffer, never copies,
/// and the reader never recurses: an embedded message is read by a new reader over its slice, so nesting is only
/// as deep as the caller's code.
/// </summary>
internal ref struct ProtoReader
{
    private readonly ReadOnlySpan<byte> _buffer;
    private readonly string _message;
    private int _position;
    private int _field;

    /// <summary>Starts reading <paramref name="buffer"/> as the fields of one message of type <paramref name="message"/> (named in errors).</summary>
    public ProtoReader(ReadOnlySpan<byte> buffer, string message)
    {
        _buffer = buffer;
        _message = message;
        _position = 0;
        _field = 0;
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
        _field = 0;
        var key = ReadVarint();
        if (key >> 3 is 0 or > int.MaxValue)
            throw new InvalidDataException($"{_message} has a protobuf field number of {key >> 3} at byte {_position}.");
        fieldNumber = _field = (int)(key >> 3);
        wireType = (WireType)(key & 7);
        if (wireType is not (WireType.Varint or WireType.Fixed64 or WireType.LengthDelimited or WireType.Fixed32))
            throw new InvalidDataException($"{Where} has unsupported protobuf wire type {(int)wireType} at byte {_position}.");
        return true;
    }

    /// <summary>Reads a base-128 varint (at most 10 bytes).</summary>
    public ulong ReadVarint()
    {
        ulong value = 0;
        for (var shift = 0; shift < 70; shift += 7)
        {
            if (_position >= _buffer.Length)
                throw new InvalidDataException($"{Where}: a protobuf varint runs past the end of the message.");
            var b = _buffer[_position++];
            value |= (ulong)(b & 0x7F) << shift;
            if ((b & 0x80) == 0) return value;
        }
        throw new InvalidDataException($"{Where}: a protobuf varint is longer than 10 bytes at byte {_position}.");
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
            throw new InvalidDataException($"{Where} claims {length} bytes at byte {_position} but only {_buffer.Length - _position} remain in the message.");
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
            default: throw new InvalidDataException($"{Where}: cannot skip protobuf wire type {(int)wireType}.");
        }
    }

    private ReadOnlySpan<byte> Take(int count)
    {
        if (count > _buffer.Length - _position)
            throw new InvalidDataException($"{Where}: a value of {count} bytes at byte {_position} runs past the end of the message.");
        var span = _buffer.Slice(_position, count);
        _position += count;
        return span;
    }

    /// <summary>The message and the field being read, for errors: <c>GraphProto field 5</c>.</summary>
    private readonly string Where => _field == 0 ? _message : $"{_message} field {_field}";
}
