namespace Fsac.MLNet.Checkpoints;

/// <summary>
/// Opens files that are read whole (models, checkpoints, ONNX graphs) only when they are regular files. FIFOs,
/// sockets and devices report a size of 0, so they are refused by their size without being opened: opening a FIFO
/// blocks until a writer comes, and a device can stream without end. A symbolic link is judged by its final target.
/// </summary>
internal static class RegularFile
{
    /// <summary>Opens <paramref name="path"/> for reading when it is a regular, non-empty file of at most <paramref name="maxBytes"/>.</summary>
    /// <param name="path">The file.</param>
    /// <param name="kind">What the file should be, for messages: "checkpoint", "ONNX model".</param>
    /// <param name="maxBytes">The largest size accepted.</param>
    /// <exception cref="FileNotFoundException">There is no such file.</exception>
    /// <exception cref="CheckpointFormatException">The path is a folder, empty or not a regular file, or larger than <paramref name="maxBytes"/>.</exception>
    public static FileStream Open(string path, string kind, long maxBytes = long.MaxValue)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        if (Directory.Exists(path)) throw new CheckpointFormatException(path, $"is a folder, not a {kind}.");
        var target = Target(path);
        if (!target.Exists) throw new FileNotFoundException($"{char.ToUpperInvariant(kind[0])}{kind[1..]} not found: '{path}'.", path);
        if (target.Length == 0) throw new CheckpointFormatException(path, "is empty or not a regular file (a FIFO, socket or device).");
        if (target.Length > maxBytes) throw new CheckpointFormatException(path, $"is {target.Length} bytes, more than the {maxBytes} a {kind} may have.");
        return new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read);
    }

    /// <summary>
    /// The file <paramref name="path"/> names, a symbolic link followed to its final target, so that its size is the
    /// target's: 0 for a FIFO, socket or device (or an empty file).
    /// </summary>
    public static FileInfo Target(string path)
    {
        var link = new FileInfo(path);
        return link.LinkTarget is null ? link : new FileInfo(link.ResolveLinkTarget(returnFinalTarget: true)!.FullName);
    }

    /// <summary>The whole content of <paramref name="path"/>, a regular file that fits one array.</summary>
    /// <param name="path">The file.</param>
    /// <param name="kind">What the file should be, for messages.</param>
    /// <exception cref="FileNotFoundException">There is no such file.</exception>
    /// <exception cref="CheckpointFormatException">The path is a folder, empty or not a regular file, or larger than an array can hold.</exception>
    public static byte[] ReadAllBytes(string path, string kind)
    {
        using var stream = Open(path, kind, Array.MaxLength);
        var bytes = new byte[stream.Length];
        stream.ReadExactly(bytes);
        return bytes;
    }
}
