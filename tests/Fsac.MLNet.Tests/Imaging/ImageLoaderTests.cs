using Fsac.MLNet.Imaging;
using System.Buffers.Binary;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.Formats;
using SixLabors.ImageSharp.Formats.Bmp;
using SixLabors.ImageSharp.Formats.Gif;
using SixLabors.ImageSharp.Formats.Jpeg;
using SixLabors.ImageSharp.Formats.Png;
using SixLabors.ImageSharp.Formats.Tiff;
using SixLabors.ImageSharp.Formats.Webp;
using SixLabors.ImageSharp.Metadata.Profiles.Exif;
using SixLabors.ImageSharp.PixelFormats;

namespace Fsac.MLNet.Tests.Imaging;

[TestClass]
public sealed class ImageLoaderTests
{
    private DirectoryInfo _dir = null!;

    [TestInitialize]
    public void Init() => _dir = Directory.CreateTempSubdirectory("fsac-img-");

    [TestCleanup]
    public void Cleanup() => _dir.Delete(recursive: true);

    private string Write(string name, byte[] bytes)
    {
        var path = Path.Combine(_dir.FullName, name);
        File.WriteAllBytes(path, bytes);
        return path;
    }

    private static byte[] Encode<TPixel>(Image<TPixel> image, IImageEncoder encoder) where TPixel : unmanaged, IPixel<TPixel>
    {
        using var ms = new MemoryStream();
        image.Save(ms, encoder);
        return ms.ToArray();
    }

    /// <summary>A 64x48 image with structure in every channel, so that encoders cannot collapse it.</summary>
    private static Image<Rgb24> Pattern()
    {
        var image = new Image<Rgb24>(64, 48);
        for (int y = 0; y < 48; y++)
            for (int x = 0; x < 64; x++)
                image[x, y] = new Rgb24((byte)(x * 4), (byte)(y * 5), (byte)((x * 7 + y * 13) % 256));
        return image;
    }

    [TestMethod]
    public void LoadsTheReferenceImages()
    {
        var dir = SharedData.Path("clip-reference", "images");
        using (var grey = ImageLoader.Default.Load(Path.Combine(dir, "pcb-12300217-temp.jpg")))
        {
            Assert.AreEqual(640, grey.Width);
            Assert.AreEqual(640, grey.Height);
            var p = grey[320, 320];
            Assert.IsTrue(p.R == p.G && p.G == p.B, "a greyscale JPEG becomes equal R, G, B");
        }
        using (var photo = ImageLoader.Default.Load(Path.Combine(dir, "cookie-normal-4.jpg")))
        {
            Assert.AreEqual(576, photo.Width);
            Assert.AreEqual(768, photo.Height);
        }
    }

    [TestMethod]
    public void RgbaDropsAlphaWithoutBlending()
    {
        var path = SharedData.Path("clip-reference", "images", "synthetic-rgba-37x91.png");
        using var rgba = Image.Load<Rgba32>(path);
        using var rgb = ImageLoader.Default.Load(path);
        Assert.AreEqual(37, rgb.Width);
        Assert.AreEqual(91, rgb.Height);
        int translucent = 0;
        for (int y = 0; y < rgba.Height; y++)
            for (int x = 0; x < rgba.Width; x++)
            {
                var a = rgba[x, y];
                if (a.A < 255) translucent++;
                Assert.AreEqual(new Rgb24(a.R, a.G, a.B), rgb[x, y]);
            }
        Assert.IsGreaterThan(0, translucent);
    }

    [TestMethod]
    public void LoadsSixteenBitPng()
    {
        using var deep = new Image<Rgba64>(5, 3, new Rgba64(65535, 0, 32896, 1000));
        using var image = ImageLoader.Default.Load(Write("deep.png", Encode(deep, new PngEncoder { BitDepth = PngBitDepth.Bit16, ColorType = PngColorType.RgbWithAlpha })));
        Assert.AreEqual(5, image.Width);
        Assert.AreEqual(new Rgb24(255, 0, 128), image[2, 1]);
    }

    [TestMethod]
    public void LoadsPalettePng()
    {
        using var source = Pattern();
        var bytes = Encode(source, new PngEncoder { ColorType = PngColorType.Palette });
        Assert.AreEqual(PngColorType.Palette, Image.Identify(bytes).Metadata.GetPngMetadata().ColorType);
        using var image = ImageLoader.Default.Load(bytes, "palette.png");
        Assert.AreEqual(64, image.Width);
        Assert.AreEqual(48, image.Height);
    }

    [TestMethod]
    public void LoadsGreyscalePng()
    {
        using var grey = new Image<L8>(6, 4, new L8(77));
        using var image = ImageLoader.Default.Load(Write("grey.png", Encode(grey, new PngEncoder { ColorType = PngColorType.Grayscale })));
        Assert.AreEqual(new Rgb24(77, 77, 77), image[3, 2]);
    }

    [TestMethod]
    public void AppliesExifOrientation()
    {
        using var source = Pattern(); // 64 wide, 48 high
        source.Metadata.ExifProfile = new ExifProfile();
        source.Metadata.ExifProfile.SetValue(ExifTag.Orientation, (ushort)6); // rotate 90° clockwise to view
        var path = Write("rotated.jpg", Encode(source, new JpegEncoder { Quality = 95 }));
        Assert.AreEqual(64, Image.Identify(path).Width, "stored unrotated");
        using var image = ImageLoader.Default.Load(path);
        Assert.AreEqual(48, image.Width);
        Assert.AreEqual(64, image.Height);
    }

