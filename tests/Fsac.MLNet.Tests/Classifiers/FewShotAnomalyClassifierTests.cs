using Fsac.MLNet.Classifiers;
using Fsac.MLNet.Encoders;
using Fsac.MLNet.Encoders.Clip;
using Fsac.MLNet.Head;
using Fsac.MLNet.PatchCore;
using Fsac.MLNet.Tests.TestDoubles;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.PixelFormats;
using SixLabors.ImageSharp.Processing;

namespace Fsac.MLNet.Tests.Classifiers;

/// <summary>
/// The front door over the methods, <see cref="FewShotAnomalyClassifier"/>, on the tiny test encoder (borrowed): every
/// method that runs there fits, scores with maps at the image's size, saves and loads back identically; WinCLIP+ on the
/// tiny random-weight CLIP.
/// </summary>
[TestClass]
public sealed class FewShotAnomalyClassifierTests
{
    private static readonly AnomalyMethodOptions Small = new()
    {
        Fsac = FsacPreset.MVTec with { ClassName = "surface", EpochsPerStage = 3, AnomaliesPerNormal = 2, CalibrationAnomaliesPerNormal = 1 },
        PatchCore = new PatchCoreOptions { CalibrationAnomaliesPerNormal = 1 },
        WinClip = new WinClipOptions { CalibrationAnomaliesPerNormal = 1 },
        Seed = 3,
        BatchSize = 8,
    };

    public TestContext TestContext { get; set; } = null!;

    private static AnomalyMethodOptions For(AnomalyMethod method) => Small with { Method = method };

    /// <summary>Normal and defective synthetic surfaces, one of them not square, so that maps must follow each image's own size.</summary>
    private static List<Image<Rgb24>> TestImages()
    {
        var rng = new Random(21);
        return
        [
            SyntheticImages.Normal(rng), SyntheticImages.Defective(rng), SyntheticImages.Normal(rng),
            SyntheticImages.Defective(rng), SyntheticImages.Defective(rng, width: 50, height: 37), SyntheticImages.Normal(rng, width: 44, height: 40),
        ];
    }

    private static bool IsPatchMethod(AnomalyMethod method) => method is not AnomalyMethod.Fsac;

    private static byte[] Save(IAnomalyClassifier model)
    {
        using var stream = new MemoryStream();
        model.Save(stream);
        return stream.ToArray();
    }

    private static void DisposeAll(IEnumerable<IDisposable> items)
    {
        foreach (var item in items) item.Dispose();
    }

    [TestMethod]
    [DataRow(AnomalyMethod.Default)]
    [DataRow(AnomalyMethod.PatchCore)]
    [DataRow(AnomalyMethod.Fsac)]
    [DataRow(AnomalyMethod.FsacLocal)]
    [DataRow(AnomalyMethod.FsacPatchCore)]
    public void FitsScoresWithMapsAtTheImagesSizeAndTheScoresAreContinuous(AnomalyMethod method)
    {
        using var encoder = new TinyEncoder();
        var normals = SyntheticImages.Normals(3, seed: 5);
        using var model = FewShotAnomalyClassifier.Fit(encoder, normals, For(method));
        var images = TestImages();

        var (scores, maps) = model.ScoreWithMaps(images, withMaps: true);
        TestContext.WriteLine($"{method}: threshold {model.Threshold:G6}, scores {string.Join(", ", scores.Select(s => s.ToString("G6")))}");

        Assert.AreEqual(method, model.Method);
        Assert.AreEqual(encoder.Name, model.BackboneName);
        Assert.IsNull(model.Backbone, "a borrowed encoder records no backbone reference");
        Assert.IsTrue(float.IsFinite(model.Threshold), $"threshold {model.Threshold}");
        Assert.HasCount(images.Count, scores);
        Assert.HasCount(images.Count, maps);
        Assert.IsTrue(scores.All(float.IsFinite), "finite scores");
        Assert.AreEqual(images.Count, scores.Distinct().Count(), $"no two images score exactly alike: {string.Join(", ", scores)}");
        if (IsPatchMethod(method))
            Assert.IsTrue(scores.All(s => s != 0f && s != 1f), $"a patch method's scores are never exactly 0 or 1: {string.Join(", ", scores)}");
        for (int i = 0; i < images.Count; i++)
        {
            Assert.HasCount(images[i].Width * images[i].Height, maps[i], $"map {i} has its image's size");
            Assert.IsTrue(maps[i].All(v => v >= 0f && float.IsFinite(v)), $"map {i} is non-negative and finite");
            Assert.IsGreaterThan(maps[i].Min(), maps[i].Max(), $"map {i} is not flat");
        }
        CollectionAssert.AreEqual(scores, model.Score(images), "Score is ScoreWithMaps without the maps");
        var alone = model.AnomalyMap(images[4]);
        Assert.HasCount(maps[4].Length, alone);
        for (int j = 0; j < alone.Length; j++) Assert.AreEqual(maps[4][j], alone[j], 1e-5f * Math.Max(1f, Math.Abs(alone[j])), $"AnomalyMap pixel {j}");
        var (noScores, noMaps) = model.ScoreWithMaps(images, withMaps: false);
        CollectionAssert.AreEqual(scores, noScores);
        Assert.IsEmpty(noMaps);
        var (emptyScores, emptyMaps) = model.ScoreWithMaps([], withMaps: true);
        Assert.IsEmpty(emptyScores);
        Assert.IsEmpty(emptyMaps);
        DisposeAll(normals);
        DisposeAll(images);
    }

