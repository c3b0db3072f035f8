using Fsac.MLNet.Encoders;
using Fsac.MLNet.Maps;
using SixLabors.ImageSharp;
using TorchSharp;

namespace Fsac.MLNet.Tests.Maps;

[TestClass]
public sealed class AnomalyMapBuilderTests
{
    [TestMethod]
    public void Place_OnesThroughACentreCrop_AreOneInsideTheCropRowsAndZeroOutside()
    {
        var layout = InputLayout.CentreCrop(576, 768, 224, 224);     // region rows [96, 672)
        var ones = Enumerable.Repeat(1f, 224 * 224).ToArray();
        var map = AnomalyMapBuilder.Place(ones, layout, 576, 768);
        Assert.HasCount(576 * 768, map);
        for (int y = 0; y < 768; y++)
        {
            float expected = y >= 96 && y < 672 ? 1f : 0f;
            for (int x = 0; x < 576; x++)
                Assert.AreEqual(expected, map[y * 576 + x], 1e-6f, $"pixel ({x}, {y})");
        }
    }

    [TestMethod]
    public void Place_OntoAReducedRaster_ScalesTheCropRows()
    {
        var layout = InputLayout.CentreCrop(576, 768, 224, 224);
        var ones = Enumerable.Repeat(1f, 224 * 224).ToArray();
        // 144x192 spans the 576x768 image, 4 image pixels a cell: cell y is inside when its centre 4(y + 0.5) is in [96, 672].
        var map = AnomalyMapBuilder.Place(ones, layout, 576, 768, 144, 192);
        Assert.HasCount(144 * 192, map);
        for (int y = 0; y < 192; y++)
        {
            float expected = y >= 24 && y <= 167 ? 1f : 0f;
            for (int x = 0; x < 144; x++)
                Assert.AreEqual(expected, map[y * 144 + x], 1e-6f, $"cell ({x}, {y})");
        }
    }

    [TestMethod]
    public void Place_IsBilinearSampling()
    {
        // An 8x6 input that shows a 16x12 image whole: the map f(x, y) = x + 10 y, sampled at (x + 0.5) / 2 − 0.5, clamped.
        var layout = new InputLayout(8, 6, new RectangleF(0, 0, 16, 12));
        var input = new float[8 * 6];
        for (int y = 0; y < 6; y++)
            for (int x = 0; x < 8; x++)
                input[y * 8 + x] = x + 10 * y;
        var map = AnomalyMapBuilder.Place(input, layout, 16, 12);
        for (int y = 0; y < 12; y++)
            for (int x = 0; x < 16; x++)
            {
                double sx = Math.Clamp((x + 0.5) / 2 - 0.5, 0, 7), sy = Math.Clamp((y + 0.5) / 2 - 0.5, 0, 5);
                Assert.AreEqual(sx + 10 * sy, map[y * 16 + x], 1e-4, $"pixel ({x}, {y})");
            }

        // Same size: the identity.
        var same = AnomalyMapBuilder.Place(input, new InputLayout(8, 6, new RectangleF(0, 0, 8, 6)), 8, 6);
        CollectionAssert.AreEqual(input, same);
        Assert.ThrowsExactly<ArgumentException>(() => AnomalyMapBuilder.Place(new float[5], layout, 16, 12));
    }

    [TestMethod]
    public void GaussianBlur_PreservesAConstant()
    {
        using var scope = torch.NewDisposeScope();
        foreach (var (h, w, sigma) in new[] { (20, 30, 2.0), (5, 7, 4.0), (64, 48, 4.0) })
        {
            var map = torch.full(1, 1, h, w, 3.5f);
            var blurred = AnomalyMapBuilder.GaussianBlur(map, sigma);
            CollectionAssert.AreEqual(new long[] { 1, 1, h, w }, blurred.shape, $"{h}x{w} σ {sigma}");
            var values = blurred.data<float>().ToArray();
            foreach (var v in values) Assert.AreEqual(3.5f, v, 1e-5f, $"{h}x{w} σ {sigma}");
        }
    }

