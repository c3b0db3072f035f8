using Fsac.MLNet.Synthesis;
using Fsac.MLNet.Visualisation;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.PixelFormats;

namespace Fsac.MLNet.Tests.Synthesis;

[TestClass]
public class AnomalyGridTests
{
    [TestMethod]
    public void LaysOutOriginalAnomaliesAndMasks()
    {
        using var normal = TestImages.Uniform(40, 20, new Rgb24(200, 10, 10));
        var synthesizer = new UniformNoiseSynthesizer(new UniformNoiseOptions { MinValue = 0, MaxValue = 0 });
        var anomalies = Enumerable.Range(0, 3).Select(i => synthesizer.Synthesize(normal, new Random(i))).ToList();
        try
        {
            using var grid = AnomalyGrid.Compose(normal, anomalies, tileSize: 80);
            // Tiles of 80x40, 4 columns, 2 rows, 4-pixel gaps.
            Assert.AreEqual(new Size(4 * 80 + 5 * AnomalyGrid.Gap, 2 * 40 + 3 * AnomalyGrid.Gap), grid.Size());
            Assert.AreEqual(new Rgb24(200, 10, 10), grid[AnomalyGrid.Gap + 40, AnomalyGrid.Gap + 20], "original, top left");
            for (int i = 0; i < 3; i++)
            {
                var mask = TestImages.Bytes(anomalies[i].Mask);
                int p = Array.IndexOf(mask, (byte)255);
                int x = p % 40 * 2 + 1, y = p / 40 * 2 + 1; // scaled by 2
                int left = AnomalyGrid.Gap + (i + 1) * (80 + AnomalyGrid.Gap);
                Assert.AreEqual(new Rgb24(0, 0, 0), grid[left + x, AnomalyGrid.Gap + y], $"anomaly {i}'s noise");
                Assert.AreEqual(new Rgb24(255, 255, 255), grid[left + x, 2 * AnomalyGrid.Gap + 40 + y], $"mask {i}");
            }
        }
        finally
        {
            foreach (var a in anomalies) a.Dispose();
        }
    }

    [TestMethod]
    public void RejectsAnomaliesOfAnotherSize()
    {
        using var normal = TestImages.Textured(40, 20);
        using var other = TestImages.Textured(41, 20);
        using var a = new GaussianNoiseSynthesizer().Synthesize(other, new Random(0));
        var ex = Assert.ThrowsExactly<ArgumentException>(() => AnomalyGrid.Compose(normal, [a]));
        StringAssert.Contains(ex.Message, "41x20");
    }
}
