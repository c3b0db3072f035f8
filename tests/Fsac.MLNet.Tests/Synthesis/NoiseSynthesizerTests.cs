using Fsac.MLNet.Synthesis;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.PixelFormats;

namespace Fsac.MLNet.Tests.Synthesis;

[TestClass]
public class NoiseSynthesizerTests
{
    [TestMethod]
    public void GaussianRegionCountsAndSidesFollowTheOptions()
    {
        var synthesizer = new GaussianNoiseSynthesizer();
        using var normal = TestImages.Textured(200, 160);
        var rng = new Random(11);
        var counts = new List<int>();
        var sides = new List<double>();
        for (int i = 0; i < 1500; i++)
        {
            using var a = synthesizer.Synthesize(normal, rng);
            counts.Add(a.Regions.Count);
            foreach (var r in a.Regions)
            {
                Assert.AreEqual(r.Bounds.Width, r.Bounds.Height, "regions are squares");
                Assert.IsTrue(r.Bounds.Left >= 0 && r.Bounds.Top >= 0 && r.Bounds.Right <= 200 && r.Bounds.Bottom <= 160, "inside the image");
                sides.Add(r.Bounds.Width);
            }
        }
        Distributions.AssertUniformCounts(counts, 1, 4, "region count");
        // Side = round(U(0.05, 0.2) * 160) = round(U(8, 32)): P(side <= s) = (s + 0.5 - 8) / 24.
        Distributions.AssertCdf(sides, s => Math.Clamp((s + 0.5 - 8) / 24, 0, 1), [7, 8, 12, 16, 20, 24, 28, 31, 32], 0.03, "square side");
    }

    [TestMethod]
    public void GaussianValuesHaveTheConfiguredMeanAndDeviation()
    {
        var synthesizer = new GaussianNoiseSynthesizer(new GaussianNoiseOptions { Mean = 100, StandardDeviation = 20, Colour = NoiseColour.Colour });
        using var black = TestImages.Uniform(120, 120, new Rgb24(0, 0, 0));
        var rng = new Random(3);
        var values = new List<double>();
        for (int i = 0; i < 20; i++)
        {
            using var a = synthesizer.Synthesize(black, rng);
            var mask = TestImages.Bytes(a.Mask);
            var pixels = TestImages.Bytes(a.Image);
            for (int p = 0; p < mask.Length; p++)
                if (mask[p] != 0) values.AddRange([pixels[3 * p], pixels[3 * p + 1], pixels[3 * p + 2]]);
        }
        double mean = values.Average(), sd = Math.Sqrt(values.Average(v => (v - mean) * (v - mean)));
        Assert.IsGreaterThan(10_000, values.Count);
        Assert.AreEqual(100, mean, 0.5);
        Assert.AreEqual(Math.Sqrt(20 * 20 + 1.0 / 12), sd, 0.5); // rounding to integers adds a variance of 1/12
        // A value is round(N(100, 20)), so P(value <= v) = Phi((v + 0.5 - 100) / 20).
        Distributions.AssertCdf(values, v => Distributions.NormalCdf((v + 0.5 - 100) / 20), [60, 80, 90, 100, 110, 120, 140], 0.01, "Gaussian values");
    }

    [TestMethod]
    public void UniformRectangleCountsAndHalfSizesFollowTheOptions()
    {
        var synthesizer = new UniformNoiseSynthesizer();
        using var normal = TestImages.Textured(400, 200);
        var rng = new Random(5);
        var counts = new List<int>();
        var widths = new List<double>();
        var heights = new List<double>();
        for (int i = 0; i < 1500; i++)
        {
            using var a = synthesizer.Synthesize(normal, rng);
            counts.Add(a.Regions.Count);
            widths.AddRange(a.Regions.Select(r => (double)r.Bounds.Width));
            heights.AddRange(a.Regions.Select(r => (double)r.Bounds.Height));
        }
        Distributions.AssertUniformCounts(counts, 1, 4, "rectangle count");
        // Width = round(2 * U(W/40, W/10)) = round(U(20, 80)); height = round(U(10, 40)).
        Distributions.AssertCdf(widths, w => Math.Clamp((w + 0.5 - 20) / 60, 0, 1), [19, 20, 30, 40, 50, 60, 70, 79, 80], 0.03, "width");
        Distributions.AssertCdf(heights, h => Math.Clamp((h + 0.5 - 10) / 30, 0, 1), [9, 10, 15, 20, 25, 30, 35, 39, 40], 0.03, "height");
    }

