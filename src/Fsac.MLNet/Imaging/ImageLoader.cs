using Fsac.MLNet.Checkpoints;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.Formats.Gif;
using SixLabors.ImageSharp.Formats.Tiff;
using SixLabors.ImageSharp.Memory;
using SixLabors.ImageSharp.Metadata;
using SixLabors.ImageSharp.PixelFormats;
using SixLabors.ImageSharp.Processing;

namespace Fsac.MLNet.Imaging;

/// <summary>
/// Decodes untrusted image files into 8-bit RGB, as PIL's <c>Image.open(...).convert("RGB")</c> would see them:
/// every format ImageSharp reads (JPEG, PNG of any bit depth, palette or greyscale, BMP, GIF and TIFF first frame,
/// WebP, TGA), alpha dropped (not blended), 16-bit channels reduced to 8, and the EXIF orientation applied.
/// </summary>
/// <remarks>
/// Safety: the header's dimensions are read first and an image over <see cref="MaxPixels"/> is refused before any
/// pixel memory is allocated (decompression bombs); ImageSharp's allocator is capped as a second line; files that
/// end early are refused instead of being decoded into partly grey images. Every failure is an
/// <see cref="ImageDecodeException"/> naming the source. Instances are thread-safe.
/// </remarks>
public sealed class ImageLoader
{
    /// <summary>Default limit on width × height: 100 megapixels.</summary>
    public const long DefaultMaxPixels = 100_000_000;

    /// <summary>Largest buffer a decoder may ask for, in bytes per pixel of the limit (RGBA of 32-bit floats).</summary>
    private const long BytesPerPixelBudget = 16;

    private readonly Configuration _configuration;

    /// <summary>Creates a loader that refuses images of more than <paramref name="maxPixels"/> pixels.</summary>
    public ImageLoader(long maxPixels = DefaultMaxPixels)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(maxPixels);
        MaxPixels = maxPixels;
        _configuration = Configuration.Default.Clone();
        long limitMb = Math.Max(64, maxPixels * BytesPerPixelBudget / (1024 * 1024));
        _configuration.MemoryAllocator = MemoryAllocator.Create(new MemoryAllocatorOptions
        {
            AllocationLimitMegabytes = (int)Math.Min(limitMb, int.MaxValue),
        });
        _configuration.ImageFormatsManager.SetDecoder(GifFormat.Instance, new GifDecoder { DecodingMode = FrameDecodingMode.First });
        _configuration.ImageFormatsManager.SetDecoder(TiffFormat.Instance, new TiffDecoder { DecodingMode = FrameDecodingMode.First });
    }

    /// <summary>A loader with the default limits.</summary>
    public static ImageLoader Default { get; } = new();

    /// <summary>Largest width × height accepted.</summary>
    public long MaxPixels { get; }

    /// <summary>Decodes the image file at <paramref name="path"/>.</summary>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    /// <exception cref="ImageDecodeException">The file is not a decodable image within the limits.</exception>
    public Image<Rgb24> Load(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        if (!File.Exists(path)) throw new FileNotFoundException($"Image not found: '{path}'.", path);
        // Judged by the link's final target: a FIFO, socket or device reports 0 bytes, and reading one could block.
        long length = Checkpoints.RegularFile.Target(path).Length;
        if (length == 0) throw new ImageDecodeException(path, "the file is empty or not a regular file (a FIFO, socket or device).");
        if (length > Array.MaxLength) throw new ImageDecodeException(path, $"the file is too large ({length} bytes).");
        return Decode(File.ReadAllBytes(path), path);
    }

    /// <summary>Decodes an encoded image held in memory; <paramref name="sourceName"/> names it in error messages.</summary>
    /// <exception cref="ImageDecodeException">The bytes are not a decodable image within the limits.</exception>
    public Image<Rgb24> Load(byte[] data, string sourceName = "image bytes")
    {
        ArgumentNullException.ThrowIfNull(data);
        ArgumentNullException.ThrowIfNull(sourceName);
        return Decode(data, sourceName);
    }

    /// <summary>Decodes an encoded image read to the end of <paramref name="stream"/>; <paramref name="sourceName"/> names it in error messages.</summary>
    /// <exception cref="ImageDecodeException">The stream's content is not a decodable image within the limits.</exception>
    public Image<Rgb24> Load(Stream stream, string sourceName = "image stream")
    {
        ArgumentNullException.ThrowIfNull(stream);
        ArgumentNullException.ThrowIfNull(sourceName);
        using var buffer = new MemoryStream();
        stream.CopyTo(buffer);
        return Decode(buffer.ToArray(), sourceName);
    }

    private Image<Rgb24> Decode(byte[] data, string source)
    {
        if (data.Length == 0) throw new ImageDecodeException(source, "it is empty (0 bytes).");

        IImageInfo? info;
        SixLabors.ImageSharp.Formats.IImageFormat? format;
        try
        {
            info = Image.Identify(_configuration, data, out format);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            throw new ImageDecodeException(source, $"its header is unreadable ({e.Message})", e);
        }
        if (info is null || format is null)
            throw new ImageDecodeException(source, $"unknown or unsupported image format (starts with {Convert.ToHexString(data.AsSpan(0, Math.Min(8, data.Length)))}).");
        if (info.Width <= 0 || info.Height <= 0)
            throw new ImageDecodeException(source, $"the {format.Name} header gives invalid dimensions {info.Width}x{info.Height}.");
        long pixels = (long)info.Width * info.Height;
        if (pixels > MaxPixels)
            throw new ImageDecodeException(source, $"{info.Width}x{info.Height} ({pixels:N0} pixels) exceeds the limit of {MaxPixels:N0} pixels.");
        if (ImageIntegrity.FindProblem(data, format) is { } problem)
            throw new ImageDecodeException(source, problem + ".");

        Image<Rgb24>? image = null;
        try
        {
            image = Image.Load<Rgb24>(_configuration, data);
            image.Mutate(x => x.AutoOrient());
            return image;
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            image?.Dispose();
            var why = e is InvalidMemoryOperationException ? "decoding it needs more memory than the loader allows" : $"the {format.Name} data is corrupt";
            throw new ImageDecodeException(source, $"{why} ({e.Message})", e);
        }
    }
}
