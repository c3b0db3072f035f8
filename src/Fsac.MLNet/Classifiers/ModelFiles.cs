using Fsac.MLNet.Checkpoints;

namespace Fsac.MLNet.Classifiers;

/// <summary>Opening model files safely: regular files only, read into memory up to a bound.</summary>
internal static class ModelFiles
{
    /// <summary>The largest model file accepted.</summary>
    public const long MaxBytes = ModelArchive.MaxTensorBytes + ModelArchive.MaxManifestBytes;

    /// <summary>Opens <paramref name="path"/> for reading when it is a regular, non-empty file (<see cref="RegularFile"/>).</summary>
    /// <exception cref="FileNotFoundException">There is no such file.</exception>
    /// <exception cref="CheckpointFormatException">The path is a folder, empty or not a regular file, or larger than <see cref="MaxBytes"/>.</exception>
    public static FileStream OpenRegular(string path) => RegularFile.Open(path, "model file", MaxBytes);

    /// <summary>A seekable copy of <paramref name="input"/> (the stream itself when it already seeks), read up to <see cref="MaxBytes"/>.</summary>
    public static Stream Buffer(Stream input, string source)
    {
        if (input.CanSeek) return new NonClosing(input);
        var memory = new MemoryStream();
        var buffer = new byte[81920];
        int read;
        while ((read = input.Read(buffer)) > 0)
        {
            if (memory.Length + read > MaxBytes) throw new CheckpointFormatException(source, $"is larger than the {MaxBytes} bytes a model may have.");
            memory.Write(buffer, 0, read);
        }
        memory.Position = 0;
        return memory;
    }

    // Leaves the caller's stream open when the buffered view is disposed.
    private sealed class NonClosing(Stream inner) : Stream
    {
        public override bool CanRead => inner.CanRead;
        public override bool CanSeek => true;
        public override bool CanWrite => false;
        public override long Length => inner.Length;
        public override long Position { get => inner.Position; set => inner.Position = value; }
        public override void Flush() { }
        public override int Read(byte[] buffer, int offset, int count) => inner.Read(buffer, offset, count);
        public override long Seek(long offset, SeekOrigin origin) => inner.Seek(offset, origin);
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }
}
