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
}
