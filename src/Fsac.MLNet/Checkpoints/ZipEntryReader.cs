using System.IO.Compression;

namespace Fsac.MLNet.Checkpoints;

/// <summary>
/// Reads a zip entry whole with its size checked before anything is allocated. A zip header's sizes are claims
/// (a zip bomb, or a tiny file declaring gigabytes, lies in them), so the declared size must be within a cap and
/// within what the entry's compressed bytes, which must lie inside the archive, can inflate to; then the entry must
/// inflate to exactly that size.
/// </summary>
internal static class ZipEntryReader
{
    /// <summary>
    /// Deflate's largest expansion: a 258-byte match coded in two bits. A stored entry expands 1-fold; Deflate64
    /// entries beyond this ratio are refused too.
    /// </summary>
    public const long MaxInflationRatio = 1032;

    /// <summary>The inflated bytes of <paramref name="entry"/>.</summary>
    /// <param name="entry">The entry to read.</param>
    /// <param name="cap">The largest inflated size accepted (at most <see cref="Array.MaxLength"/> is read).</param>
    /// <param name="source">The archive, named in errors.</param>
    /// <exception cref="CheckpointFormatException">
    /// The entry declares more than <paramref name="cap"/> bytes or more than its compressed bytes can inflate to,
    /// inflates to another size than it declares, or is corrupt.
    /// </exception>
    public static byte[] ReadAll(ZipArchiveEntry entry, long cap, string source)
    {
        ArgumentNullException.ThrowIfNull(entry);
        try
        {
            // Opening checks that the compressed bytes lie inside the archive, which makes CompressedLength a bound.
            using var stream = entry.Open();
            long declared = entry.Length;
            cap = Math.Min(cap, Array.MaxLength);
            if (declared > cap)
                throw Fail(source, entry, $"declares {declared} bytes, more than the {cap} allowed.");
            if (declared > entry.CompressedLength * MaxInflationRatio)
                throw Fail(source, entry, $"declares {declared} bytes from {entry.CompressedLength} compressed bytes, more " +
                                          $"than they can inflate to ({MaxInflationRatio}-fold): its header is corrupt or forged.");
            var data = new byte[declared];
            int read = stream.ReadAtLeast(data, data.Length, throwOnEndOfStream: false);
            if (read != data.Length) throw Fail(source, entry, $"is truncated: it inflates to {read} of its declared {declared} bytes.");
            if (stream.ReadByte() >= 0) throw Fail(source, entry, $"inflates past its declared {declared} bytes.");
            return data;
        }
        catch (InvalidDataException e)
        {
            throw new CheckpointFormatException(source, $"zip entry '{entry.FullName}' is corrupt: {e.Message}", e);
        }
    }

    private static CheckpointFormatException Fail(string source, ZipArchiveEntry entry, string problem)
        => new(source, $"zip entry '{entry.FullName}' {problem}");
}
