using Fsac.MLNet.Files;
using SixLabors.ImageSharp;

namespace Fsac.Cli.Outputs;

/// <summary>
/// How fsac writes every result file: atomically through <see cref="AtomicFile"/> (a uniquely named temp file beside
/// the target, then a rename, so concurrent runs never share a temp file; on failure the temp file is removed and the
/// old target kept), into a folder created when missing, with failures reported as <see cref="OutputFileException"/>.
/// </summary>
public static class OutputFile
{
    /// <summary>Creates the folder <paramref name="path"/> goes into, so that a command fails before its work rather than after.</summary>
    /// <exception cref="OutputFileException">The folder cannot be created.</exception>
    public static void CreateFolderFor(string path) => Guard(path, () => Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!));

    /// <summary>Writes <paramref name="path"/> with what <paramref name="write"/> puts into the stream it is given.</summary>
    /// <exception cref="OutputFileException">The file cannot be written; the old one, if any, is left as it was.</exception>
    public static void Write(string path, Action<Stream> write)
    {
        CreateFolderFor(path);
        Guard(path, () => AtomicFile.Write(path, write));
    }

    /// <summary>Writes <paramref name="text"/> as UTF-8 without a byte order mark.</summary>
    public static void WriteText(string path, string text) => Write(path, stream => stream.Write(System.Text.Encoding.UTF8.GetBytes(text)));

    /// <summary>Writes <paramref name="image"/> as PNG.</summary>
    public static void WritePng(string path, Image image) => Write(path, stream => image.SaveAsPng(stream));

    private static void Guard(string path, Action action)
    {
        try
        {
            action();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new OutputFileException(path, e);
        }
    }
}