    [TestMethod]
    [DataRow(1.0)]
    [DataRow(2.0)]
    [DataRow(2.7)]
    public void GaussianBlur_OfAnImpulse_IsTheSeparableGaussianAndKeepsItsSum(double sigma)
    {
        const int side = 61, c = 30;
        var impulse = new float[side * side];
        impulse[c * side + c] = 1f;
        using var scope = torch.NewDisposeScope();
        var blurred = AnomalyMapBuilder.GaussianBlur(torch.tensor(impulse, [1, 1, side, side]), sigma).data<float>().ToArray();

        // The normalised 1-D kernel, truncated at ⌊4σ + 0.5⌋, by hand in double.
        int radius = (int)Math.Floor(4 * sigma + 0.5);
        var g = new double[2 * radius + 1];
        for (int i = -radius; i <= radius; i++) g[i + radius] = Math.Exp(-i * i / (2 * sigma * sigma));
        double total = g.Sum();
        for (int i = 0; i < g.Length; i++) g[i] /= total;

        Assert.AreEqual(1.0, blurred.Sum(v => (double)v), 1e-4);
        for (int y = 0; y < side; y++)
            for (int x = 0; x < side; x++)
            {
                int dy = y - c, dx = x - c;
                double expected = Math.Abs(dy) <= radius && Math.Abs(dx) <= radius ? g[dy + radius] * g[dx + radius] : 0;
                Assert.AreEqual(expected, blurred[y * side + x], 1e-6, $"offset ({dx}, {dy})");
            }
        Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => AnomalyMapBuilder.GaussianBlur(torch.zeros(1, 1, 4, 4), 0));
    }

    [TestMethod]
    public void Build_HasTheImageSize_AndIsConstantInsideTheRegionForConstantScores()
    {
        var layout = InputLayout.CentreCrop(576, 768, 224, 224);
        var grid = new PatchGrid(28, 28, layout, 576, 768);
        var scores = Enumerable.Repeat(2f, 28 * 28).ToArray();
        var map = AnomalyMapBuilder.Build(scores, grid);
        Assert.HasCount(576 * 768, map);
        for (int y = 0; y < 768; y += 7)
            for (int x = 0; x < 576; x += 5)
                Assert.AreEqual(y >= 96 && y < 672 ? 2f : 0f, map[y * 576 + x], 1e-5f, $"pixel ({x}, {y})");

        var reduced = AnomalyMapBuilder.Build(scores, grid, 57, 76, sigma: 0);
        Assert.HasCount(57 * 76, reduced);
        Assert.ThrowsExactly<ArgumentException>(() => AnomalyMapBuilder.Build(new float[27 * 28], grid));
    }

    [TestMethod]
    public void Build_PeaksAtTheHotPatch()
    {
        // An 8x8 grid over a 64x64 input that shows a 128x128 image whole; patch (row 2, column 5) covers image
        // columns [80, 96) and rows [32, 48).
        var grid = new PatchGrid(8, 8, new InputLayout(64, 64, new RectangleF(0, 0, 128, 128)), 128, 128);
        var scores = new float[64];
        scores[2 * 8 + 5] = 1f;
        foreach (var sigma in new[] { 0.0, 4.0 })
        {
            var map = AnomalyMapBuilder.Build(scores, grid, sigma);
            Assert.HasCount(128 * 128, map);
            int best = Array.IndexOf(map, map.Max());
            int bx = best % 128, by = best / 128;
            Assert.IsTrue(bx >= 84 && bx <= 92 && by >= 36 && by <= 44, $"σ {sigma}: peak at ({bx}, {by})");
            Assert.IsTrue(map.All(v => v >= 0), "non-negative");
            Assert.AreEqual(0f, map[127 * 128 + 0], 1e-6f, "far corner");
        }
    }
}
