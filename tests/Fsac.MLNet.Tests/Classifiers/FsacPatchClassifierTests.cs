using Fsac.MLNet.Checkpoints;
using Fsac.MLNet.Classifiers;
using Fsac.MLNet.Encoders;
using Fsac.MLNet.Head;
using Fsac.MLNet.Synthesis;
using Fsac.MLNet.Tests.TestDoubles;
using System.IO.Compression;
using System.Text;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.PixelFormats;

namespace Fsac.MLNet.Tests.Classifiers;

/// <summary>
/// The CLIP-FSAC head trained on patches, on the tiny test encoder (40x40 images seen at 32x32, 8x8 grids of 24-d
/// patches, so a grid cell is 5x5 image pixels). Which patches count as anomalous follows from the synthetic masks
/// (MaskCoverage, internal): tested through what the fitted model learns.
/// </summary>
[TestClass]
public sealed class FsacPatchClassifierTests
{
    private static readonly FsacOptions Options = FsacPreset.MVTec with
    {
        ClassName = "surface",
        EpochsPerStage = 3,
        AnomaliesPerNormal = 2,
        CalibrationAnomaliesPerNormal = 1,
        InferenceBatchSize = 8,
        Seed = 4,
    };

    // Grid cells (column 5..6, row 1) of the tiny encoder: image pixels x 25..34, y 5..9. Not symmetric, so a mask
    // read with rows and columns swapped would label clean patches (rows 5..6, column 1) instead.
    private const int X0 = 25, Y0 = 5, W = 10, H = 5;

    public TestContext TestContext { get; set; } = null!;

    /// <summary>Paints a saturated block over exactly the cells above, its mask marking exactly those pixels.</summary>
    private sealed class FixedBlockSynthesizer : IAnomalySynthesizer
    {
        public string Name => "fixed-block";

        public SyntheticAnomaly Synthesize(Image<Rgb24> normal, Random rng, SynthesisContext? context = null)
        {
            var image = normal.Clone();
            var mask = new Image<L8>(normal.Width, normal.Height);
            var colour = new Rgb24((byte)rng.Next(200, 256), (byte)rng.Next(0, 60), (byte)rng.Next(0, 60));
            Paint(image, colour);
            for (int y = Y0; y < Y0 + H; y++)
                for (int x = X0; x < X0 + W; x++)
                    mask[x, y] = new L8(255);
            return new SyntheticAnomaly(image, mask);
        }
    }

    /// <summary>Changes pixels but marks none: nothing for the patch head to learn from.</summary>
    private sealed class EmptyMaskSynthesizer : IAnomalySynthesizer
    {
        public string Name => "empty-mask";

        public SyntheticAnomaly Synthesize(Image<Rgb24> normal, Random rng, SynthesisContext? context = null)
        {
            var image = normal.Clone();
            Paint(image, new Rgb24(255, 0, 0));
            return new SyntheticAnomaly(image, new Image<L8>(normal.Width, normal.Height));
        }
    }

    /// <summary>A one-pixel vertical scratch at column <paramref name="column"/>, masked exactly.</summary>
    private sealed class ScratchSynthesizer(int column) : IAnomalySynthesizer
    {
        public string Name => "scratch";

        public SyntheticAnomaly Synthesize(Image<Rgb24> normal, Random rng, SynthesisContext? context = null)
        {
            var image = normal.Clone();
            var mask = new Image<L8>(normal.Width, normal.Height);
            for (int y = 0; y < normal.Height; y++)
            {
                image[column, y] = new Rgb24(255, 255, 255);
                mask[column, y] = new L8(255);
            }
            return new SyntheticAnomaly(image, mask);
        }
    }

    private static void Paint(Image<Rgb24> image, Rgb24 colour)
    {
        for (int y = Y0; y < Y0 + H; y++)
            for (int x = X0; x < X0 + W; x++)
                image[x, y] = colour;
    }

    private static byte[] Save(IAnomalyClassifier model)
    {
        using var stream = new MemoryStream();
        model.Save(stream);
        return stream.ToArray();
    }

    private static List<Image<Rgb24>> TestImages()
    {
        var rng = new Random(31);
        return [.. Enumerable.Range(0, 6).Select(i => i % 2 == 0 ? SyntheticImages.Normal(rng) : SyntheticImages.Defective(rng))];
    }

