using Fsac.MLNet.Synthesis;

namespace Fsac.MLNet.Tests.Synthesis;

[TestClass]
public class CutPasteSynthesizerTests
{
    [TestMethod]
    public void RectangleAreasAndAspectRatiosFollowTheOptions()
    {
        var synthesizer = new CutPasteSynthesizer();
        using var normal = TestImages.Textured(200, 150);
        var rng = new Random(13);
        var areas = new List<double>();
        var logAspects = new List<double>();
        for (int i = 0; i < 1500; i++)
        {
            using var a = synthesizer.Synthesize(normal, rng);
            var r = a.Regions.Single();
            Assert.AreEqual(r.Bounds.Size, r.SourceBounds!.Value.Size, "pasted as cut");
            areas.Add(r.Bounds.Width * r.Bounds.Height / 30_000.0);
            logAspects.Add(Math.Log((double)r.Bounds.Width / r.Bounds.Height));
        }
        // Area fraction uniform in [0.02, 0.15]; log aspect uniform in [ln 0.3, -ln 0.3]; up to rounding of the sides.
        Distributions.AssertCdf(areas, x => Math.Clamp((x - 0.02) / 0.13, 0, 1), [0.03, 0.05, 0.085, 0.1, 0.12, 0.14], 0.04, "area fraction");
        double l = -Math.Log(0.3);
        Distributions.AssertCdf(logAspects, t => Math.Clamp((t + l) / (2 * l), 0, 1), [-1, -0.5, 0, 0.5, 1], 0.04, "log aspect ratio");
    }

    [TestMethod]
    public void ScarSizesFollowTheOptionsAndRotationKeepsTheArea()
    {
        var synthesizer = new CutPasteSynthesizer(new CutPasteOptions { Mode = CutPasteMode.Scar, ColorJitter = 0 });
        Assert.AreEqual("cutpaste-scar", synthesizer.Name);
        using var normal = TestImages.Textured(256, 256);
        var rng = new Random(17);
        var widths = new List<double>();
        var lengths = new List<double>();
        int rotated = 0;
        for (int i = 0; i < 1000; i++)
        {
            using var a = synthesizer.Synthesize(normal, rng);
            var r = a.Regions.Single();
            var cut = r.SourceBounds!.Value;
            widths.Add(cut.Width);
            lengths.Add(cut.Height);
            if (r.Bounds.Width > cut.Width + 1) rotated++;
            int changed = TestImages.Bytes(a.Mask).Count(m => m != 0);
            Assert.IsLessThanOrEqualTo(cut.Width * cut.Height + cut.Width + cut.Height + 2, changed, $"a {cut.Width}x{cut.Height} scar changed {changed} pixels");
        }
        // Width = round(U(2, 16)), length = round(U(10, 25)) at 256 pixels.
        Distributions.AssertCdf(widths, k => Math.Clamp((k + 0.5 - 2) / 14, 0, 1), [1, 2, 5, 9, 12, 15, 16], 0.04, "scar width");
        Distributions.AssertCdf(lengths, k => Math.Clamp((k + 0.5 - 10) / 15, 0, 1), [9, 10, 14, 17, 20, 24, 25], 0.04, "scar length");
        Assert.IsGreaterThan(800, rotated, "angles uniform in [-45, 45] degrees: most scars are visibly rotated");
    }

    [TestMethod]
    public void WithoutJitterThePatchIsAnExactCopyOfTheCut()
    {
        var synthesizer = new CutPasteSynthesizer(new CutPasteOptions { ColorJitter = 0 });
        using var normal = TestImages.Textured(90, 70);
        var before = TestImages.Bytes(normal);
        for (int seed = 0; seed < 10; seed++)
        {
            using var a = synthesizer.Synthesize(normal, new Random(seed));
            var after = TestImages.Bytes(a.Image);
            var r = a.Regions.Single();
            var cut = r.SourceBounds!.Value;
            for (int y = 0; y < r.Bounds.Height; y++)
                for (int x = 0; x < r.Bounds.Width; x++)
                    for (int ch = 0; ch < 3; ch++)
                        Assert.AreEqual(before[3 * ((cut.Y + y) * 90 + cut.X + x) + ch], after[3 * ((r.Bounds.Y + y) * 90 + r.Bounds.X + x) + ch]);
        }
    }

