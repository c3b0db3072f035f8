using Fsac.MLNet.Encoders;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.PixelFormats;
using SixLabors.ImageSharp.Processing;
using TorchSharp;

namespace Fsac.MLNet.Tests.Encoders;

/// <summary>ResNet18's layer2 + layer3 patch grid and its aspect-preserving resolution views, on the real offline model.</summary>
[TestClass]
public sealed class ResNet18PatchTests
{
    private static ResNet18Encoder s_encoder = null!;
    private static List<Image<Rgb24>> s_cookies = null!;

    public TestContext TestContext { get; set; } = null!;

    [ClassInitialize]
    public static void Load(TestContext _)
    {
        s_encoder = ResNet18Encoder.LoadDefault();
        // Colour photographs, 576 wide and 768 high (portrait).
        s_cookies = Directory.GetFiles(SharedData.Path("data", "cookies", "normal"), "*.jpg").Order(StringComparer.Ordinal).Take(2)
            .Select(Image.Load<Rgb24>).ToList();
    }

    [ClassCleanup]
    public static void Release()
    {
        s_encoder?.Dispose();
        s_cookies?.ForEach(i => i.Dispose());
    }

    [TestMethod]
    public void EncodeBoth_GivesThePooledFeaturesOfTheGlobalOnlyCall_AndA28x28Grid()
    {
        Assert.AreEqual(576, s_cookies[0].Width);
        Assert.AreEqual(768, s_cookies[0].Height);
        Assert.AreEqual(384, s_encoder.PatchDim);
        using var scope = torch.NewDisposeScope();
        using var noGrad = torch.no_grad();
        var pixels = s_encoder.Preprocess([s_cookies[0]]);
        var globalOnly = s_encoder.EncodeImage(pixels);
        var both = s_encoder.Encode(pixels, EncoderOutputs.Both);
        Assert.IsNotNull(both.Global);
        Assert.IsNotNull(both.Patches);
        CollectionAssert.AreEqual(new long[] { 1, 512 }, both.Global.shape);
        var diff = (both.Global - globalOnly).abs().max().item<float>();
        var scale = globalOnly.abs().max().item<float>();
        Assert.IsGreaterThan(0f, scale);
        Assert.IsLessThanOrEqualTo(1e-6f * scale, diff, $"pooled Both vs Global only: {diff:G3}");
        CollectionAssert.AreEqual(new long[] { 1, 384, 28, 28 }, both.Patches.shape);
        Assert.IsTrue(both.Patches.isfinite().all().item<bool>());
        Assert.AreEqual(torch.ScalarType.Float32, both.Patches.dtype);

        var patchesOnly = s_encoder.Encode(pixels, EncoderOutputs.Patches);
        Assert.IsNull(patchesOnly.Global);
        Assert.IsLessThanOrEqualTo(1e-6f, (patchesOnly.Patches! - both.Patches).abs().max().item<float>());
    }

    [TestMethod]
    public void DefaultLayout_IsTheCentreSquare()
    {
        var layout = s_encoder.Layout(576, 768);
        Assert.AreEqual(224, layout.Width);
        Assert.AreEqual(224, layout.Height);
        Assert.AreEqual(0f, layout.Region.X, 1e-3f);
        Assert.AreEqual(96f, layout.Region.Y, 1e-3f);
        Assert.AreEqual(576f, layout.Region.Width, 1e-3f);
        Assert.AreEqual(576f, layout.Region.Height, 1e-3f);
    }

