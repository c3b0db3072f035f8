namespace Fsac.MLNet.Imaging;

/// <summary>
/// An image could not be decoded: it is empty, truncated, corrupt, of an unknown format, or larger than the
/// decode limits allow. The message names the source (file path or stream description) and the problem.
/// </summary>
public sealed class ImageDecodeException : IOException
{
    /// <summary>Creates the exception for the image read from <paramref name="imageSource"/>.</summary>
    public ImageDecodeException(string imageSource, string problem, Exception? inner = null)
        : base($"Cannot decode image '{imageSource}': {problem}", inner)
    {
        ImageSource = imageSource;
    }

    /// <summary>The file path, or a description of the stream or bytes, that failed to decode.</summary>
    public string ImageSource { get; }
}