    [TestMethod]
    [DataRow(AnomalyMethod.Default)]
    [DataRow(AnomalyMethod.PatchCore)]
    [DataRow(AnomalyMethod.Fsac)]
    [DataRow(AnomalyMethod.FsacLocal)]
    [DataRow(AnomalyMethod.FsacPatchCore)]
    public void SaveToAStreamThenLoadOnTheEncoderGivesIdenticalScoresThresholdAndMethod(AnomalyMethod method)
    {
        using var encoder = new TinyEncoder();
        var normals = SyntheticImages.Normals(2, seed: 7);
        using var model = FewShotAnomalyClassifier.Fit(encoder, normals, For(method));
        var images = TestImages();
        var bytes = Save(model);

        using var stream = new MemoryStream(bytes);
        using var loaded = FewShotAnomalyClassifier.Load(stream, encoder);

        CollectionAssert.AreEqual(model.Score(images), loaded.Score(images));
        Assert.AreEqual(model.Threshold, loaded.Threshold);
        // A default model is saved as the PatchCore it fits; ADefaultModelLoadsBackAsDefault covers that it should say so.
        if (method != AnomalyMethod.Default) Assert.AreEqual(method, loaded.Method);
        Assert.AreEqual(model.Inner.GetType(), loaded.Inner.GetType());
        Assert.AreEqual(model.CanAddNormals, loaded.CanAddNormals);
        var (_, before) = model.ScoreWithMaps([images[1]], withMaps: true);
        var (_, after) = loaded.ScoreWithMaps([images[1]], withMaps: true);
        CollectionAssert.AreEqual(before[0], after[0], "the maps survive too");
        CollectionAssert.AreEqual(bytes, Save(loaded), "a loaded model saves to the same bytes");
        DisposeAll(normals);
        DisposeAll(images);
    }

    [TestMethod]
    public void ADefaultModelLoadsBackAsDefault()
    {
        // The class documents that saved files record the method and that Default "stays recorded as such".
        using var encoder = new TinyEncoder();
        var normals = SyntheticImages.Normals(2, seed: 7);
        using var model = FewShotAnomalyClassifier.Fit(encoder, normals, For(AnomalyMethod.Default));
        using var loaded = FewShotAnomalyClassifier.Load(new MemoryStream(Save(model)), encoder);
        Assert.AreEqual(AnomalyMethod.Default, model.Method);
        Assert.AreEqual(AnomalyMethod.Default, loaded.Method, "the saved file should record the default method, not only its PatchCore settings");
        DisposeAll(normals);
    }

