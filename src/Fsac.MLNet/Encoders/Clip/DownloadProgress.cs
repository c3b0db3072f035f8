namespace Fsac.MLNet.Encoders.Clip;

/// <summary>How far a weights download has come.</summary>
/// <param name="BytesReceived">Bytes of the file on disk so far, including a resumed part.</param>
/// <param name="TotalBytes">The file's size when the server says it, else null.</param>
public readonly record struct DownloadProgress(long BytesReceived, long? TotalBytes);