    [TestMethod]
    [DataRow(4)]
    [DataRow(11)]
    public void PatchesTheMasksCoverAreLearnedAsAnomalous_ABlockThereScoresAboveACleanImageAndTheMapPeaksOnIt(int seed)
    {
        using var encoder = new TinyEncoder();
        var normals = SyntheticImages.Normals(3, seed: 5);
        using var model = FsacPatchClassifier.Fit(encoder, normals, Options with { Seed = seed }, new FixedBlockSynthesizer());
        using var clean = SyntheticImages.Normal(new Random(99));
        using var block = clean.Clone();
        Paint(block, new Rgb24(230, 30, 30));

        var (scores, maps) = model.ScoreWithMaps([clean, block], withMaps: true);
        TestContext.WriteLine($"clean {scores[0]:G5}, block {scores[1]:G5}, threshold {model.Threshold:G5}");

        Assert.IsGreaterThan(scores[0], scores[1], "the block scores above the clean image");
        Assert.IsGreaterThanOrEqualTo(model.Threshold, scores[1], "and is called anomalous");
        int best = Array.IndexOf(maps[1], maps[1].Max());
        int bx = best % 40, by = best / 40;
        Assert.IsTrue(bx >= X0 - 3 && bx < X0 + W + 3 && by >= Y0 - 3 && by < Y0 + H + 3, $"map peak at ({bx}, {by})");
        Assert.IsGreaterThan(maps[0].Max(), maps[1].Max(), "the block's map rises above the clean one's");
        foreach (var n in normals) n.Dispose();
    }

    [TestMethod]
    public void AnomaliesWhoseMasksCoverNoPatchCannotTrainTheHead()
    {
        using var encoder = new TinyEncoder();
        var normals = SyntheticImages.Normals(2, seed: 5);
        var e = Assert.ThrowsExactly<InvalidOperationException>(() => FsacPatchClassifier.Fit(encoder, normals, Options, new EmptyMaskSynthesizer()));
        StringAssert.Contains(e.Message, "cover no patch");
        foreach (var n in normals) n.Dispose();
    }

    [TestMethod]
    [DataRow(1)]
    [DataRow(2)]
    public void AThinScratchStillLabelsItsBestCoveredPatch(int column)
    {
        // FsacPatchClassifier documents that an anomaly covering no cell enough is represented by its best-covered
        // cell, "so every anomaly contributes". MaskCoverage samples 4x4 points per cell (here image columns 0, 1, 3
        // and 4 of each 5-pixel cell), so a one-pixel scratch at column 2 is missed entirely and the fit finds no
        // anomalous patch at all, while one at column 1 is found.
        using var encoder = new TinyEncoder();
        var normals = SyntheticImages.Normals(2, seed: 5);
        using var model = FsacPatchClassifier.Fit(encoder, normals, Options, new ScratchSynthesizer(column));
        Assert.IsTrue(float.IsFinite(model.Threshold));
        foreach (var n in normals) n.Dispose();
    }

    [TestMethod]
    public void ScoresAreMaxPatchLogitsAndTheMapsAreProbabilities()
    {
        using var encoder = new TinyEncoder();
        var normals = SyntheticImages.Normals(2, seed: 5);
        using var model = FsacPatchClassifier.Fit(encoder, normals, Options, new SquareSynthesizer());
        var images = TestImages();
        using var patches = encoder.EncodePatches(images, 8);

        var scored = model.ScoreEncoded(null, patches);

        CollectionAssert.AreEqual(model.Score(images), scored.Scores);
        Assert.AreEqual(images.Count, scored.Scores.Distinct().Count(), "continuous scores");
        for (int i = 0; i < images.Count; i++)
        {
            Assert.HasCount(64, scored.PatchMaps[i]);
            Assert.IsTrue(scored.PatchMaps[i].All(p => p is >= 0f and <= 1f));
            // The image score is the largest patch logit, so its probability is the largest patch probability.
            Assert.AreEqual(model.ToProbability(scored.Scores[i]), scored.PatchMaps[i].Max(), 1e-6f, $"image {i}");
        }
        Assert.AreEqual(0.5f, model.ToProbability(model.Threshold), 1e-6f);
        Assert.IsNull(model.Resolution);
        Assert.AreEqual(2, model.History.Stages.Count(s => s.Losses.Count == Options.EpochsPerStage));
        foreach (var n in normals) n.Dispose();
        foreach (var i in images) i.Dispose();
    }