    [TestMethod]
    [DataRow(AnomalyMethod.Default)]
    [DataRow(AnomalyMethod.PatchCore)]
    public void AMemoryMethodsProbabilityIsHalfAtTheThresholdAndOrderedLikeTheScores(AnomalyMethod method)
    {
        using var encoder = new TinyEncoder();
        var normals = SyntheticImages.Normals(3, seed: 5);
        using var model = FewShotAnomalyClassifier.Fit(encoder, normals, For(method));
        var images = TestImages();
        var scores = model.Score(images);

        Assert.AreEqual(0.5f, model.ToProbability(model.Threshold), 1e-6f);
        Assert.IsLessThan(0.5f, model.ToProbability(model.Threshold * 0.99f));
        Assert.IsGreaterThan(0.5f, model.ToProbability(model.Threshold * 1.01f));
        var probabilities = scores.Select(model.ToProbability).ToArray();
        Assert.IsTrue(probabilities.All(p => p is >= 0f and <= 1f), string.Join(", ", probabilities));
        foreach (var (a, b) in scores.Zip(probabilities).SelectMany(x => scores.Zip(probabilities), (x, y) => (x, y)))
            if (a.First < b.First) Assert.IsLessThanOrEqualTo(b.Second, a.Second, $"score {a.First} < {b.First} but p {a.Second} > {b.Second}");
        // Monotone on a fine grid spanning the scores and the threshold.
        float lo = Math.Min(scores.Min(), model.Threshold) * 0.5f, hi = Math.Max(scores.Max(), model.Threshold) * 1.5f;
        float previous = -1f;
        for (int i = 0; i <= 200; i++)
        {
            float p = model.ToProbability(lo + (hi - lo) * i / 200f);
            Assert.IsGreaterThanOrEqualTo(previous, p, $"step {i}");
            previous = p;
        }
        DisposeAll(normals);
        DisposeAll(images);
    }

    [TestMethod]
    [DataRow(AnomalyMethod.FsacLocal)]
    [DataRow(AnomalyMethod.FsacPatchCore)]
    public void AFusionsScoresAreMeanProbabilitiesStrictlyInsideTheUnitInterval(AnomalyMethod method)
    {
        using var encoder = new TinyEncoder();
        var normals = SyntheticImages.Normals(3, seed: 5);
        using var model = FewShotAnomalyClassifier.Fit(encoder, normals, For(method));
        var images = TestImages();
        var scores = model.Score(images);

        var fusion = (FusedClassifier)model.Inner;
        Assert.AreEqual(AnomalyMethodOptions.NameOf(method), fusion.MethodName);
        Assert.HasCount(2, fusion.Parts);
        Assert.IsInstanceOfType<FsacPatchClassifier>(fusion.Parts[0]);
        Assert.IsInstanceOfType(fusion.Parts[1], method == AnomalyMethod.FsacLocal ? typeof(FsacClassifier) : typeof(PatchCoreClassifier));
        Assert.IsTrue(scores.All(s => s is > 0f and < 1f), string.Join(", ", scores));
        Assert.IsTrue(model.Threshold is > 0f and < 1f, $"threshold {model.Threshold}");
        // Each fused score is the mean of the parts' own probabilities.
        var partScores = fusion.Parts.Select(p => p.Score(images)).ToArray();
        for (int i = 0; i < images.Count; i++)
        {
            double expected = fusion.Parts.Select((p, k) => (double)p.ToProbability(partScores[k][i])).Average();
            Assert.AreEqual(expected, scores[i], 1e-5, $"image {i}");
        }
        Assert.AreEqual(fusion.Parts.Average(p => p.ToProbability(p.Threshold)), model.Threshold, 1e-6);
        Assert.AreEqual(scores[0], model.ToProbability(scores[0]), "the fused score is already a probability");
        DisposeAll(normals);
        DisposeAll(images);
    }

