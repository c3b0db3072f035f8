using Fsac.MLNet.Classifiers;
using Fsac.MLNet.Encoders;
using Fsac.MLNet.PatchCore;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.PixelFormats;
using SixLabors.ImageSharp.Processing;

namespace Fsac.MLNet.Tests.Classifiers;

/// <summary>PatchCore on the real offline ResNet18 at an aspect-preserving resolution, with small real photographs.</summary>
[TestClass]
public sealed class PatchCoreResNetTests
{
    private static ResNet18Encoder s_encoder = null!;
    private static List<Image<Rgb24>> s_cookies = null!;

    public TestContext TestContext { get; set; } = null!;

    [ClassInitialize]
    public static void Load(TestContext _)
    {
        s_encoder = ResNet18Encoder.LoadDefault();
        // Four normal cookies, reduced from 576x768 to 144x192 to keep the test fast.
        s_cookies = Directory.GetFiles(SharedData.Path("data", "cookies", "normal"), "*.jpg").Order(StringComparer.Ordinal).Take(4)
            .Select(f =>
            {
                var image = Image.Load<Rgb24>(f);
                image.Mutate(c => c.Resize(144, 192));
                return image;
            }).ToList();
    }

    [ClassCleanup]
    public static void Release()
    {
        s_encoder?.Dispose();
        s_cookies?.ForEach(i => i.Dispose());
    }

    [TestMethod]
    public void APastedSquareOnARealCookieScoresAboveAHeldOutOne_AndItsMapPeaksThere()
    {
        var options = new PatchCoreOptions { Resolution = 192, CalibrationAnomaliesPerNormal = 1, InferenceBatchSize = 4, Seed = 1 };
        using var model = PatchCoreClassifier.Fit(s_encoder, s_cookies.Take(3).ToList(), options);
        Assert.AreEqual(192, model.Resolution);
        // 192x256 inputs (192·192/144 = 256), grids of 24x32 patches, three shots.
        Assert.AreEqual(3L * 24 * 32, model.MemoryPatches);

        var heldOut = s_cookies[3];
        using var defect = heldOut.Clone();
        const int x0 = 60, y0 = 80, side = 24;
        for (int y = y0; y < y0 + side; y++)
            for (int x = x0; x < x0 + side; x++)
                defect[x, y] = new Rgb24(20, 200, 255);

        var (scores, maps) = model.ScoreWithMaps([heldOut, defect], withMaps: true);
        TestContext.WriteLine($"held-out {scores[0]:G4}, square {scores[1]:G4}, threshold {model.Threshold:G4}");
        Assert.IsGreaterThan(scores[0], scores[1]);
        Assert.HasCount(144 * 192, maps[1]);
        int best = Array.IndexOf(maps[1], maps[1].Max());
        int bx = best % 144, by = best / 144;
        Assert.IsTrue(bx >= x0 - 8 && bx < x0 + side + 8 && by >= y0 - 8 && by < y0 + side + 8, $"map peak at ({bx}, {by})");

        var saliency = model.Saliency(defect);
        Assert.HasCount(144 * 192, saliency);
        Assert.IsTrue(saliency.All(v => v >= 0 && float.IsFinite(v)));
        Assert.IsGreaterThan(0f, saliency.Max());
    }
}
