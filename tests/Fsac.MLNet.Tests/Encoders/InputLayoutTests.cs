using Fsac.MLNet.Encoders;

namespace Fsac.MLNet.Tests.Encoders;

[TestClass]
public sealed class InputLayoutTests
{
    private static void AssertRegion(InputLayout layout, double x, double y, double w, double h)
    {
        Assert.AreEqual(x, layout.Region.X, 1e-3, "X");
        Assert.AreEqual(y, layout.Region.Y, 1e-3, "Y");
        Assert.AreEqual(w, layout.Region.Width, 1e-3, "Width");
        Assert.AreEqual(h, layout.Region.Height, 1e-3, "Height");
    }

    [TestMethod]
    public void CentreCrop_OfAPortraitToASquare_KeepsTheMiddleSquare()
    {
        var layout = InputLayout.CentreCrop(576, 768, 224, 224);
        Assert.AreEqual(224, layout.Width);
        Assert.AreEqual(224, layout.Height);
        // The square of side 576 (the shorter side), (768 − 576) / 2 = 96 rows from the top.
        AssertRegion(layout, 0, 96, 576, 576);
    }

    [TestMethod]
    public void CentreCrop_OfALandscapeToASquare_KeepsTheMiddleColumns()
        => AssertRegion(InputLayout.CentreCrop(768, 576, 224, 224), 96, 0, 576, 576);

    [TestMethod]
    [DataRow(100, 100, 50, 25, 0, 25, 100, 50)]     // a 2:1 input from a square: full width, middle half of the rows
    [DataRow(100, 100, 25, 50, 25, 0, 50, 100)]     // a 1:2 input: full height, middle half of the columns
    [DataRow(300, 100, 90, 30, 0, 0, 300, 100)]     // same aspect: the whole image
    [DataRow(320, 200, 64, 64, 60, 0, 200, 200)]
    public void CentreCrop_Cases(int iw, int ih, int w, int h, double x, double y, double rw, double rh)
    {
        var layout = InputLayout.CentreCrop(iw, ih, w, h);
        Assert.AreEqual(w, layout.Width);
        Assert.AreEqual(h, layout.Height);
        AssertRegion(layout, x, y, rw, rh);
    }

    [TestMethod]
    // (image w, image h, shorter side, multiple) → input (w, h), by hand.
    [DataRow(576, 768, 320, 16, 320, 432)]          // 320·768/576 = 426.7 → 27·16 = 432
    [DataRow(768, 576, 320, 16, 432, 320)]
    [DataRow(300, 300, 224, 16, 224, 224)]
    [DataRow(576, 768, 224, 16, 224, 304)]          // 298.7 → 19·16 = 304
    [DataRow(640, 480, 448, 16, 592, 448)]          // 597.3 → 37·16 = 592
    [DataRow(1000, 100, 64, 16, 256, 64)]           // 640 capped at 4 × 64
    [DataRow(100, 1000, 64, 16, 64, 256)]
    [DataRow(101, 100, 32, 16, 32, 32)]             // 32.3 → 32
    public void AspectPreserving_Cases(int iw, int ih, int side, int multiple, int w, int h)
        => Assert.AreEqual((w, h), InputLayout.AspectPreserving(iw, ih, side, multiple));

    [TestMethod]
    public void AspectPreserving_LongerSideIsAMultipleAndNeverShorter()
    {
        var rng = new Random(3);
        for (int i = 0; i < 200; i++)
        {
            int iw = rng.Next(16, 3000), ih = rng.Next(16, 3000), side = 16 * rng.Next(2, 40);
            var (w, h) = InputLayout.AspectPreserving(iw, ih, side, 16);
            int shorter = Math.Min(w, h), longer = Math.Max(w, h);
            Assert.AreEqual(side, shorter, $"{iw}x{ih}");
            Assert.AreEqual(0, longer % 16, $"{iw}x{ih} → {w}x{h}");
            Assert.IsTrue(longer >= side && longer <= 4 * side, $"{iw}x{ih} → {w}x{h}");
            if (w != h) Assert.AreEqual(iw > ih, w > h, $"{iw}x{ih} → {w}x{h}: orientation kept");
            double exact = (double)side * Math.Max(iw, ih) / Math.Min(iw, ih);
            if (exact <= 4 * side) Assert.IsLessThanOrEqualTo(8.0, Math.Abs(longer - exact), $"{iw}x{ih} → {w}x{h}, exact {exact}");
        }
    }

    [TestMethod]
    public void InvalidSizesThrow()
    {
        Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => InputLayout.CentreCrop(0, 10, 5, 5));
        Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => InputLayout.CentreCrop(10, 0, 5, 5));
        Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => InputLayout.AspectPreserving(0, 10, 5, 16));
        Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => InputLayout.AspectPreserving(10, 10, 0, 16));
    }
}
