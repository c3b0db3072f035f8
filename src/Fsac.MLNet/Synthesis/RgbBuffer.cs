using System.Buffers;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.PixelFormats;

namespace Fsac.MLNet.Synthesis;

/// <summary>
/// An RGB image as one interleaved byte array (R, G, B per pixel, row-major), so that the synthesizers work on
/// plain arrays instead of ImageSharp's per-pixel indexers. The array is rented from the shared pool (large images
/// would otherwise churn the large-object heap); dispose the buffer to return it.
/// </summary>
internal sealed class RgbBuffer : IDisposable
{
    private byte[]? _data;

    private RgbBuffer(int width, int height)
    {
        Width = width;
        Height = height;
        _data = ArrayPool<byte>.Shared.Rent(checked(3 * width * height));
    }

    public int Width { get; }

    public int Height { get; }

    /// <summary>Interleaved RGB bytes, <c>3 * (y * Width + x) + channel</c>; may be longer than the image.</summary>
    public byte[] Data => _data ?? throw new ObjectDisposedException(nameof(RgbBuffer));

    /// <summary>The image's bytes, exactly <c>3 * Width * Height</c> of them.</summary>
    public Span<byte> Pixels => Data.AsSpan(0, 3 * Width * Height);

    public static RgbBuffer From(Image<Rgb24> image)
    {
        var buffer = new RgbBuffer(image.Width, image.Height);
        buffer.CopyFrom(image);
        return buffer;
    }

    /// <summary>Overwrites the buffer with <paramref name="image"/>'s pixels (same size).</summary>
    public void CopyFrom(Image<Rgb24> image) => image.CopyPixelDataTo(Pixels);

    public Image<Rgb24> ToImage() => Image.LoadPixelData<Rgb24>(Pixels, Width, Height);

    public void Dispose()
    {
        if (_data is null) return;
        ArrayPool<byte>.Shared.Return(_data);
        _data = null;
    }
}