    [TestMethod]
    public void WinClipPlusNeedsAClipBackbone()
    {
        // No text tower at all, and a text tower whose space the patches are not in.
        using var imageOnly = new ImageOnlyEncoder(new TinyEncoder());
        using var tiny = new TinyEncoder();
        var normals = SyntheticImages.Normals(1, seed: 5);
        foreach (IImageEncoder encoder in new IImageEncoder[] { imageOnly, tiny })
        {
            var e = Assert.ThrowsExactly<NotSupportedException>(() => FewShotAnomalyClassifier.Fit(encoder, normals, For(AnomalyMethod.WinClipPlus)));
            StringAssert.Contains(e.Message, encoder.Name);
        }
        DisposeAll(normals);
    }

    [TestMethod]
    public void WinClipPlusOnATinyClipFitsScoresWithMapsAndRoundTrips()
    {
        using var encoder = ClipEncoder.Load(SharedData.Path("clip-reference", "tiny-vit"),
            vocabularyPath: SharedData.Path("clip-reference", "vocab", ClipTokenizer.BpeGzFileName));
        var shots = Cookies("normal", 2, skip: 0);
        var images = Cookies("normal", 2, skip: 2).Concat(Cookies("anomaly", 2, skip: 0)).ToList();
        using var model = FewShotAnomalyClassifier.Fit(encoder, shots, For(AnomalyMethod.WinClipPlus) with
        {
            Fsac = Small.Fsac with { ClassName = "cookie" },
        });

        var (scores, maps) = model.ScoreWithMaps(images, withMaps: true);

        Assert.AreEqual(AnomalyMethod.WinClipPlus, model.Method);
        Assert.IsInstanceOfType<WinClipClassifier>(model.Inner);
        Assert.AreEqual(images.Count, scores.Distinct().Count(), string.Join(", ", scores));
        Assert.IsTrue(scores.All(s => float.IsFinite(s) && s != 0f && s != 1f), string.Join(", ", scores));
        for (int i = 0; i < images.Count; i++)
        {
            Assert.HasCount(images[i].Width * images[i].Height, maps[i]);
            Assert.IsTrue(maps[i].All(v => v >= 0f && float.IsFinite(v)));
        }
        Assert.IsFalse(model.CanAddNormals);
        Assert.ThrowsExactly<NotSupportedException>(() => model.AddNormals(shots));

        using var loaded = FewShotAnomalyClassifier.Load(new MemoryStream(Save(model)), encoder);
        Assert.AreEqual(AnomalyMethod.WinClipPlus, loaded.Method);
        Assert.AreEqual(model.Threshold, loaded.Threshold);
        CollectionAssert.AreEqual(scores, loaded.Score(images));
        DisposeAll(shots);
        DisposeAll(images);
    }

    [TestMethod]
    [DataRow(AnomalyMethod.Default)]
    [DataRow(AnomalyMethod.PatchCore)]
    public void AddNormalsGrowsAMemoryModelAndTheGrownModelRoundTrips(AnomalyMethod method)
    {
        using var encoder = new TinyEncoder();
        var normals = SyntheticImages.Normals(4, seed: 13);
        var images = TestImages();
        using var model = FewShotAnomalyClassifier.Fit(encoder, normals.Take(2).ToList(), For(method));
        var memory = (PatchCoreClassifier)model.Inner;
        long patchesBefore = memory.MemoryPatches;
        var scoresBefore = model.Score(images);
        Assert.IsTrue(model.CanAddNormals);

        model.AddNormals(normals.Skip(2).ToList());

        Assert.AreEqual(4, memory.Shots);
        Assert.AreEqual(2 * patchesBefore, memory.MemoryPatches, "two more shots of as many patches each");
        Assert.IsTrue(float.IsFinite(model.Threshold));
        var scoresAfter = model.Score(images);
        for (int i = 0; i < images.Count; i++)
            Assert.IsLessThanOrEqualTo(scoresBefore[i] + 1e-5f, scoresAfter[i], $"image {i}: a larger memory can only bring nearer neighbours");
        Assert.IsTrue(scoresAfter.Zip(scoresBefore).Any(p => p.First < p.Second), "the new normals are used");

        using var loaded = FewShotAnomalyClassifier.Load(new MemoryStream(Save(model)), encoder);
        Assert.AreEqual(4, ((PatchCoreClassifier)loaded.Inner).Shots);
        Assert.AreEqual(model.Threshold, loaded.Threshold);
        CollectionAssert.AreEqual(scoresAfter, loaded.Score(images));
        DisposeAll(normals);
        DisposeAll(images);
    }

