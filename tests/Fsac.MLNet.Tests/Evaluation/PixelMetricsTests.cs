using Fsac.MLNet.Metrics;

namespace Fsac.MLNet.Tests.Evaluation;

[TestClass]
public class PixelMetricsTests
{
    // Image 1 (4×3): region R1 is the 2×2 block at the top left (indices 0, 1, 4, 5), all scored 0.9.
    // Image 2 (3×2): region R2 is the pair at the top left (indices 0, 1), scored 0.5 and 0.1.
    // Normal pixels (12): 0.7, 0.6, 0.4 and nine at 0.1.
    private static readonly bool[] Mask1 = [true, true, false, false, true, true, false, false, false, false, false, false];
    private static readonly float[] Map1 = [0.9f, 0.9f, 0.7f, 0.6f, 0.9f, 0.9f, 0.1f, 0.1f, 0.1f, 0.1f, 0.1f, 0.1f];
    private static readonly bool[] Mask2 = [true, true, false, false, false, false];
    private static readonly float[] Map2 = [0.5f, 0.1f, 0.4f, 0.1f, 0.1f, 0.1f];

    [TestMethod]
    public void APerfectMapScoresOne()
    {
        float[][] maps = [[.. Mask1.Select(m => m ? 1f : 0f)], [.. Mask2.Select(m => m ? 0.8f : 0.2f)]];
        Assert.AreEqual(1.0, PixelMetrics.PixelAuroc(maps, [Mask1, Mask2]), 1e-12);
        Assert.AreEqual(1.0, PixelMetrics.Aupro(maps, [Mask1, Mask2], [4, 3]), 1e-12);
    }

    [TestMethod]
    public void AnInvertedMapScoresZero()
    {
        float[][] maps = [[.. Mask1.Select(m => m ? 0f : 1f)], [.. Mask2.Select(m => m ? 0.2f : 0.8f)]];
        Assert.AreEqual(0.0, PixelMetrics.PixelAuroc(maps, [Mask1, Mask2]), 1e-12);
        Assert.AreEqual(0.0, PixelMetrics.Aupro(maps, [Mask1, Mask2], [4, 3]), 1e-12);
    }

    [TestMethod]
    public void TiesAreNeverSeparated()
    {
        float[][] maps = [new float[12], new float[6]];
        Assert.AreEqual(0.5, PixelMetrics.PixelAuroc(maps, [Mask1, Mask2]), 1e-12);
        // One threshold: the curve is the straight line (0, 0)–(1, 1), whose area up to 0.3 is 0.045.
        Assert.AreEqual(0.15, PixelMetrics.Aupro(maps, [Mask1, Mask2], [4, 3]), 1e-12);
    }

    [TestMethod]
    public void PixelAurocMatchesTheHandValueAndTheImageMetric()
    {
        // Four R1 pixels beat all 12 normals, 0.5 beats 10 and 0.1 ties with 9: U = 48 + 10 + 4.5 over 6 × 12 pairs.
        Assert.AreEqual(62.5 / 72, PixelMetrics.PixelAuroc([Map1, Map2], [Mask1, Mask2]), 1e-12);

        var rng = new Random(3);
        float[][] maps = [.. Enumerable.Range(0, 3).Select(_ => Enumerable.Range(0, 50).Select(_ => rng.Next(8) / 8f).ToArray())];
        bool[][] masks = [.. maps.Select(m => m.Select(v => rng.NextDouble() < 0.2 + v / 2).ToArray())];
        double expected = ImageMetrics.Auroc([.. maps.SelectMany(m => m)], [.. masks.SelectMany(m => m)]);
        Assert.AreEqual(expected, PixelMetrics.PixelAuroc(maps, masks), 1e-12);
    }