    [TestMethod]
    public void WithResolution320_KeepsThePortraitAspect_AndGivesAnH8xW8Grid()
    {
        var view = s_encoder.WithResolution(320);
        Assert.AreEqual(320, view.ImageSize);
        Assert.AreEqual(s_encoder.Name, view.Name);
        Assert.AreEqual(384, view.PatchDim);

        // Shorter side (width 576) to 320; the height 768·320/576 = 426.67 rounded to a multiple of 32: 13·32 = 416.
        var layout = view.Layout(576, 768);
        Assert.AreEqual(320, layout.Width);
        Assert.AreEqual(416, layout.Height);
        // 320 columns show all 576 image columns (scale 320/576), so 416 rows show 416·576/320 = 748.8 of 768, centred.
        double regionHeight = 416 * 576 / 320.0;
        Assert.AreEqual(0.0, layout.Region.X, 1e-3);
        Assert.AreEqual(576.0, layout.Region.Width, 1e-3);
        Assert.AreEqual(regionHeight, layout.Region.Height, 1e-3);
        Assert.AreEqual((768 - regionHeight) / 2, layout.Region.Y, 1e-3);

        using var scope = torch.NewDisposeScope();
        using var noGrad = torch.no_grad();
        var pixels = view.Preprocess([s_cookies[0]]);
        CollectionAssert.AreEqual(new long[] { 1, 3, 416, 320 }, pixels.shape);
        var patches = view.Encode(pixels, EncoderOutputs.Patches);
        Assert.IsNull(patches.Global);
        CollectionAssert.AreEqual(new long[] { 1, 384, 416 / 8, 320 / 8 }, patches.Patches!.shape);

        // The default encoder rejects a non-square batch; the view accepts it.
        Assert.ThrowsExactly<ArgumentException>(() => s_encoder.Encode(pixels, EncoderOutputs.Patches));
    }

    /// <summary>
    /// Every input a resolution view lays out must go through the network, whichever outputs are asked for: 320 gives
    /// 320x416 for a 576x768 photo (sides rounded to multiples of 32, which the network's five stride-2 stages need).
    /// </summary>
    [TestMethod]
    [DataRow(320, EncoderOutputs.Global)]
    [DataRow(320, EncoderOutputs.Both)]
    [DataRow(224, EncoderOutputs.Patches)]
    [DataRow(192, EncoderOutputs.Both)]
    public void WithResolution_EncodesTheInputsItLaysOut(int resolution, EncoderOutputs outputs)
    {
        var view = s_encoder.WithResolution(resolution);
        var layout = view.Layout(576, 768);
        using var scope = torch.NewDisposeScope();
        using var noGrad = torch.no_grad();
        var pixels = view.Preprocess([s_cookies[0]]);
        CollectionAssert.AreEqual(new long[] { 1, 3, layout.Height, layout.Width }, pixels.shape);
        var encoded = view.Encode(pixels, outputs);
        if (outputs.HasFlag(EncoderOutputs.Global))
        {
            CollectionAssert.AreEqual(new long[] { 1, 512 }, encoded.Global!.shape);
            Assert.IsTrue(encoded.Global.isfinite().all().item<bool>());
        }
        if (outputs.HasFlag(EncoderOutputs.Patches))
            CollectionAssert.AreEqual(new long[] { 1, 384, layout.Height / 8, layout.Width / 8 }, encoded.Patches!.shape);
    }

