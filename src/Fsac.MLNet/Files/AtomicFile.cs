namespace Fsac.MLNet.Files;

/// <summary>Writes files so that a reader sees the old content or the new, never a part: a unique temp file beside the target, then a rename.</summary>
public static class AtomicFile
{
    /// <summary>
    /// Calls <paramref name="write"/> on a new temp file in <paramref name="path"/>'s folder and renames it over
    /// <paramref name="path"/> when it returns; on any failure the temp file is deleted and the target is untouched.
    /// </summary>
    /// <exception cref="IOException">The folder cannot be written, or the target is a folder.</exception>
    public static void Write(string path, Action<Stream> write)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        ArgumentNullException.ThrowIfNull(write);
        var full = Path.GetFullPath(path);
        if (Directory.Exists(full)) throw new IOException($"'{path}' is a folder, not a file.");
        var folder = Path.GetDirectoryName(full)!;
        var temp = Path.Combine(folder, $".{Path.GetFileName(full)}.{Environment.ProcessId}.{Guid.NewGuid():N}.tmp");
        try
        {
            using (var stream = new FileStream(temp, FileMode.CreateNew, FileAccess.Write, FileShare.None))
            {
                write(stream);
                stream.Flush(flushToDisk: true);
            }
            File.Move(temp, full, overwrite: true);
        }
        catch
        {
            try { File.Delete(temp); } catch (IOException) { } catch (UnauthorizedAccessException) { }
            throw;
        }
    }
}