    [TestMethod]
    public void SaveAndLoadGiveIdenticalScoresAndTheFrontDoorLoadsItToo()
    {
        using var encoder = new TinyEncoder();
        var normals = SyntheticImages.Normals(2, seed: 5);
        using var model = FsacPatchClassifier.Fit(encoder, normals, Options, new SquareSynthesizer());
        var images = TestImages();
        var bytes = Save(model);

        using var loaded = FsacPatchClassifier.Load(new MemoryStream(bytes), encoder);
        CollectionAssert.AreEqual(model.Score(images), loaded.Score(images));
        Assert.AreEqual(model.Threshold, loaded.Threshold);
        Assert.AreEqual(model.Options, loaded.Options with { ExtraNormalPrompts = model.Options.ExtraNormalPrompts, ExtraAnomalousPrompts = model.Options.ExtraAnomalousPrompts });
        CollectionAssert.AreEqual(model.History.Stages[1].Losses.ToArray(), loaded.History.Stages[1].Losses.ToArray());

        using var front = FewShotAnomalyClassifier.Load(new MemoryStream(bytes), encoder);
        Assert.IsInstanceOfType<FsacPatchClassifier>(front.Inner);
        CollectionAssert.AreEqual(model.Score(images), front.Score(images));
        foreach (var n in normals) n.Dispose();
        foreach (var i in images) i.Dispose();
    }

    [TestMethod]
    public void LoadingOnAnotherEncoderThrowsIncompatibleModel()
    {
        using var encoder = new TinyEncoder();
        var normals = SyntheticImages.Normals(1, seed: 5);
        using var model = FsacPatchClassifier.Fit(encoder, normals, Options, new SquareSynthesizer());
        var bytes = Save(model);
        using var renamed = new TinyEncoder(name: "another-backbone");

        var e = Assert.ThrowsExactly<IncompatibleModelException>(() => FsacPatchClassifier.Load(new MemoryStream(bytes), renamed));
        Assert.AreEqual(encoder.Name, e.SavedEncoder);
        Assert.AreEqual("another-backbone", e.GivenEncoder);
        Assert.ThrowsExactly<IncompatibleModelException>(() => FewShotAnomalyClassifier.Load(new MemoryStream(bytes), renamed));
        foreach (var n in normals) n.Dispose();
    }

    [TestMethod]
    public void LoadingACorruptStreamThrowsCheckpointFormat()
    {
        using var encoder = new TinyEncoder();
        var normals = SyntheticImages.Normals(1, seed: 5);
        using var model = FsacPatchClassifier.Fit(encoder, normals, Options, new SquareSynthesizer());
        var bytes = Save(model);

        byte[][] corrupt =
        [
            Encoding.UTF8.GetBytes("not a model"),
            bytes[..(bytes.Length / 2)],
            Rewrite(bytes, "manifest.json", m => Encoding.UTF8.GetBytes(Encoding.UTF8.GetString(m).Replace("\"formatVersion\": 1", "\"formatVersion\": 99", StringComparison.Ordinal))),
            Rewrite(bytes, "manifest.json", m => Encoding.UTF8.GetBytes(Encoding.UTF8.GetString(m).Replace("\"calibrationNormals\"", "\"ignored\"", StringComparison.Ordinal))),
            Rewrite(bytes, "manifest.json", _ => Encoding.UTF8.GetBytes("{ \"format\": ")),
            Rewrite(bytes, "head.safetensors", w => w[..(w.Length - 8)]),
        ];
        for (int i = 0; i < corrupt.Length; i++)
        {
            var e = Assert.ThrowsExactly<CheckpointFormatException>(() => FsacPatchClassifier.Load(new MemoryStream(corrupt[i]), encoder), $"case {i}");
            Assert.IsFalse(string.IsNullOrWhiteSpace(e.Message));
        }
        foreach (var n in normals) n.Dispose();
    }

    private static byte[] Rewrite(byte[] archive, string entryName, Func<byte[], byte[]> change)
    {
        using var output = new MemoryStream();
        using (var source = new ZipArchive(new MemoryStream(archive), ZipArchiveMode.Read))
        using (var target = new ZipArchive(output, ZipArchiveMode.Create, leaveOpen: true))
        {
            foreach (var entry in source.Entries)
            {
                using var read = new MemoryStream();
                using (var s = entry.Open()) s.CopyTo(read);
                var content = entry.FullName == entryName ? change(read.ToArray()) : read.ToArray();
                using var w = target.CreateEntry(entry.FullName).Open();
                w.Write(content);
            }
        }
        return output.ToArray();
    }
}