    /// <summary>A shorter side the network cannot take is refused when the view is made, naming the rule.</summary>
    [TestMethod]
    [DataRow(200)]
    [DataRow(330)]
    public void WithResolution_RefusesSidesThatAreNotMultiplesOf32(int resolution)
    {
        var e = Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => s_encoder.WithResolution(resolution));
        StringAssert.Contains(e.Message, "multiples of 32");
    }

    [TestMethod]
    public void ConstantInput_GivesEqualInteriorPatches()
    {
        var view = s_encoder.WithResolution(448);
        using var scope = torch.NewDisposeScope();
        using var noGrad = torch.no_grad();
        // A constant (already normalised) input: away from the zero padding every cell sees the same thing.
        var pixels = torch.full(1, 3, 448, 448, 20f);
        var grid = view.Encode(pixels, EncoderOutputs.Patches).Patches!;
        CollectionAssert.AreEqual(new long[] { 1, 384, 56, 56 }, grid.shape);
        var values = grid.select(0, 0).contiguous().data<float>().ToArray();
        int side = 56, plane = side * side;
        int from = 20, to = 36;                              // interior cells, 20 cells (160 input pixels) from every border
        var mean = new double[384];
        int cells = (to - from) * (to - from);
        for (int c = 0; c < 384; c++)
            for (int i = from; i < to; i++)
                for (int j = from; j < to; j++)
                    mean[c] += values[c * plane + i * side + j] / (double)cells;
        double meanNorm = Math.Sqrt(mean.Sum(m => m * m));
        double spread = 0;
        for (int i = from; i < to; i++)
            for (int j = from; j < to; j++)
            {
                double d2 = 0;
                for (int c = 0; c < 384; c++)
                {
                    double d = values[c * plane + i * side + j] - mean[c];
                    d2 += d * d;
                }
                spread += d2 / cells;
            }
        double std = Math.Sqrt(spread);
        TestContext.WriteLine($"interior mean norm {meanNorm:G4}, rms distance to the mean {std:G3}");
        Assert.IsGreaterThan(1e-3, meanNorm, "the features are not all zero");
        Assert.IsLessThanOrEqualTo(1e-4 * meanNorm, std);

        // The border does differ (zero padding), so the check above is not vacuous.
        double corner = 0;
        for (int c = 0; c < 384; c++)
        {
            double d = values[c * plane] - mean[c];
            corner += d * d;
        }
        Assert.IsGreaterThan(1e-2 * meanNorm, Math.Sqrt(corner));
    }

    [TestMethod]
    public void EncodeBatches_MixedOrientations_KeepOrderAndEqualEncodingAlone()
    {
        var view = s_encoder.WithResolution(192);
        using var landscape = s_cookies[1].Clone(c => c.Rotate(RotateMode.Rotate90));   // 768x576
        Assert.AreEqual(768, landscape.Width);
        var images = new List<Image<Rgb24>> { s_cookies[0], landscape, s_cookies[1], s_cookies[0] };

        // Hand-computed input sizes: the shorter side 192, the longer 192·768/576 = 256 = 16·16.
        (int W, int H)[] inputs = [(192, 256), (256, 192), (192, 256), (192, 256)];

        var (global, patches) = view.EncodeBatches(images, batchSize: 4, EncoderOutputs.Both);
        using var g = global!;
        using var p = patches!;
        CollectionAssert.AreEqual(new long[] { 4, 512 }, g.shape);
        Assert.AreEqual(4, p.Count);
        for (int i = 0; i < images.Count; i++)
        {
            var grid = p.Grids[i];
            Assert.AreEqual(inputs[i].W, grid.Layout.Width, $"image {i} input width");
            Assert.AreEqual(inputs[i].H, grid.Layout.Height, $"image {i} input height");
            Assert.AreEqual(inputs[i].H / 8, grid.Rows, $"image {i} rows");
            Assert.AreEqual(inputs[i].W / 8, grid.Columns, $"image {i} columns");
            Assert.AreEqual(images[i].Width, grid.ImageWidth);
            Assert.AreEqual(images[i].Height, grid.ImageHeight);
        }
        Assert.AreEqual(p.Grids.Sum(x => x.Count), (int)p.Values.shape[0]);

        using var scope = torch.NewDisposeScope();
        using var noGrad = torch.no_grad();
        for (int i = 0; i < images.Count; i++)
        {
            var alone = view.Encode(view.Preprocess([images[i]]), EncoderOutputs.Both);
            // [1, C, h, w] → rows [h·w, C] in row-major grid order, by hand.
            var grid = alone.Patches!.select(0, 0).contiguous().data<float>().ToArray();
            int rows = p.Grids[i].Rows, cols = p.Grids[i].Columns, cells = rows * cols;
            Assert.AreEqual(384L * cells, grid.LongLength);
            var batched = p.Of(i).contiguous().data<float>().ToArray();
            double maxDiff = 0;
            for (int cell = 0; cell < cells; cell++)
                for (int c = 0; c < 384; c++)
                    maxDiff = Math.Max(maxDiff, Math.Abs(batched[cell * 384 + c] - grid[c * cells + cell]));
            Assert.IsLessThanOrEqualTo(1e-5, maxDiff, $"image {i}: patches batched vs alone");
            var pooledDiff = (g[i] - alone.Global![0]).abs().max().item<float>();
            Assert.IsLessThanOrEqualTo(1e-5f, pooledDiff, $"image {i}: pooled batched vs alone");
        }
        // The two copies of image 0 (in different batches) agree, and the two cookies differ.
        Assert.IsLessThanOrEqualTo(1e-5f, (p.Of(0) - p.Of(3)).abs().max().item<float>());
        Assert.IsGreaterThan(1e-2f, (p.Of(0) - p.Of(2)).abs().max().item<float>());
    }

    [TestMethod]
    public void ResolutionView_BorrowsTheWeights()
    {
        var view = s_encoder.WithResolution(64);
        view.Dispose();
        using var scope = torch.NewDisposeScope();
        using var noGrad = torch.no_grad();
        var features = s_encoder.EncodeImage(torch.zeros(1, 3, 224, 224));
        Assert.IsTrue(features.isfinite().all().item<bool>());
        Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => s_encoder.WithResolution(31));
    }
}