    [TestMethod]
    public void UniformValuesCoverTheConfiguredRangeEvenly()
    {
        var synthesizer = new UniformNoiseSynthesizer(new UniformNoiseOptions { MinValue = 50, MaxValue = 59, Colour = NoiseColour.Colour });
        using var black = TestImages.Uniform(100, 100, new Rgb24(0, 0, 0));
        using var a = synthesizer.Synthesize(black, new Random(8));
        var mask = TestImages.Bytes(a.Mask);
        var pixels = TestImages.Bytes(a.Image);
        var values = new List<int>();
        for (int p = 0; p < mask.Length; p++)
            if (mask[p] != 0) values.AddRange([pixels[3 * p], pixels[3 * p + 1], pixels[3 * p + 2]]);
        Assert.IsGreaterThan(300, values.Count);
        Distributions.AssertUniformCounts(values, 50, 59, "noise value");
    }

    [TestMethod]
    [DataRow("gaussian")]
    [DataRow("uniform")]
    public void NoiseIsGreyOnGreyImagesAndColouredOnColourImages(string method)
    {
        static (int Changed, int Coloured) Count(SyntheticAnomaly a)
        {
            var mask = TestImages.Bytes(a.Mask);
            var pixels = TestImages.Bytes(a.Image);
            int changed = 0, coloured = 0;
            for (int p = 0; p < mask.Length; p++)
            {
                if (mask[p] == 0) continue;
                changed++;
                if (pixels[3 * p] != pixels[3 * p + 1] || pixels[3 * p] != pixels[3 * p + 2]) coloured++;
            }
            return (changed, coloured);
        }

        var auto = AnomalySynthesizers.Create(method);
        using var colour = TestImages.Textured(80, 60);
        using var grey = colour.CloneAs<L8>().CloneAs<Rgb24>();
        using (var a = auto.Synthesize(grey, new Random(1)))
        {
            var (changed, coloured) = Count(a);
            Assert.IsGreaterThan(0, changed);
            Assert.AreEqual(0, coloured, "grey image: grey noise");
        }
        using (var a = auto.Synthesize(colour, new Random(1)))
        {
            var (changed, coloured) = Count(a);
            Assert.IsGreaterThan(changed * 0.9, coloured, "colour image: coloured noise");
        }
        IAnomalySynthesizer forcedGrey = method == "gaussian"
            ? new GaussianNoiseSynthesizer(new GaussianNoiseOptions { Colour = NoiseColour.Grey })
            : new UniformNoiseSynthesizer(new UniformNoiseOptions { Colour = NoiseColour.Grey });
        using (var a = forcedGrey.Synthesize(colour, new Random(1)))
            Assert.AreEqual(0, Count(a).Coloured, "forced grey noise on a colour image");
    }

    [TestMethod]
    public void NoiseStaysOnTheForeground()
    {
        using var normal = TestImages.Textured(100, 80);
        using var foreground = TestImages.Ellipse(100, 80, 60, 40, 25, 18);
        var inside = TestImages.Bytes(foreground);
        foreach (var synthesizer in new IAnomalySynthesizer[] { new GaussianNoiseSynthesizer(), new UniformNoiseSynthesizer() })
        {
            for (int seed = 0; seed < 30; seed++)
            {
                using var a = synthesizer.Synthesize(normal, new Random(seed), new SynthesisContext([], foreground));
                var mask = TestImages.Bytes(a.Mask);
                for (int p = 0; p < mask.Length; p++)
                    if (mask[p] != 0) Assert.AreEqual(255, inside[p], $"{synthesizer.Name}, seed {seed}: pixel {p} changed off the object");
                foreach (var r in a.Regions)
                    Assert.IsTrue(Enumerable.Range(r.Bounds.Top, r.Bounds.Height).Any(y => Enumerable.Range(r.Bounds.Left, r.Bounds.Width).Any(x => inside[y * 100 + x] != 0)),
                        $"{synthesizer.Name}, seed {seed}: region {r.Bounds} misses the object");
            }
        }
    }

    [TestMethod]
    public void InvalidOptionsNameTheOption()
    {
        var ex = Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => new GaussianNoiseSynthesizer(new GaussianNoiseOptions { MaxRegions = 0 }));
        Assert.AreEqual("MaxRegions", ex.ParamName);
        ex = Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => new GaussianNoiseSynthesizer(new GaussianNoiseOptions { StandardDeviation = -1 }));
        Assert.AreEqual("StandardDeviation", ex.ParamName);
        ex = Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => new UniformNoiseSynthesizer(new UniformNoiseOptions { MinHalfSizeFraction = 0.2, MaxHalfSizeFraction = 0.1 }));
        Assert.AreEqual("MaxHalfSizeFraction", ex.ParamName);
        ex = Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => new UniformNoiseSynthesizer(new UniformNoiseOptions { MinValue = 9, MaxValue = 8 }));
        Assert.AreEqual("MaxValue", ex.ParamName);
    }
}