    [TestMethod]
    public void AuproMatchesTheHandValue()
    {
        // Curve (FPR, PRO): (0, 0), (0, 1/2) at 0.9 (R1 found whole), (1/12, 1/2), (2/12, 1/2), (2/12, 3/4) at 0.5 (half
        // of R2), (3/12, 3/4), then (1, 1) at 0.1. Up to 0.3: 2/12·1/2 + 1/12·3/4 + the trapezoid from (1/4, 3/4) to
        // (0.3, 23/30) = 200/2400 + 150/2400 + 91/2400 = 441/2400; divided by 0.3: 441/720.
        Assert.AreEqual(441.0 / 720, PixelMetrics.Aupro([Map1, Map2], [Mask1, Mask2], [4, 3]), 1e-9);
        // Up to FPR 1 the last segment is the trapezoid from (1/4, 3/4) to (1, 1).
        Assert.AreEqual(350.0 / 2400 + 0.75 * 0.875, PixelMetrics.Aupro([Map1, Map2], [Mask1, Mask2], [4, 3], maxFpr: 1), 1e-9);
    }

    [TestMethod]
    public void DefectFreeImagesAddNormalPixels()
    {
        // A third image with one normal pixel at 0.95: 13 normal pixels and the curve starts (1/13, 0), (1/13, 1/2),
        // (3/13, 1/2), (3/13, 3/4), (4/13, 3/4): area 1/13 + 3/4·(0.3 − 3/13) = 67/520; divided by 0.3: 67/156.
        Assert.AreEqual(67.0 / 156, PixelMetrics.Aupro([Map1, Map2, [0.95f]], [Mask1, Mask2, [false]], [4, 3, 1]), 1e-9);
    }

    [TestMethod]
    public void RegionsAreEightConnected()
    {
        // 4×2 mask: (0,0) and (1,1) touch diagonally (one region of 2), (0,3) is a region of its own. Only (0,0) scores
        // high, so the PRO at FPR 0 is (1/2 + 0)/2 = 1/4 (it would be 1/3 with three 4-connected regions).
        bool[] mask = [true, false, false, true, false, true, false, false];
        float[] map = [0.9f, 0.5f, 0.5f, 0.1f, 0.5f, 0.1f, 0.5f, 0.5f];
        Assert.AreEqual(0.25, PixelMetrics.Aupro([map], [mask], [4], maxFpr: 1), 1e-12);
        // Read as 2 wide: rows [T,F], [F,T], [F,T], [F,F] hold one region of 3, so the PRO at FPR 0 is 1/3.
        Assert.AreEqual(1.0 / 3, PixelMetrics.Aupro([map], [mask], [2], maxFpr: 1), 1e-12);
    }

    [TestMethod]
    public void BadInputsAreReported()
    {
        var ex = Assert.ThrowsExactly<ArgumentException>(() => PixelMetrics.PixelAuroc([Map1], [Mask2]));
        StringAssert.Contains(ex.Message, "12 pixels but the mask 6");
        Assert.ThrowsExactly<ArgumentException>(() => PixelMetrics.PixelAuroc([Map1, Map2], [Mask1]));
        ex = Assert.ThrowsExactly<ArgumentException>(() => PixelMetrics.PixelAuroc([[float.NaN, 1f]], [[true, false]]));
        StringAssert.Contains(ex.Message, "NaN");
        ex = Assert.ThrowsExactly<ArgumentException>(() => PixelMetrics.PixelAuroc([[0f, 1f]], [[false, false]]));
        StringAssert.Contains(ex.Message, "defect pixel");
        ex = Assert.ThrowsExactly<ArgumentException>(() => PixelMetrics.PixelAuroc([[0f, 1f]], [[true, true]]));
        StringAssert.Contains(ex.Message, "normal pixel");

        ex = Assert.ThrowsExactly<ArgumentException>(() => PixelMetrics.Aupro([[0f, 1f]], [[false, false]], [2]));
        StringAssert.Contains(ex.Message, "region");
        ex = Assert.ThrowsExactly<ArgumentException>(() => PixelMetrics.Aupro([[0f, 1f]], [[true, true]], [2]));
        StringAssert.Contains(ex.Message, "normal pixel");
        ex = Assert.ThrowsExactly<ArgumentException>(() => PixelMetrics.Aupro([Map1], [Mask1], [5]));
        StringAssert.Contains(ex.Message, "multiple of its width 5");
        Assert.ThrowsExactly<ArgumentException>(() => PixelMetrics.Aupro([Map1], [Mask1], [4, 3]));
        Assert.ThrowsExactly<ArgumentException>(() => PixelMetrics.Aupro([[float.NaN, 1f]], [[true, false]], [2]));
        Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => PixelMetrics.Aupro([Map1], [Mask1], [4], maxFpr: 0));
    }
}
