using Fsac.MLNet.Synthesis;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.PixelFormats;

namespace Fsac.MLNet.Tests.Synthesis;

/// <summary>What every synthesizer promises: exact masks, determinism, untouched inputs, any size and pixel format.</summary>
[TestClass]
public class SynthesizerContractTests
{
    public static IEnumerable<object[]> Methods => AnomalySynthesizers.Names.Select(n => new object[] { n });

    private static void AssertValid(Image<Rgb24> normal, SyntheticAnomaly anomaly, string because)
    {
        Assert.AreEqual(normal.Size(), anomaly.Image.Size(), because);
        Assert.AreEqual(normal.Size(), anomaly.Mask.Size(), because);
        var expected = TestImages.Difference(normal, anomaly.Image);
        var mask = TestImages.Bytes(anomaly.Mask);
        int changed = 0;
        for (int i = 0; i < mask.Length; i++)
        {
            if (expected[i] != mask[i])
                Assert.Fail($"{because}: mask is {mask[i]} at ({i % normal.Width},{i / normal.Width}) where the pixel {(expected[i] != 0 ? "changed" : "did not change")}.");
            if (mask[i] != 0) changed++;
        }
        Assert.IsGreaterThan(0, changed, $"{because}: an anomaly must change something");
        Assert.IsGreaterThan(0, anomaly.Regions.Count, because);
        for (int i = 0; i < mask.Length; i++)
        {
            if (mask[i] == 0) continue;
            int x = i % normal.Width, y = i / normal.Width;
            Assert.IsTrue(anomaly.Regions.Any(r => r.Bounds.Contains(x, y)), $"{because}: changed pixel ({x},{y}) lies outside every placed region");
        }
    }

    [TestMethod]
    [DynamicData(nameof(Methods))]
    public void MaskMarksExactlyTheChangedPixels(string method)
    {
        var synthesizer = AnomalySynthesizers.Create(method);
        using var normal = TestImages.Textured(96, 80);
        using var other = TestImages.Textured(96, 80, seed: 99);
        for (int seed = 0; seed < 15; seed++)
        {
            var context = seed % 3 == 0 ? new SynthesisContext([other]) : null;
            using var anomaly = synthesizer.Synthesize(normal, new Random(seed), context);
            AssertValid(normal, anomaly, $"{method}, seed {seed}");
        }
    }

    [TestMethod]
    [DynamicData(nameof(Methods))]
    public void SameSeedGivesIdenticalBytesAndOtherSeedsDiffer(string method)
    {
        var synthesizer = AnomalySynthesizers.Create(method);
        using var normal = TestImages.Textured(120, 90);
        using var a = synthesizer.Synthesize(normal, new Random(5));
        using var b = AnomalySynthesizers.Create(method).Synthesize(normal, new Random(5));
        CollectionAssert.AreEqual(TestImages.Bytes(a.Image), TestImages.Bytes(b.Image));
        CollectionAssert.AreEqual(TestImages.Bytes(a.Mask), TestImages.Bytes(b.Mask));
        CollectionAssert.AreEqual(a.Regions.ToArray(), b.Regions.ToArray());

        using var c = synthesizer.Synthesize(normal, new Random(6));
        CollectionAssert.AreNotEqual(TestImages.Bytes(a.Image), TestImages.Bytes(c.Image));
    }

    [TestMethod]
    [DynamicData(nameof(Methods))]
    public void InputsAreNotModified(string method)
    {
        using var normal = TestImages.Textured(64, 64);
        using var source = TestImages.Textured(50, 70, seed: 3);
        using var foreground = TestImages.Ellipse(64, 64, 32, 32, 25, 20);
        var before = TestImages.Bytes(normal);
        var sourceBefore = TestImages.Bytes(source);
        var foregroundBefore = TestImages.Bytes(foreground);
        using var anomaly = AnomalySynthesizers.Create(method).Synthesize(normal, new Random(1), new SynthesisContext([source], foreground));
        CollectionAssert.AreEqual(before, TestImages.Bytes(normal));
        CollectionAssert.AreEqual(sourceBefore, TestImages.Bytes(source));
        CollectionAssert.AreEqual(foregroundBefore, TestImages.Bytes(foreground));
    }

    [TestMethod]
    [DynamicData(nameof(Methods))]
    public void SixteenBySixteenGivesValidAnomalies(string method)
    {
        var synthesizer = AnomalySynthesizers.Create(method);
        using var normal = TestImages.Textured(16, 16);
        for (int seed = 0; seed < 20; seed++)
        {
            using var anomaly = synthesizer.Synthesize(normal, new Random(seed));
            AssertValid(normal, anomaly, $"{method}, seed {seed}");
        }
    }

