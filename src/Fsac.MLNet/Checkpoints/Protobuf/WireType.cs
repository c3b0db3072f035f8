namespace Fsac.MLNet.Checkpoints.Protobuf;

/// <summary>The protobuf wire types this reader understands (deprecated groups are rejected).</summary>
internal enum WireType
{
    /// <summary>Base-128 varint: int32, int64, uint64, bool, enum.</summary>
    Varint = 0,

    /// <summary>Eight little-endian bytes: fixed64, double.</summary>
    Fixed64 = 1,

    /// <summary>A varint length then that many bytes: string, bytes, messages, packed repeated scalars.</summary>
    LengthDelimited = 2,

    /// <summary>Four little-endian bytes: fixed32, float.</summary>
    Fixed32 = 5,
}
