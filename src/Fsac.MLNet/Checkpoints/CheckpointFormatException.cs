namespace Fsac.MLNet.Checkpoints;

/// <summary>
/// A weights or tensor file is unreadable: truncated, corrupt, of an unknown format, or its header
/// contradicts its contents. The message names the file and what is wrong with it.
/// </summary>
public sealed class CheckpointFormatException : IOException
{
    /// <summary>Creates the exception for <paramref name="path"/>.</summary>
    public CheckpointFormatException(string path, string problem, Exception? inner = null)
        : base($"'{path}': {problem}", inner)
    {
        FilePath = path;
    }

    /// <summary>The file that could not be read.</summary>
    public string FilePath { get; }
}
