using Fsac.MLNet.Checkpoints;
using Fsac.MLNet.Imaging;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.PixelFormats;
using TorchSharp;

namespace Fsac.MLNet.Tests.Imaging;

[TestClass]
public sealed class ClipPreprocessorTests
{
    private const int RgbaIndex = 3; // synthetic-rgba-37x91.png, last by name

    public TestContext TestContext { get; set; } = null!;

    private static List<Image<Rgb24>> LoadReferenceImages() =>
        Directory.GetFiles(SharedData.Path("clip-reference", "images"))
            .Order(StringComparer.Ordinal)
            .Select(ImageLoader.Default.Load)
            .ToList();

    private static float[] ExpectedPixels(int size)
    {
        var t = SafeTensors.Read(SharedData.Path("clip-reference", "expected_pixels.safetensors"))[$"pixels_{size}"];
        CollectionAssert.AreEqual(new long[] { 4, 3, size, size }, t.Shape);
        var values = new float[t.ElementCount];
        Buffer.BlockCopy(t.Data, 0, values, 0, t.Data.Length);
        return values;
    }

    [TestMethod]
    [DataRow(224)]
    [DataRow(240)]
    public void MatchesOpenClipPreprocessing(int size)
    {
        var expected = ExpectedPixels(size);
        var images = LoadReferenceImages();
        try
        {
            using var pixels = new ClipPreprocessor(PreprocessConfig.Square(size)).Preprocess(images);
            Assert.AreEqual(torch.ScalarType.Float32, pixels.dtype);
            CollectionAssert.AreEqual(new long[] { 4, 3, size, size }, pixels.shape);
            var actual = pixels.data<float>().ToArray();

            int per = 3 * size * size;
            double total = 0, worst = 0;
            for (int n = 0; n < 4; n++)
            {
                double sum = 0, max = 0;
                for (int i = n * per; i < (n + 1) * per; i++)
                {
                    double d = Math.Abs(actual[i] - expected[i]);
                    sum += d;
                    max = Math.Max(max, d);
                }
                TestContext.WriteLine($"pixels_{size} image {n}: mean |diff| {sum / per:F6}, max {max:F6}");
                if (n != RgbaIndex)
                {
                    // Opaque images differ only by the JPEG decoder: at most 2 grey levels anywhere.
                    Assert.IsLessThanOrEqualTo(0.002, sum / per, $"image {n}");
                    Assert.IsLessThanOrEqualTo(2.0 / 255 / 0.26, max, $"image {n}");
                }
                total += sum;
                worst = Math.Max(worst, max);
            }
            double mean = total / actual.Length;
            TestContext.WriteLine($"pixels_{size}: mean |diff| {mean:F6}, max {worst:F6}");
            Assert.IsLessThanOrEqualTo(0.02, mean);
        }
        finally
        {
            foreach (var im in images) im.Dispose();
        }
    }

    /// <summary>
    /// On a lossless input the resize is PIL's to the bit. PIL resizes RGBA with premultiplied alpha and
    /// drops alpha afterwards (OpenCLIP converts to RGB after the crop), so the test feeds the premultiplied
    /// colours and the alpha through the preprocessor and un-premultiplies as PIL's RGBa → RGBA does.
    /// </summary>
    [TestMethod]
    [DataRow(224)]
    [DataRow(240)]
    public void ResizeIsBitExactWithPilOnLosslessInput(int size)
    {
        var expected = ExpectedPixels(size);
        using var rgba = Image.Load<Rgba32>(SharedData.Path("clip-reference", "images", "synthetic-rgba-37x91.png"));
        using var premultiplied = new Image<Rgb24>(rgba.Width, rgba.Height);
        using var alpha = new Image<Rgb24>(rgba.Width, rgba.Height);
        for (int y = 0; y < rgba.Height; y++)
            for (int x = 0; x < rgba.Width; x++)
            {
                var p = rgba[x, y];
                premultiplied[x, y] = new Rgb24(MulDiv255(p.R, p.A), MulDiv255(p.G, p.A), MulDiv255(p.B, p.A));
                alpha[x, y] = new Rgb24(p.A, p.A, p.A);
            }
        Assert.IsTrue(Enumerable.Range(0, rgba.Height).Any(y => Enumerable.Range(0, rgba.Width).Any(x => rgba[x, y].A is > 0 and < 255)),
            "the fixture should have partly transparent pixels");

        var raw = new ClipPreprocessor(PreprocessConfig.Square(size) with { Mean = (0, 0, 0), Std = (1, 1, 1) });
        var colour = new float[raw.ValuesPerImage];
        var coverage = new float[raw.ValuesPerImage];
        raw.PreprocessInto(premultiplied, colour);
        raw.PreprocessInto(alpha, coverage);

        var mean = PreprocessConfig.OpenAiMean;
        var std = PreprocessConfig.OpenAiStd;
        float[] m = [mean.R, mean.G, mean.B], s = [std.R, std.G, std.B];
        int plane = size * size, offset = RgbaIndex * raw.ValuesPerImage;
        for (int c = 0; c < 3; c++)
            for (int i = 0; i < plane; i++)
            {
                int v = (int)Math.Round(colour[c * plane + i] * 255f), a = (int)Math.Round(coverage[c * plane + i] * 255f);
                int straight = a is 0 or 255 ? v : Math.Min(255, 255 * v / a);
                Assert.AreEqual(expected[offset + c * plane + i], ((float)straight / 255f - m[c]) / s[c], 0f, $"channel {c} index {i}");
            }
    }

