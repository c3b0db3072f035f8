using Fsac.MLNet.Imaging;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.PixelFormats;

namespace Fsac.MLNet.Tests.Imaging;

[TestClass]
public class NormalAugmentationsTests
{
    [TestMethod]
    public void MakesFourCornerCropsAndTwoBrightnessVariants()
    {
        using var image = new Image<Rgb24>(40, 20);
        image[0, 0] = new Rgb24(200, 0, 0);
        image[39, 19] = new Rgb24(0, 0, 200);
        image[20, 10] = new Rgb24(100, 100, 100);

        var variants = NormalAugmentations.Create(image);
        try
        {
            Assert.HasCount(6, variants);
            foreach (var crop in variants.Take(4))
            {
                Assert.AreEqual(36, crop.Width);
                Assert.AreEqual(18, crop.Height);
            }
            Assert.AreEqual(new Rgb24(200, 0, 0), variants[0][0, 0], "top-left crop keeps the top-left corner");
            Assert.AreEqual(new Rgb24(0, 0, 200), variants[3][35, 17], "bottom-right crop keeps the bottom-right corner");
            Assert.IsLessThan(100, (int)variants[4][20, 10].R, "darker");
            Assert.IsGreaterThan(100, (int)variants[5][20, 10].R, "brighter");
            Assert.AreEqual(new Rgb24(100, 100, 100), image[20, 10], "the input is not modified");
        }
        finally
        {
            foreach (var v in variants) v.Dispose();
        }
    }

    [TestMethod]
    [DataRow(4, 12, new[] { 3, 3, 3, 3 })]
    [DataRow(4, 13, new[] { 4, 3, 3, 3 })]
    [DataRow(4, 2, new[] { 1, 1, 0, 0 })]
    [DataRow(2, 12, new[] { 6, 6 })]
    [DataRow(1, 12, new[] { 6 })]
    [DataRow(3, 40, new[] { 6, 6, 6 })]
    public void SpreadsTheTotalOverTheImagesTakingTheKindsInTurn(int images, int total, int[] shares)
    {
        // Each image has its own size, so every variant shows which image it came from.
        var sources = Enumerable.Range(0, images).Select(i => Marked(40 + 10 * i, 20)).ToList();
        var spread = NormalAugmentations.Spread(sources, total);
        try
        {
            Assert.HasCount(shares.Sum(), spread);
            int at = 0, kind = 0;
            for (int i = 0; i < images; i++)
            {
                var all = NormalAugmentations.Create(sources[i]);
                try
                {
                    for (int j = 0; j < shares[i]; j++, at++, kind++)
                        Assert.IsTrue(SamePixels(all[kind % 6], spread[at]), $"variant {at} is kind {kind % 6} of image {i}");
                }
                finally
                {
                    foreach (var v in all) v.Dispose();
                }
            }
        }
        finally
        {
            foreach (var v in spread) v.Dispose();
            foreach (var s in sources) s.Dispose();
        }
    }

    [TestMethod]
    public void SpreadRejectsATotalBelowOne()
    {
        using var image = new Image<Rgb24>(8, 8);
        Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => NormalAugmentations.Spread([image], 0));
    }

    private static Image<Rgb24> Marked(int width, int height)
    {
        var image = new Image<Rgb24>(width, height);
        for (int y = 0; y < height; y++)
            for (int x = 0; x < width; x++)
                image[x, y] = new Rgb24((byte)(3 * x), (byte)(7 * y), (byte)(x + y));
        return image;
    }

    private static bool SamePixels(Image<Rgb24> a, Image<Rgb24> b)
    {
        if (a.Width != b.Width || a.Height != b.Height) return false;
        for (int y = 0; y < a.Height; y++)
            for (int x = 0; x < a.Width; x++)
                if (a[x, y] != b[x, y]) return false;
        return true;
    }
}