    public static IEnumerable<object[]> Formats =>
    [
        ["png", new PngEncoder()],
        ["jpg", new JpegEncoder { Quality = 90 }],
        ["bmp", new BmpEncoder()],
        ["gif", new GifEncoder()],
        ["tiff", new TiffEncoder()],
        ["webp", new WebpEncoder { FileFormat = WebpFileFormatType.Lossless }],
        ["webp-lossy", new WebpEncoder { FileFormat = WebpFileFormatType.Lossy }],
    ];

    [TestMethod]
    [DynamicData(nameof(Formats))]
    public void LoadsEachFormatAndRefusesItTruncated(string name, IImageEncoder encoder)
    {
        using var source = Pattern();
        var bytes = Encode(source, encoder);
        using (var image = ImageLoader.Default.Load(bytes, name))
        {
            Assert.AreEqual(64, image.Width);
            Assert.AreEqual(48, image.Height);
        }
        var path = Write("cut." + name, bytes[..(bytes.Length * 6 / 10)]);
        var e = Assert.ThrowsExactly<ImageDecodeException>(() => ImageLoader.Default.Load(path));
        Assert.AreEqual(path, e.ImageSource);
        StringAssert.Contains(e.Message, path);
    }

    [TestMethod]
    public void EmptyFileIsRefused()
    {
        var path = Write("empty.jpg", []);
        var e = Assert.ThrowsExactly<ImageDecodeException>(() => ImageLoader.Default.Load(path));
        StringAssert.Contains(e.Message, path);
        StringAssert.Contains(e.Message, "empty");
    }

    [TestMethod]
    public void TruncatedJpegIsRefused()
    {
        var jpeg = File.ReadAllBytes(SharedData.Path("clip-reference", "images", "cookie-normal-4.jpg"));
        var path = Write("half.jpg", jpeg[..(jpeg.Length / 2)]);
        var e = Assert.ThrowsExactly<ImageDecodeException>(() => ImageLoader.Default.Load(path));
        StringAssert.Contains(e.Message, path);
        StringAssert.Contains(e.Message, "truncated");
    }

    [TestMethod]
    public void RandomBytesAreRefused()
    {
        var random = new byte[4096];
        new Random(7).NextBytes(random);
        var path = Write("noise.png", random);
        var e = Assert.ThrowsExactly<ImageDecodeException>(() => ImageLoader.Default.Load(path));
        StringAssert.Contains(e.Message, "unknown or unsupported image format");
        Assert.ThrowsExactly<ImageDecodeException>(() => ImageLoader.Default.Load(new MemoryStream(random)));
    }

    [TestMethod]
    public void HugeDimensionsAreRefusedBeforeDecoding()
    {
        var path = Write("bomb.png", PngHeaderOnly(100_000, 100_000));
        var e = Assert.ThrowsExactly<ImageDecodeException>(() => ImageLoader.Default.Load(path));
        StringAssert.Contains(e.Message, "100000x100000");
        StringAssert.Contains(e.Message, "exceeds");
    }

    [TestMethod]
    public void PixelLimitIsConfigurable()
    {
        var path = SharedData.Path("clip-reference", "images", "synthetic-rgba-37x91.png");
        var e = Assert.ThrowsExactly<ImageDecodeException>(() => new ImageLoader(maxPixels: 1000).Load(path));
        StringAssert.Contains(e.Message, "37x91");
        using var ok = new ImageLoader(maxPixels: 37 * 91).Load(path);
        Assert.AreEqual(37, ok.Width);
    }

    [TestMethod]
    public void MissingFileIsFileNotFound()
    {
        var path = Path.Combine(_dir.FullName, "absent.jpg");
        Assert.ThrowsExactly<FileNotFoundException>(() => ImageLoader.Default.Load(path));
    }

    /// <summary>PNG signature, an IHDR (8-bit RGB) with a valid CRC, one tiny IDAT and IEND.</summary>
    private static byte[] PngHeaderOnly(int width, int height)
    {
        using var ms = new MemoryStream();
        ms.Write([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]);
        var ihdr = new byte[13];
        BinaryPrimitives.WriteInt32BigEndian(ihdr, width);
        BinaryPrimitives.WriteInt32BigEndian(ihdr.AsSpan(4), height);
        ihdr[8] = 8; // bit depth
        ihdr[9] = 2; // RGB
        WriteChunk(ms, "IHDR", ihdr);
        WriteChunk(ms, "IDAT", [0x78, 0x9C, 0x03, 0x00, 0x00, 0x00, 0x00, 0x01]);
        WriteChunk(ms, "IEND", []);
        return ms.ToArray();
    }

    private static void WriteChunk(Stream s, string type, byte[] data)
    {
        Span<byte> word = stackalloc byte[4];
        BinaryPrimitives.WriteInt32BigEndian(word, data.Length);
        s.Write(word);
        var typed = System.Text.Encoding.ASCII.GetBytes(type).Concat(data).ToArray();
        s.Write(typed);
        BinaryPrimitives.WriteUInt32BigEndian(word, Crc32(typed));
        s.Write(word);
    }

    private static uint Crc32(byte[] bytes)
    {
        uint crc = 0xFFFFFFFF;
        foreach (var b in bytes)
        {
            crc ^= b;
            for (int k = 0; k < 8; k++) crc = (crc & 1) != 0 ? (crc >> 1) ^ 0xEDB88320 : crc >> 1;
        }
        return ~crc;
    }
}
