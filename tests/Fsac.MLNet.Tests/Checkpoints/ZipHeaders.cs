using System.Buffers.Binary;
using System.Text;

namespace Fsac.MLNet.Tests.Checkpoints;

/// <summary>Forges zip headers, as a zip bomb does: the sizes an archive declares are claims a reader must not trust.</summary>
internal static class ZipHeaders
{
    /// <summary>A copy of <paramref name="zip"/> whose entry <paramref name="name"/> declares <paramref name="size"/> uncompressed bytes in both its headers.</summary>
    public static byte[] WithDeclaredSize(byte[] zip, string name, uint size)
    {
        var bytes = (byte[])zip.Clone();
        var nameBytes = Encoding.UTF8.GetBytes(name);
        int patched = 0;
        for (int i = 0; i + 46 + nameBytes.Length <= bytes.Length; i++)
        {
            uint signature = BinaryPrimitives.ReadUInt32LittleEndian(bytes.AsSpan(i));
            if (signature == 0x04034b50 && BinaryPrimitives.ReadUInt16LittleEndian(bytes.AsSpan(i + 26)) == nameBytes.Length
                && bytes.AsSpan(i + 30, nameBytes.Length).SequenceEqual(nameBytes))
            {
                BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan(i + 22), size);
                patched++;
            }
            else if (signature == 0x02014b50 && BinaryPrimitives.ReadUInt16LittleEndian(bytes.AsSpan(i + 28)) == nameBytes.Length
                     && bytes.AsSpan(i + 46, nameBytes.Length).SequenceEqual(nameBytes))
            {
                BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan(i + 24), size);
                patched++;
            }
        }
        Assert.AreEqual(2, patched, $"the local and central headers of '{name}' are patched");
        return bytes;
    }
}
