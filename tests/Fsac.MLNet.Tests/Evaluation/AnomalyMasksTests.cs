using Fsac.MLNet.Evaluation.Datasets;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.PixelFormats;

namespace Fsac.MLNet.Tests.Evaluation;

[TestClass]
public class AnomalyMasksTests
{
    [TestMethod]
    public void ReadsAGreyscaleMaskAndResizesItWithNearestNeighbour()
    {
        var dir = Directory.CreateTempSubdirectory("fsac-mask").FullName;
        try
        {
            // 4×2: row 0 is 0 255 0 0, row 1 is 0 0 255 7 (dim but not black still counts).
            var path = Path.Combine(dir, "m.png");
            using (var image = Image.LoadPixelData<L8>(new byte[] { 0, 255, 0, 0, 0, 0, 255, 7 }, 4, 2)) image.SaveAsPng(path);

            CollectionAssert.AreEqual(new[] { false, true, false, false, false, false, true, true }, AnomalyMasks.Load(path, 4, 2));

            var doubled = AnomalyMasks.Load(path, 8, 4);
            Assert.AreEqual(32, doubled.Length);
            Assert.AreEqual(12, doubled.Count(d => d), "each defect pixel becomes a 2×2 block");
            Assert.IsTrue(doubled[0 * 8 + 2] && doubled[1 * 8 + 3] && doubled[3 * 8 + 7]);
            Assert.IsFalse(doubled[0 * 8 + 1] || doubled[2 * 8 + 3]);

            // 2×1 samples the source at the centres of its pixels: (x 1, y 1) and (x 3, y 1).
            CollectionAssert.AreEqual(new[] { false, true }, AnomalyMasks.Load(path, 2, 1));
        }
        finally { Directory.Delete(dir, true); }
    }

    [TestMethod]
    public void AnyNonBlackColourIsDefect()
    {
        var dir = Directory.CreateTempSubdirectory("fsac-mask").FullName;
        try
        {
            var path = Path.Combine(dir, "m.png");
            using (var image = new Image<Rgba32>(3, 1))
            {
                image[0, 0] = new Rgba32(0, 0, 0, 255);
                image[1, 0] = new Rgba32(0, 1, 0, 255);
                image[2, 0] = new Rgba32(35, 164, 54, 128);
                image.SaveAsPng(path);
            }
            CollectionAssert.AreEqual(new[] { false, true, true }, AnomalyMasks.Load(path, 3, 1));
        }
        finally { Directory.Delete(dir, true); }
    }

    [TestMethod]
    public void UndecodableAndMissingFilesAreReported()
    {
        var dir = Directory.CreateTempSubdirectory("fsac-mask").FullName;
        try
        {
            var path = Path.Combine(dir, "broken.png");
            File.WriteAllText(path, "not an image");
            var ex = Assert.ThrowsExactly<InvalidDataException>(() => AnomalyMasks.Load(path, 4, 4));
            StringAssert.Contains(ex.Message, path);
            Assert.ThrowsExactly<FileNotFoundException>(() => AnomalyMasks.Load(Path.Combine(dir, "none.png"), 4, 4));
            Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => AnomalyMasks.Load(path, 0, 4));
        }
        finally { Directory.Delete(dir, true); }
    }

    [TestMethod]
    public void ReadsTheCookiesPaletteMask()
    {
        // An 8-bit palette PNG: index 0 is transparent black, the others green (some of them fully transparent) or white.
        var path = SharedData.Path("data", "cookies", "masks", "anomaly-1.png");
        var info = Image.Identify(path);
        Assert.AreEqual(576, info.Width);
        Assert.AreEqual(768, info.Height);

        var mask = AnomalyMasks.Load(path, 576, 768);
        Assert.AreEqual(576 * 768, mask.Length);
        Assert.AreEqual(9278, mask.Count(m => m), "pixels whose palette entry is not black");
        Assert.IsFalse(mask[0], "the corner is background");
        Assert.IsTrue(AnomalyMasks.Load(path, 144, 192).Count(m => m) is > 9278 / 16 - 200 and < 9278 / 16 + 200);
    }
}
