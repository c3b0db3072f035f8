using Fsac.MLNet.Synthesis;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.PixelFormats;

namespace Fsac.MLNet.Tests.Synthesis;

[TestClass]
public class NsaSynthesizerTests
{
    /// <summary>CDF of 0.03 + Gamma(2, 0.05) truncated to [0.03, 0.4]; Gamma(2)'s CDF is 1 - e^-t (1 + t).</summary>
    private static double SizeFractionCdf(double x)
    {
        static double Gamma2(double t) => t <= 0 ? 0 : 1 - Math.Exp(-t) * (1 + t);
        return Math.Clamp(Gamma2((x - 0.03) / 0.05) / Gamma2((0.4 - 0.03) / 0.05), 0, 1);
    }

    [TestMethod]
    public void PatchCountsSizesAndResizeFactorsFollowTheOptions()
    {
        const int size = 200;
        var synthesizer = new NsaSynthesizer();
        using var normal = TestImages.Textured(size, size);
        var rng = new Random(21);
        var counts = new List<int>();
        var sides = new List<double>();
        var factors = new List<double>();
        for (int i = 0; i < 1200; i++)
        {
            using var a = synthesizer.Synthesize(normal, rng);
            counts.Add(a.Regions.Count);
            foreach (var r in a.Regions)
            {
                var b = r.Bounds;
                Assert.IsTrue(b.Left >= 1 && b.Top >= 1 && b.Right <= size - 1 && b.Bottom <= size - 1, $"{b} must keep a one-pixel border");
                Assert.AreEqual(-1, r.SourceIndex, "no sources given: patches come from the image itself");
                var cut = r.SourceBounds!.Value;
                Assert.IsTrue(cut.Left >= 0 && cut.Top >= 0 && cut.Right <= size && cut.Bottom <= size, $"cut {cut} inside the source");
                sides.Add(b.Width);
                sides.Add(b.Height);
                if (b.Width + b.Height >= 60) factors.Add((double)(b.Width + b.Height) / (cut.Width + cut.Height));
            }
        }
        Distributions.AssertUniformCounts(counts, 1, 2, "patch count");
        // Side = round(f * 200), f the truncated shifted Gamma: P(side <= k) = F((k + 0.5) / 200).
        Distributions.AssertCdf(sides, k => SizeFractionCdf((k + 0.5) / size), [5, 6, 10, 15, 20, 26, 30, 40, 50, 60, 79, 80], 0.025, "patch side");
        Assert.IsTrue(sides.All(s => s >= 6 && s <= 80), "sides within [0.03, 0.4] of the image");
        // Resize factor uniform in [0.5, 2], up to the rounding of the cut size (at most 1/30 here).
        Assert.IsTrue(factors.All(f => f >= 0.5 * 0.96 && f <= 2 * 1.04), "resize factors within [0.5, 2]");
        Distributions.AssertCdf(factors, f => Math.Clamp((f - 0.5) / 1.5, 0, 1), [0.75, 1.0, 1.25, 1.5, 1.75], 0.05, "resize factor");
    }

    [TestMethod]
    public void PatchIsThePoissonBlendOfItsSourceIntoTheTarget()
    {
        var synthesizer = new NsaSynthesizer(new NsaOptions { MaxPatches = 1, MinResize = 1, MaxResize = 1 });
        using var normal = TestImages.Textured(120, 100);
        using var source = TestImages.Textured(90, 80, seed: 5);
        var before = TestImages.Bytes(normal);
        var src = TestImages.Bytes(source);
        for (int seed = 0; seed < 5; seed++)
        {
            using var a = synthesizer.Synthesize(normal, new Random(seed), new SynthesisContext([source]));
            var region = a.Regions.Single();
            Assert.AreEqual(0, region.SourceIndex);
            var (b, cut) = (region.Bounds, region.SourceBounds!.Value);
            Assert.AreEqual(b.Size, cut.Size, "resize factor 1: the cut has the patch's size");
            int pw = b.Width + 2, ph = b.Height + 2;
            var after = TestImages.Bytes(a.Image);
            for (int ch = 0; ch < 3; ch++)
            {
                var target = new float[pw * ph];
                var guide = new float[pw * ph];
                for (int y = 0; y < ph; y++)
                    for (int x = 0; x < pw; x++)
                    {
                        target[y * pw + x] = before[3 * ((b.Y - 1 + y) * 120 + b.X - 1 + x) + ch];
                        int sx = Math.Clamp(cut.X - 1 + x, 0, 89), sy = Math.Clamp(cut.Y - 1 + y, 0, 79);
                        guide[y * pw + x] = src[3 * (sy * 90 + sx) + ch];
                    }
                var blended = PoissonBlending.Blend(target, guide, pw, ph);
                for (int y = 0; y < ph; y++)
                    for (int x = 0; x < pw; x++)
                    {
                        var expected = (byte)Math.Clamp(MathF.Round(blended[y * pw + x]), 0, 255);
                        Assert.AreEqual(expected, after[3 * ((b.Y - 1 + y) * 120 + b.X - 1 + x) + ch], $"seed {seed}, channel {ch}, patch pixel ({x},{y})");
                    }
            }
        }
    }

