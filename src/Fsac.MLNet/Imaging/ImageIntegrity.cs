using System.Buffers.Binary;
using SixLabors.ImageSharp.Formats;
using SixLabors.ImageSharp.Formats.Bmp;
using SixLabors.ImageSharp.Formats.Gif;
using SixLabors.ImageSharp.Formats.Jpeg;
using SixLabors.ImageSharp.Formats.Png;
using SixLabors.ImageSharp.Formats.Webp;

namespace Fsac.MLNet.Imaging;

/// <summary>
/// Structural completeness checks that ImageSharp's lenient decoders skip: they turn a cut-off JPEG, PNG,
/// GIF, WebP or BMP into a partly grey image where PIL (and so OpenCLIP) raises "image file is truncated".
/// Each check walks the container's own length fields only; no pixel data is decoded.
/// </summary>
internal static class ImageIntegrity
{
    /// <summary>Returns why <paramref name="data"/> is incomplete for <paramref name="format"/>, or null when it is whole.</summary>
    public static string? FindProblem(ReadOnlySpan<byte> data, IImageFormat format) => format switch
    {
        JpegFormat => CheckJpeg(data),
        PngFormat => CheckPng(data),
        GifFormat => CheckGif(data),
        WebpFormat => CheckWebp(data),
        BmpFormat => CheckBmp(data),
        _ => null, // TIFF: ImageSharp's decoder already rejects strips that run past the end
    };

    // Segments from SOI to EOI; entropy-coded data after SOS runs to the next marker that is not a
    // stuffed 0xFF00 or a restart marker.
    private static string? CheckJpeg(ReadOnlySpan<byte> d)
    {
        const string cut = "the JPEG data is truncated (it ends before the end-of-image marker)";
        int pos = 2;
        while (true)
        {
            while (pos < d.Length && d[pos] != 0xFF) pos++; // stray bytes between segments, as libjpeg tolerates
            while (pos < d.Length && d[pos] == 0xFF) pos++; // fill bytes
            if (pos >= d.Length) return cut;
            byte marker = d[pos++];
            if (marker == 0xD9) return null;
            if (marker is >= 0xD0 and <= 0xD7 or 0x01) continue;
            if (pos + 2 > d.Length) return cut;
            int length = BinaryPrimitives.ReadUInt16BigEndian(d[pos..]);
            if (length < 2) return $"the JPEG segment 0xFF{marker:X2} has an invalid length {length}";
            pos += length;
            if (pos > d.Length) return cut;
            if (marker != 0xDA) continue;
            while (true)
            {
                int ff = d[pos..].IndexOf((byte)0xFF);
                if (ff < 0 || pos + ff + 1 >= d.Length) return cut;
                byte next = d[pos + ff + 1];
                if (next == 0x00 || next is >= 0xD0 and <= 0xD7 || next == 0xFF)
                {
                    pos += ff + 1;
                    continue;
                }
                pos += ff;
                break;
            }
        }
    }

    // Chunks (length, type, data, CRC) from the signature to IEND.
    private static string? CheckPng(ReadOnlySpan<byte> d)
    {
        int pos = 8;
        while (pos + 8 <= d.Length)
        {
            uint length = BinaryPrimitives.ReadUInt32BigEndian(d[pos..]);
            if (length > int.MaxValue) return $"a PNG chunk claims {length} bytes";
            var type = d.Slice(pos + 4, 4);
            long end = pos + 12L + length;
            if (end > d.Length) return $"the PNG data is truncated (chunk '{System.Text.Encoding.ASCII.GetString(type)}' runs past the end)";
            if (type.SequenceEqual("IEND"u8)) return null;
            pos = (int)end;
        }
        return "the PNG data is truncated (no IEND chunk)";
    }

    // Header, colour table and blocks up to the end of the first image's data (the frame that is decoded).
    private static string? CheckGif(ReadOnlySpan<byte> d)
    {
        const string cut = "the GIF data is truncated (it ends inside the first image)";
        if (d.Length < 13) return cut;
        int pos = 13 + ColorTableLength(d[10]);
        while (pos < d.Length)
        {
            byte block = d[pos++];
            if (block == 0x3B) return "the GIF has no image before its trailer";
            if (block == 0x21)
            {
                if (++pos > d.Length || !SkipSubBlocks(d, ref pos)) return cut;
            }
            else if (block == 0x2C)
            {
                if (pos + 9 > d.Length) return cut;
                pos += 9 + ColorTableLength(d[pos + 8]) + 1; // descriptor, local colours, LZW code size
                return pos <= d.Length && SkipSubBlocks(d, ref pos) ? null : cut;
            }
            else return $"the GIF has an unknown block 0x{block:X2}";
        }
        return cut;

        static int ColorTableLength(byte packed) => (packed & 0x80) != 0 ? 3 << ((packed & 7) + 1) : 0;
    }

    private static bool SkipSubBlocks(ReadOnlySpan<byte> d, ref int pos)
    {
        while (pos < d.Length)
        {
            int size = d[pos++];
            if (size == 0) return true;
            pos += size;
        }
        return false;
    }

    // RIFF header: "RIFF", payload size, "WEBP".
    private static string? CheckWebp(ReadOnlySpan<byte> d)
    {
        if (d.Length < 12) return "the WebP data is truncated (incomplete RIFF header)";
        long declared = BinaryPrimitives.ReadUInt32LittleEndian(d[4..]) + 8L;
        return declared > d.Length ? $"the WebP data is truncated ({d.Length} of {declared} bytes)" : null;
    }

    // File header: "BM", file size, reserved, offset of the pixel data.
    private static string? CheckBmp(ReadOnlySpan<byte> d)
    {
        if (d.Length < 14) return "the BMP data is truncated (incomplete file header)";
        uint declared = BinaryPrimitives.ReadUInt32LittleEndian(d[2..]);
        uint pixels = BinaryPrimitives.ReadUInt32LittleEndian(d[10..]);
        if (pixels >= d.Length) return "the BMP data is truncated (no pixel data)";
        return declared > d.Length ? $"the BMP data is truncated ({d.Length} of {declared} bytes)" : null;
    }
}