    [TestMethod]
    [DataRow(AnomalyMethod.Fsac)]
    [DataRow(AnomalyMethod.FsacLocal)]
    [DataRow(AnomalyMethod.FsacPatchCore)]
    public void AddNormalsOnATrainedHeadThrowsNotSupportedSayingWhatToDo(AnomalyMethod method)
    {
        using var encoder = new TinyEncoder();
        var normals = SyntheticImages.Normals(2, seed: 13);
        using var model = FewShotAnomalyClassifier.Fit(encoder, normals, For(method));
        var images = TestImages();
        var before = model.Score(images);
        float threshold = model.Threshold;

        Assert.IsFalse(model.CanAddNormals);
        var e = Assert.ThrowsExactly<NotSupportedException>(() => model.AddNormals(normals));

        StringAssert.Contains(e.Message, $"'{AnomalyMethodOptions.NameOf(method)}'");
        StringAssert.Contains(e.Message, "Fit it again");
        Assert.AreEqual(threshold, model.Threshold);
        CollectionAssert.AreEqual(before, model.Score(images), "a refused AddNormals changes nothing");
        DisposeAll(normals);
        DisposeAll(images);
    }

    [TestMethod]
    public void FitValidatesItsOptionsAndImages()
    {
        using var encoder = new TinyEncoder();
        var normals = SyntheticImages.Normals(1, seed: 5);
        Assert.ThrowsExactly<ArgumentException>(() => FewShotAnomalyClassifier.Fit(encoder, [], For(AnomalyMethod.PatchCore)));
        Assert.Throws<ArgumentException>(() => FewShotAnomalyClassifier.Fit(encoder, normals, Small with { BatchSize = 0 }));
        Assert.Throws<ArgumentException>(() => FewShotAnomalyClassifier.Fit(encoder, normals, Small with { Method = (AnomalyMethod)42 }));
        Assert.Throws<ArgumentException>(() => FewShotAnomalyClassifier.Fit(encoder, normals,
            For(AnomalyMethod.PatchCore) with { PatchCore = new PatchCoreOptions { Resolution = 200 } }));
        // A resolution is asked of an encoder with a fixed input: PatchCore says so rather than ignoring it.
        Assert.ThrowsExactly<NotSupportedException>(() => FewShotAnomalyClassifier.Fit(encoder, normals,
            For(AnomalyMethod.PatchCore) with { PatchCore = new PatchCoreOptions { Resolution = 224 } }));
        DisposeAll(normals);
    }

    [TestMethod]
    public void MethodNamesParseBackToTheirMethods()
    {
        foreach (var method in Enum.GetValues<AnomalyMethod>())
        {
            Assert.AreEqual(method, AnomalyMethodOptions.Parse(AnomalyMethodOptions.NameOf(method)));
            Assert.AreEqual(method, AnomalyMethodOptions.Parse(" " + AnomalyMethodOptions.NameOf(method).ToUpperInvariant() + " "));
        }
        var e = Assert.ThrowsExactly<ArgumentException>(() => AnomalyMethodOptions.Parse("patch-core"));
        StringAssert.Contains(e.Message, "fsac+patchcore");
    }

    private static List<Image<Rgb24>> Cookies(string folder, int count, int skip)
        => [.. Directory.GetFiles(SharedData.Path("data", "cookies", folder), "*.jpg").Order(StringComparer.Ordinal).Skip(skip).Take(count)
            .Select(f =>
            {
                var image = Image.Load<Rgb24>(f);
                image.Mutate(c => c.Resize(72, 96));
                return image;
            })];
}