    [TestMethod]
    public void PatchesComeFromTheGivenSources()
    {
        using var normal = TestImages.Textured(80, 80);
        using var s0 = TestImages.Textured(60, 50, seed: 1);
        using var s1 = TestImages.Textured(100, 90, seed: 2);
        var used = new HashSet<int>();
        var rng = new Random(4);
        for (int i = 0; i < 40; i++)
        {
            using var a = new NsaSynthesizer().Synthesize(normal, rng, new SynthesisContext([s0, s1]));
            foreach (var r in a.Regions)
            {
                used.Add(r.SourceIndex);
                var (w, h) = r.SourceIndex == 0 ? (60, 50) : (100, 90);
                var cut = r.SourceBounds!.Value;
                Assert.IsTrue(cut.Right <= w && cut.Bottom <= h, $"cut {cut} inside source {r.SourceIndex}");
            }
        }
        CollectionAssert.AreEquivalent(new[] { 0, 1 }, used.ToArray());
    }

    [TestMethod]
    public void PatchesOverlapTheObjectByAtLeastAQuarter()
    {
        using var normal = TestImages.Textured(160, 120);
        using var foreground = TestImages.Ellipse(160, 120, 100, 70, 35, 30);
        var inside = TestImages.Bytes(foreground);
        double Fraction(Rectangle r) =>
            (double)Enumerable.Range(r.Top, r.Height).Sum(y => Enumerable.Range(r.Left, r.Width).Count(x => inside[y * 160 + x] != 0)) / (r.Width * r.Height);
        var rng = new Random(9);
        for (int i = 0; i < 60; i++)
        {
            using var a = new NsaSynthesizer().Synthesize(normal, rng, new SynthesisContext([], foreground));
            foreach (var r in a.Regions)
            {
                Assert.IsGreaterThanOrEqualTo(0.25, Fraction(r.Bounds), $"patch {r.Bounds}");
                Assert.IsGreaterThanOrEqualTo(0.25, Fraction(r.SourceBounds!.Value), $"cut {r.SourceBounds}");
            }
        }
    }

    [TestMethod]
    public void ObjectTooSmallForAnyPatchIsAClearError()
    {
        // One object pixel cannot be a quarter of any patch of at least 0.03 x 0.03 of a 200x200 image (6x6 pixels).
        using var normal = TestImages.Textured(200, 200);
        var mask = new byte[200 * 200];
        mask[100 * 200 + 100] = 255;
        using var foreground = Image.LoadPixelData<L8>(mask, 200, 200);
        var ex = Assert.ThrowsExactly<InvalidOperationException>(() => new NsaSynthesizer().Synthesize(normal, new Random(0), new SynthesisContext([], foreground)));
        StringAssert.Contains(ex.Message, "foreground");
    }

    [TestMethod]
    public void InvalidOptionsNameTheOption()
    {
        (NsaOptions Options, string Name)[] cases =
        [
            (new NsaOptions { MaxPatches = 0 }, "MaxPatches"),
            (new NsaOptions { MinSizeFraction = 0.2, MaxSizeFraction = 0.2 }, "MaxSizeFraction"),
            (new NsaOptions { GammaShape = 0 }, "GammaShape"),
            (new NsaOptions { GammaLocation = 0.5 }, "GammaLocation"),
            (new NsaOptions { MinResize = 0 }, "MinResize"),
            (new NsaOptions { MinResize = 2, MaxResize = 1 }, "MaxResize"),
            (new NsaOptions { MinForegroundOverlap = 1.5 }, "MinForegroundOverlap"),
        ];
        foreach (var (options, name) in cases)
        {
            var ex = Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => new NsaSynthesizer(options));
            Assert.AreEqual(name, ex.ParamName);
        }
    }
}