    [TestMethod]
    [DataRow("gaussian")]
    [DataRow("uniform")]
    public void NoiseOnOnePixelGivesAValidAnomaly(string method)
    {
        using var normal = TestImages.Uniform(1, 1, new Rgb24(10, 200, 30));
        using var anomaly = AnomalySynthesizers.Create(method).Synthesize(normal, new Random(2));
        AssertValid(normal, anomaly, method);
        Assert.AreEqual(new Rectangle(0, 0, 1, 1), anomaly.Regions[0].Bounds);
    }

    [TestMethod]
    public void NsaOnOnePixelIsAClearError()
    {
        using var normal = TestImages.Uniform(1, 1, new Rgb24(10, 200, 30));
        var ex = Assert.ThrowsExactly<ArgumentException>(() => new NsaSynthesizer().Synthesize(normal, new Random(2)));
        StringAssert.Contains(ex.Message, "3x3");
        StringAssert.Contains(ex.Message, "1x1");
    }

    [TestMethod]
    [DataRow("cutpaste")]
    [DataRow("cutpaste-scar")]
    public void CutPasteOnOnePixelIsValidOrAClearError(string method)
    {
        using var normal = TestImages.Uniform(1, 1, new Rgb24(10, 200, 30));
        for (int seed = 0; seed < 5; seed++)
        {
            try
            {
                using var anomaly = AnomalySynthesizers.Create(method).Synthesize(normal, new Random(seed));
                AssertValid(normal, anomaly, $"{method}, seed {seed}");
            }
            catch (InvalidOperationException e)
            {
                StringAssert.Contains(e.Message, "1x1");
            }
        }
    }

    [TestMethod]
    [DataRow("nsa")]
    [DataRow("cutpaste")]
    public void ImageThatCannotChangeIsAClearErrorNotAnUnchangedAnomaly(string method)
    {
        // A patch of a constant image blended or pasted into itself changes nothing, however often it is retried.
        var synthesizer = method == "cutpaste"
            ? new CutPasteSynthesizer(new CutPasteOptions { ColorJitter = 0 })
            : AnomalySynthesizers.Create(method);
        using var normal = TestImages.Uniform(20, 20, new Rgb24(90, 90, 90));
        var ex = Assert.ThrowsExactly<InvalidOperationException>(() => synthesizer.Synthesize(normal, new Random(0)));
        StringAssert.Contains(ex.Message, "attempts");
        StringAssert.Contains(ex.Message, "20x20");
    }

    [TestMethod]
    public void LargeImagesWork()
    {
        using var normal = TestImages.Textured(4000, 4000);
        foreach (var method in new[] { "gaussian", "uniform", "nsa", "cutpaste" })
        {
            using var anomaly = AnomalySynthesizers.Create(method).Synthesize(normal, new Random(3));
            AssertValid(normal, anomaly, method);
        }
    }

    [TestMethod]
    [DynamicData(nameof(Methods))]
    public void GreyscaleAndRgbaImagesAreConverted(string method)
    {
        var synthesizer = AnomalySynthesizers.Create(method);
        using var rgb = TestImages.Textured(40, 30);
        using var grey = rgb.CloneAs<L8>();
        using var rgba = rgb.CloneAs<Rgba32>();

        using var fromGrey = synthesizer.Synthesize((Image)grey, new Random(1));
        using var greyAsRgb = grey.CloneAs<Rgb24>();
        AssertValid(greyAsRgb, fromGrey, $"{method} on L8");

        using var fromRgba = synthesizer.Synthesize((Image)rgba, new Random(1));
        using var direct = synthesizer.Synthesize(rgb, new Random(1));
        CollectionAssert.AreEqual(TestImages.Bytes(direct.Image), TestImages.Bytes(fromRgba.Image), "RGBA with full alpha must give the RGB result");
    }

    [TestMethod]
    [DynamicData(nameof(Methods))]
    public void BadArgumentsAreClearErrors(string method)
    {
        var synthesizer = AnomalySynthesizers.Create(method);
        using var normal = TestImages.Textured(30, 30);
        Assert.ThrowsExactly<ArgumentNullException>(() => synthesizer.Synthesize((Image<Rgb24>)null!, new Random(0)));
        Assert.ThrowsExactly<ArgumentNullException>(() => synthesizer.Synthesize(normal, null!));
        using var wrongSize = TestImages.Ellipse(31, 30, 15, 15, 10, 10);
        var ex = Assert.ThrowsExactly<ArgumentException>(() => synthesizer.Synthesize(normal, new Random(0), new SynthesisContext([], wrongSize)));
        StringAssert.Contains(ex.Message, "31x30");
        using var empty = new Image<L8>(30, 30);
        ex = Assert.ThrowsExactly<ArgumentException>(() => synthesizer.Synthesize(normal, new Random(0), new SynthesisContext([], empty)));
        StringAssert.Contains(ex.Message, "no object pixel");
        ex = Assert.ThrowsExactly<ArgumentException>(() => synthesizer.Synthesize(normal, new Random(0), new SynthesisContext([null!])));
        StringAssert.Contains(ex.Message, "Sources[0]");
    }
}