    private static byte MulDiv255(int a, int b)
    {
        int t = a * b + 128;
        return (byte)(((t >> 8) + t) >> 8);
    }

    [TestMethod]
    public void UniformImageNormalisesExactly()
    {
        using var image = new Image<Rgb24>(57, 31, new Rgb24(10, 128, 250));
        var pp = new ClipPreprocessor(PreprocessConfig.Square(16));
        using var t = pp.Preprocess([image]);
        var v = t.data<float>().ToArray();
        var mean = PreprocessConfig.OpenAiMean;
        var std = PreprocessConfig.OpenAiStd;
        float[] want = [(10 / 255f - mean.R) / std.R, (128 / 255f - mean.G) / std.G, (250 / 255f - mean.B) / std.B];
        for (int c = 0; c < 3; c++)
            for (int i = 0; i < 256; i++)
                Assert.AreEqual(want[c], v[c * 256 + i], 0f);
    }

    [TestMethod]
    [DataRow(10, new[] { 3, 4, 5, 6 })] // left = round(3.0) = 3
    [DataRow(9, new[] { 2, 3, 4, 5 })]  // left = round(2.5) = 2: half to even, as torchvision
    [DataRow(11, new[] { 4, 5, 6, 7 })] // left = round(3.5) = 4
    public void CentreCropUsesTorchvisionRounding(int width, int[] columns)
    {
        // Height 4 = target: no resampling, so the output columns are source columns.
        using var image = new Image<Rgb24>(width, 4);
        for (int x = 0; x < width; x++)
            for (int y = 0; y < 4; y++)
                image[x, y] = new Rgb24((byte)(x * 20), 0, 0);
        var pp = new ClipPreprocessor(PreprocessConfig.Square(4) with { Mean = (0, 0, 0), Std = (1, 1, 1) });
        var v = new float[pp.ValuesPerImage];
        pp.PreprocessInto(image, v);
        for (int x = 0; x < 4; x++) Assert.AreEqual(columns[x] * 20 / 255f, v[x], 0f, $"column {x}");
    }

    [TestMethod]
    public void LongestModePadsWithTheFillColour()
    {
        // 37x91 into 64x64: ratio 91/64, resized to 26x64, padded 19 left and 19 right.
        using var image = new Image<Rgb24>(37, 91, new Rgb24(200, 200, 200));
        var cfg = PreprocessConfig.Square(64) with { ResizeMode = ImageResizeMode.Longest, FillColor = 51, Mean = (0, 0, 0), Std = (1, 1, 1) };
        var pp = new ClipPreprocessor(cfg);
        var v = new float[pp.ValuesPerImage];
        pp.PreprocessInto(image, v);
        for (int x = 0; x < 64; x++)
            Assert.AreEqual(x is >= 19 and < 45 ? 200 / 255f : 51 / 255f, v[32 * 64 + x], 0f, $"column {x}");
    }

    [TestMethod]
    public void SquashModeKeepsTheWholeImage()
    {
        // Left half black, right half white: squashing 100x10 to 8x8 keeps both halves.
        using var image = new Image<Rgb24>(100, 10);
        for (int x = 50; x < 100; x++)
            for (int y = 0; y < 10; y++)
                image[x, y] = new Rgb24(255, 255, 255);
        var pp = new ClipPreprocessor(PreprocessConfig.Square(8) with { ResizeMode = ImageResizeMode.Squash, Mean = (0, 0, 0), Std = (1, 1, 1) });
        var v = new float[pp.ValuesPerImage];
        pp.PreprocessInto(image, v);
        Assert.AreEqual(0f, v[0]);
        Assert.AreEqual(1f, v[7]);
    }

    [TestMethod]
    public void ParsesOpenClipPreprocessCfg()
    {
        using var doc = System.Text.Json.JsonDocument.Parse(File.ReadAllText(SharedData.Path("clip-reference", "tiny-vit", "open_clip_config.json")));
        var cfg = PreprocessConfig.FromJson(doc.RootElement.GetProperty("preprocess_cfg"));
        Assert.AreEqual(PreprocessConfig.Square(64), cfg);

        var other = PreprocessConfig.FromJson("""{"size": 240, "mean": 0.5, "std": [0.1, 0.2, 0.3], "interpolation": "bilinear", "resize_mode": "squash", "fill_color": 7}""");
        Assert.AreEqual(240, other.Height);
        Assert.AreEqual(240, other.Width);
        Assert.AreEqual((0.5f, 0.5f, 0.5f), other.Mean);
        Assert.AreEqual((0.1f, 0.2f, 0.3f), other.Std);
        Assert.AreEqual(ImageInterpolation.Bilinear, other.Interpolation);
        Assert.AreEqual(ImageResizeMode.Squash, other.ResizeMode);
        Assert.AreEqual((byte)7, other.FillColor);

        Assert.ThrowsExactly<FormatException>(() => PreprocessConfig.FromJson("""{"interpolation": "lanczos"}"""));
        Assert.ThrowsExactly<FormatException>(() => PreprocessConfig.FromJson("""{"size": "big"}"""));
        Assert.ThrowsExactly<FormatException>(() => PreprocessConfig.FromJson("""{"mean": [1, 2]}"""));
        Assert.ThrowsExactly<FormatException>(() => PreprocessConfig.FromJson("[1]"));
    }
}
