namespace Fsac.MLNet.Pipeline;

/// <summary>The forms an image column may take.</summary>
internal enum ImageSourceKind
{
    /// <summary>A file path (String).</summary>
    Path,
    /// <summary>An <c>MLImage</c> from ML.NET's <c>LoadImages</c>.</summary>
    MLImage,
    /// <summary>Encoded bytes (Vector&lt;Byte&gt;): a PNG, JPEG, BMP… file's content.</summary>
    EncodedBytes,
}