    [TestMethod]
    public void JitterChangesBrightnessByAtMostTheConfiguredAmount()
    {
        var synthesizer = new CutPasteSynthesizer(new CutPasteOptions { ColorJitter = 0.1 });
        using var normal = TestImages.Textured(90, 70);
        var before = TestImages.Bytes(normal);
        int jittered = 0;
        for (int seed = 0; seed < 20; seed++)
        {
            using var a = synthesizer.Synthesize(normal, new Random(seed));
            var after = TestImages.Bytes(a.Image);
            var r = a.Regions.Single();
            var cut = r.SourceBounds!.Value;
            double sumBefore = 0, sumAfter = 0;
            for (int y = 0; y < r.Bounds.Height; y++)
                for (int x = 0; x < r.Bounds.Width; x++)
                    for (int ch = 0; ch < 3; ch++)
                    {
                        sumBefore += before[3 * ((cut.Y + y) * 90 + cut.X + x) + ch];
                        sumAfter += after[3 * ((r.Bounds.Y + y) * 90 + r.Bounds.X + x) + ch];
                    }
            double ratio = sumAfter / sumBefore;
            Assert.IsTrue(ratio is > 0.88 and < 1.12, $"seed {seed}: mean brightness ratio {ratio}");
            if (Math.Abs(ratio - 1) > 0.005) jittered++;
        }
        Assert.IsGreaterThan(10, jittered, "most patches are jittered");
    }

    [TestMethod]
    public void PastesStayOnTheForeground()
    {
        using var normal = TestImages.Textured(100, 80);
        using var foreground = TestImages.Ellipse(100, 80, 40, 40, 22, 25);
        var inside = TestImages.Bytes(foreground);
        foreach (var mode in new[] { CutPasteMode.Rectangle, CutPasteMode.Scar })
        {
            var synthesizer = new CutPasteSynthesizer(new CutPasteOptions { Mode = mode });
            for (int seed = 0; seed < 30; seed++)
            {
                using var a = synthesizer.Synthesize(normal, new Random(seed), new SynthesisContext([], foreground));
                var mask = TestImages.Bytes(a.Mask);
                for (int p = 0; p < mask.Length; p++)
                    if (mask[p] != 0) Assert.AreEqual(255, inside[p], $"{mode}, seed {seed}: pixel {p} changed off the object");
            }
        }
    }

    [TestMethod]
    public void InvalidOptionsNameTheOption()
    {
        (CutPasteOptions Options, string Name)[] cases =
        [
            (new CutPasteOptions { MinAreaFraction = 0 }, "MinAreaFraction"),
            (new CutPasteOptions { MinAreaFraction = 0.2, MaxAreaFraction = 0.1 }, "MaxAreaFraction"),
            (new CutPasteOptions { MinAspectRatio = 2 }, "MinAspectRatio"),
            (new CutPasteOptions { ScarWidth = (5, 4) }, "ScarWidth"),
            (new CutPasteOptions { ScarLength = (0, 4) }, "ScarLength"),
            (new CutPasteOptions { ScarReferenceSize = 0 }, "ScarReferenceSize"),
            (new CutPasteOptions { ColorJitter = 1 }, "ColorJitter"),
            (new CutPasteOptions { Mode = (CutPasteMode)7 }, "Mode"),
        ];
        foreach (var (options, name) in cases)
        {
            var ex = Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => new CutPasteSynthesizer(options));
            Assert.AreEqual(name, ex.ParamName);
        }
    }
}
