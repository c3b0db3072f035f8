namespace Fsac.MLNet.Checkpoints;

/// <summary>
/// A downloaded file's SHA-256 differs from the published one: the download is corrupt or the file was
/// replaced. The partial file has been deleted.
/// </summary>
public sealed class ChecksumMismatchException : IOException
{
    /// <summary>Creates the exception for a download of <paramref name="url"/>.</summary>
    public ChecksumMismatchException(Uri url, string expectedSha256, string actualSha256)
        : base($"The file downloaded from {url} has SHA-256 {actualSha256}, but {expectedSha256} was expected" +
               (expectedSha256.Length < 64 ? " (a prefix)" : "") + ". The download was deleted.")
    {
        Url = url;
        ExpectedSha256 = expectedSha256;
        ActualSha256 = actualSha256;
    }

    /// <summary>Where the file came from.</summary>
    public Uri Url { get; }

    /// <summary>The published SHA-256 (lower-case hex; may be a prefix).</summary>
    public string ExpectedSha256 { get; }

    /// <summary>The SHA-256 of the bytes received (lower-case hex).</summary>
    public string ActualSha256 { get; }
}
