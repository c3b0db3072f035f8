using Fsac.MLNet.Visualisation;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.PixelFormats;

namespace Fsac.MLNet.Tests.Imaging;

[TestClass]
public class SaliencyOverlayTests
{
    private static Image<Rgb24> Grey(int w, int h) => new(w, h, new Rgb24(100, 100, 100));

    [TestMethod]
    public void FullOpacityShowsTheJetColourMap()
    {
        using var image = Grey(3, 2);
        float[] map = [0f, 1f, 2f, 2f, 2f, 2f];

        using var overlay = SaliencyOverlay.Render(image, map, alpha: 1f);

        Assert.AreEqual(new Rgb24(0, 0, 128), overlay[0, 0], "lowest value: dark blue");
        Assert.AreEqual(new Rgb24(128, 255, 128), overlay[1, 0], "middle value: green");
        Assert.AreEqual(new Rgb24(128, 0, 0), overlay[2, 0], "highest value: dark red");
        Assert.AreEqual(new Rgb24(100, 100, 100), image[0, 0], "the original is not modified");
    }

    [TestMethod]
    public void AlphaBlendsOverTheOriginal()
    {
        using var image = Grey(2, 1);
        float[] map = [0f, 1f];

        using var none = SaliencyOverlay.Render(image, map, alpha: 0f);
        using var half = SaliencyOverlay.Render(image, map, alpha: 0.5f);

        Assert.AreEqual(new Rgb24(100, 100, 100), none[1, 0]);
        Assert.AreEqual(new Rgb24(50, 50, 114), half[0, 0]);   // 0.5*100 + 0.5*(0, 0, 127.5)
    }

    [TestMethod]
    public void TheMapIsReadRowMajor()
    {
        using var image = Grey(3, 2);
        float[] map = [0f, 0f, 0f, 0f, 0f, 1f];   // only (x=2, y=1) is hot

        using var overlay = SaliencyOverlay.Render(image, map, alpha: 1f);

        Assert.AreEqual(new Rgb24(128, 0, 0), overlay[2, 1], "the highest value lands at x=2, y=1");
        Assert.AreEqual(new Rgb24(0, 0, 128), overlay[1, 0]);
    }

    [TestMethod]
    public void WritesAPngOfTheImageSize()
    {
        using var image = Grey(7, 5);
        var map = new float[5 * 7];
        map[2 * 7 + 3] = 1f;
        using var stream = new MemoryStream();

        SaliencyOverlay.WritePng(image, map, stream);

        stream.Position = 0;
        using var decoded = Image.Load<Rgb24>(stream);
        Assert.AreEqual(7, decoded.Width);
        Assert.AreEqual(5, decoded.Height);
    }

    [TestMethod]
    public void RejectsAMapOfAnotherSizeOrABadAlpha()
    {
        using var image = Grey(4, 3);
        Assert.ThrowsExactly<ArgumentException>(() => SaliencyOverlay.Render(image, new float[5]));
        Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => SaliencyOverlay.Render(image, new float[12], alpha: 1.5f));
    }
}
