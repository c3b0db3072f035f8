using Fsac.MLNet.Imaging;
using Fsac.MLNet.Synthesis;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.PixelFormats;

namespace Fsac.MLNet.Tests.Synthesis;

[TestClass]
public class ForegroundEstimatorTests
{
    /// <summary>
    /// A shaded grey background (darker to the right, a bright strip along the top edge) with an orange textured
    /// ellipse that has dark "chocolate chips" as dark as the background.
    /// </summary>
    private static Image<Rgb24> CookieLike(int w, int h, out byte[] truth)
    {
        using var ellipse = TestImages.Ellipse(w, h, w * 0.45, h * 0.55, w * 0.28, h * 0.3);
        truth = TestImages.Bytes(ellipse);
        var data = new byte[3 * w * h];
        var rng = new Random(1);
        for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++)
            {
                int i = y * w + x;
                byte r, g, b;
                if (truth[i] != 0)
                {
                    bool chip = (x / 9 + y / 7) % 11 == 0;
                    int n = rng.Next(-15, 16);
                    (r, g, b) = chip ? ((byte)60, (byte)40, (byte)30) : ((byte)(215 + n / 2), (byte)(160 + n), (byte)(95 + n));
                }
                else
                {
                    int shade = 90 - 40 * x / w + rng.Next(-6, 7);
                    if (y < h / 40) shade = 200;
                    (r, g, b) = ((byte)shade, (byte)shade, (byte)(shade + 5));
                }
                data[3 * i] = r;
                data[3 * i + 1] = g;
                data[3 * i + 2] = b;
            }
        return Image.LoadPixelData<Rgb24>(data, w, h);
    }

    [TestMethod]
    public void FindsAnObjectOnAShadedBackground()
    {
        using var image = CookieLike(240, 200, out var truth);
        using var mask = ForegroundEstimator.Estimate(image);
        var found = TestImages.Bytes(mask);
        int both = 0, either = 0;
        for (int i = 0; i < found.Length; i++)
        {
            Assert.IsTrue(found[i] is 0 or 255, "binary mask");
            if (found[i] != 0 && truth[i] != 0) both++;
            if (found[i] != 0 || truth[i] != 0) either++;
        }
        Assert.IsGreaterThan(0.95, (double)both / either, $"intersection over union {(double)both / either:F3}");
    }

    [TestMethod]
    public void UniformImageIsAllObject()
    {
        using var image = TestImages.Uniform(50, 40, new Rgb24(120, 130, 140));
        using var mask = ForegroundEstimator.Estimate(image);
        Assert.IsTrue(TestImages.Bytes(mask).All(v => v == 255), "nothing stands out: the whole image is the object, as for a texture");
    }

    [TestMethod]
    public void FindsTheCookieInARealPhoto()
    {
        using var image = ImageLoader.Default.Load(SharedData.Path("data", "cookies", "normal", "normal-1.jpg"));
        using var mask = ForegroundEstimator.Estimate(image);
        var m = TestImages.Bytes(mask);
        int w = image.Width, h = image.Height;
        double fraction = m.Count(v => v != 0) / (double)m.Length;
        Assert.IsTrue(fraction is > 0.15 and < 0.6, $"object fraction {fraction:F2}");
        Assert.AreEqual(255, m[h / 2 * w + w / 2], "image centre is cookie");
        foreach (var (x, y) in new[] { (5, 5), (w - 6, 5), (5, h - 6), (w - 6, h - 6), (w - 6, h / 4) })
            Assert.AreEqual(0, m[y * w + x], $"({x},{y}) is background");
    }

    [TestMethod]
    public void EstimatedMaskKeepsAnomaliesOnTheObject()
    {
        using var image = CookieLike(160, 120, out _);
        using var mask = ForegroundEstimator.Estimate(image);
        var inside = TestImages.Bytes(mask);
        using var a = new GaussianNoiseSynthesizer().Synthesize(image, new Random(2), new SynthesisContext([], mask));
        var changed = TestImages.Bytes(a.Mask);
        for (int i = 0; i < changed.Length; i++)
            if (changed[i] != 0) Assert.AreEqual(255, inside[i], $"pixel {i} changed off the object");
    }

    [TestMethod]
    public void FixedThresholdAndInvalidOptions()
    {
        using var image = CookieLike(120, 100, out _);
        using var everything = ForegroundEstimator.Estimate(image, new ForegroundOptions { Threshold = 0, MorphologyRadiusFraction = 0 });
        Assert.IsGreaterThan(0.9, TestImages.Bytes(everything).Count(v => v != 0) / 12_000.0, "threshold 0: every pixel not exactly a background colour is object");
        var ex = Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => ForegroundEstimator.Estimate(image, new ForegroundOptions { Threshold = -1 }));
        Assert.AreEqual("Threshold", ex.ParamName);
        ex = Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => ForegroundEstimator.Estimate(image, new ForegroundOptions { BorderFraction = 0.7 }));
        Assert.AreEqual("BorderFraction", ex.ParamName);
    }
}
