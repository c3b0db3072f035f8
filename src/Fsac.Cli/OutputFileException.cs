namespace Fsac.Cli;

/// <summary>
/// A result file could not be written: its folder is missing and cannot be made, is not writable or is full, or a
/// folder is in the way. The message names the file fsac meant to write, not the temp file beside it.
/// </summary>
public sealed class OutputFileException(string path, Exception inner)
    : IOException($"Cannot write '{path}': {Reason(inner)}", inner)
{
    /// <summary>The file that could not be written.</summary>
    public string FilePath { get; } = path;

    private static string Reason(Exception e) => e is UnauthorizedAccessException ? "permission denied." : e.Message;
}
