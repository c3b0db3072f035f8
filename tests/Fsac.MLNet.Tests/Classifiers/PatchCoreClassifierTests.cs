using Fsac.MLNet.Checkpoints;
using Fsac.MLNet.Classifiers;
using Fsac.MLNet.Encoders;
using Fsac.MLNet.PatchCore;
using Fsac.MLNet.Tests.TestDoubles;
using Fsac.MLNet.Tests.Checkpoints;
using System.Buffers.Binary;
using System.IO.Compression;
using System.Text;
using System.Text.Json.Nodes;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.PixelFormats;
using TorchSharp;

namespace Fsac.MLNet.Tests.Classifiers;

/// <summary>Few-shot PatchCore on the tiny test encoder (32x32 input, 8x8 grids of 24-d patches).</summary>
[TestClass]
public sealed class PatchCoreClassifierTests
{
    private const int PatchesPerImage = 8 * 8;
    private const int PatchDim = 24;

    private static readonly PatchCoreOptions Options = new()
    {
        MemoryLimit = 100_000,
        CalibrationAnomaliesPerNormal = 2,
        InferenceBatchSize = 8,
        Seed = 3,
    };

    public TestContext TestContext { get; set; } = null!;

    /// <summary>A copy of <paramref name="image"/> with a white square of side <paramref name="side"/> at (x0, y0).</summary>
    private static Image<Rgb24> WithSquare(Image<Rgb24> image, int x0, int y0, int side)
    {
        var copy = image.Clone();
        for (int y = y0; y < y0 + side; y++)
            for (int x = x0; x < x0 + side; x++)
                copy[x, y] = new Rgb24(255, 255, 255);
        return copy;
    }

    private static List<Image<Rgb24>> TestImages()
    {
        var rng = new Random(21);
        return [.. Enumerable.Range(0, 6).Select(i => i % 2 == 0 ? SyntheticImages.Normal(rng) : SyntheticImages.Defective(rng))];
    }

    private static byte[] SaveToBytes(PatchCoreClassifier model)
    {
        using var stream = new MemoryStream();
        model.Save(stream);
        return stream.ToArray();
    }

    private static Dictionary<string, byte[]> Entries(byte[] archive)
    {
        using var zip = new ZipArchive(new MemoryStream(archive), ZipArchiveMode.Read);
        return zip.Entries.ToDictionary(e => e.FullName, e =>
        {
            using var s = e.Open();
            using var m = new MemoryStream();
            s.CopyTo(m);
            return m.ToArray();
        });
    }

    private static byte[] Zip(params (string Name, byte[] Data)[] entries)
    {
        using var stream = new MemoryStream();
        using (var zip = new ZipArchive(stream, ZipArchiveMode.Create, leaveOpen: true))
            foreach (var (name, data) in entries)
            {
                using var s = zip.CreateEntry(name, CompressionLevel.NoCompression).Open();
                s.Write(data);
            }
        return stream.ToArray();
    }

    /// <summary>Rewrites the uncompressed size recorded for <paramref name="name"/> in the local and central headers.</summary>
    private static byte[] WithDeclaredSize(byte[] zip, string name, uint size)
    {
        var bytes = (byte[])zip.Clone();
        var nameBytes = Encoding.UTF8.GetBytes(name);
        int patched = 0;
        for (int i = 0; i + 46 < bytes.Length; i++)
        {
            uint signature = BinaryPrimitives.ReadUInt32LittleEndian(bytes.AsSpan(i));
            if (signature == 0x04034b50 && bytes.AsSpan(i + 30, nameBytes.Length).SequenceEqual(nameBytes)
                && BinaryPrimitives.ReadUInt16LittleEndian(bytes.AsSpan(i + 26)) == nameBytes.Length)
            {
                BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan(i + 22), size);
                patched++;
            }
            else if (signature == 0x02014b50 && bytes.AsSpan(i + 46, nameBytes.Length).SequenceEqual(nameBytes)
                     && BinaryPrimitives.ReadUInt16LittleEndian(bytes.AsSpan(i + 28)) == nameBytes.Length)
            {
                BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan(i + 24), size);
                patched++;
            }
        }
        Assert.AreEqual(2, patched, "local and central header patched");
        return bytes;
    }

    private static byte[] SafeTensorsBytes(string key, TensorData data)
    {
        using var stream = new MemoryStream();
        SafeTensors.Write(stream, new Dictionary<string, TensorData> { [key] = data });
        return stream.ToArray();
    }

    private static void AssertSameEntries(byte[] expected, byte[] actual)
    {
        var a = Entries(expected);
        var b = Entries(actual);
        CollectionAssert.AreEquivalent(a.Keys.ToArray(), b.Keys.ToArray());
        foreach (var (name, data) in a) CollectionAssert.AreEqual(data, b[name], name);
    }

    private static TensorData MemoryOf(byte[] archive)
    {
        using var s = new MemoryStream(Entries(archive)["memory.safetensors"]);
        return SafeTensors.Read(s, "memory", out _)["memory"];
    }

    [TestMethod]
    public void APastedSquareScoresAboveAHeldOutNormal_AndItsMapPeaksThere()
    {
        using var encoder = new TinyEncoder();
        var normals = SyntheticImages.Normals(4, seed: 5);
        using var model = PatchCoreClassifier.Fit(encoder, normals, Options);
        using var heldOut = SyntheticImages.Normal(new Random(99));
        using var defect = WithSquare(heldOut, 22, 6, 10);

        var (scores, maps) = model.ScoreWithMaps([heldOut, defect], withMaps: true);
        TestContext.WriteLine($"normal {scores[0]:G4}, square {scores[1]:G4}, threshold {model.Threshold:G4}");
        Assert.IsGreaterThan(scores[0], scores[1]);
        Assert.IsTrue(float.IsFinite(model.Threshold));
        Assert.HasCount(2, maps);
        foreach (var map in maps)
        {
            Assert.HasCount(40 * 40, map);
            Assert.IsTrue(map.All(v => v >= 0 && float.IsFinite(v)));
        }
        int best = Array.IndexOf(maps[1], maps[1].Max());
        int bx = best % 40, by = best / 40;
        Assert.IsTrue(bx >= 22 - 4 && bx < 32 + 4 && by >= 6 - 4 && by < 16 + 4, $"map peak at ({bx}, {by})");
        Assert.IsGreaterThan(maps[0].Max(), maps[1].Max());
        CollectionAssert.AreEqual(maps[1], model.AnomalyMap(defect));
        CollectionAssert.AreEqual(scores, model.Score([heldOut, defect]));
        foreach (var n in normals) n.Dispose();
    }

    [TestMethod]
    [DataRow(1)]
    [DataRow(3)]
    public void TheScoreIsTheTopKMeanOfBruteForceNearestPatchDistances(int topK)
    {
        using var encoder = new TinyEncoder();
        var normals = SyntheticImages.Normals(2, seed: 8);
        using var model = PatchCoreClassifier.Fit(encoder, normals, Options with { TopK = topK });
        var images = TestImages();
        var scores = model.Score(images);

        // The memory as saved, and the test patches from the encoder; distances in double.
        var memory = MemoryOf(SaveToBytes(model));
        CollectionAssert.AreEqual(new long[] { 2 * PatchesPerImage, PatchDim }, memory.Shape);
        var bank = new float[memory.ElementCount];
        Buffer.BlockCopy(memory.Data, 0, bank, 0, memory.Data.Length);
        using var patches = encoder.EncodePatches(images, 8);
        using var scope = torch.NewDisposeScope();
        for (int i = 0; i < images.Count; i++)
        {
            var rows = patches.Of(i).contiguous().data<float>().ToArray();
            var distances = Fsac.MLNet.Tests.PatchCore.PatchMemoryTests.BruteForce(bank, rows, PatchDim);
            double expected = distances.OrderDescending().Take(topK).Average();
            Assert.AreEqual(expected, scores[i], 1e-4 * Math.Max(1, expected), $"image {i}");
        }
        var scored = model.ScorePatches(patches);
        CollectionAssert.AreEqual(scores, scored.Scores);
        Assert.HasCount(PatchesPerImage, scored.PatchMaps[0]);
        foreach (var n in normals) n.Dispose();
    }

    [TestMethod]
    public void FitThenAddNormals_ScoresBitForBitAsFittingOnAll()
    {
        using var encoder = new TinyEncoder();
        var all = SyntheticImages.Normals(4, seed: 13);
        var images = TestImages();

        using var incremental = PatchCoreClassifier.Fit(encoder, all.Take(2).ToList(), Options);
        Assert.AreEqual(2, incremental.Shots);
        incremental.AddNormals(all.Skip(2).ToList());
        using var once = PatchCoreClassifier.Fit(encoder, all, Options);

        Assert.AreEqual(4, incremental.Shots);
        Assert.AreEqual(once.MemoryPatches, incremental.MemoryPatches);
        Assert.AreEqual(4L * PatchesPerImage, once.MemoryPatches);
        CollectionAssert.AreEqual(once.Score(images), incremental.Score(images));
        var a = MemoryOf(SaveToBytes(once));
        var b = MemoryOf(SaveToBytes(incremental));
        CollectionAssert.AreEqual(a.Data, b.Data, "the memory banks hold the same rows in the same order");
        foreach (var n in all) n.Dispose();
    }

    [TestMethod]
    public void AddNormals_IsReproducible()
    {
        // Two identical fits given the same extra normals end with the same model (in one process at least).
        using var encoder = new TinyEncoder();
        var all = SyntheticImages.Normals(3, seed: 17);
        using var a = PatchCoreClassifier.Fit(encoder, all.Take(2).ToList(), Options);
        using var b = PatchCoreClassifier.Fit(encoder, all.Take(2).ToList(), Options);
        a.AddNormals([all[2]]);
        b.AddNormals([all[2]]);
        Assert.AreEqual(a.Threshold, b.Threshold);
        AssertSameEntries(SaveToBytes(a), SaveToBytes(b));
        foreach (var n in all) n.Dispose();
    }

    [TestMethod]
    public void MemoryLimit_SubsamplesToTheLimit()
    {
        using var encoder = new TinyEncoder();
        var normals = SyntheticImages.Normals(4, seed: 2);
        using var limited = PatchCoreClassifier.Fit(encoder, normals, Options with { MemoryLimit = 100 });
        Assert.AreEqual(100, limited.MemoryPatches);
        Assert.AreEqual(100L * PatchDim * sizeof(float), limited.MemoryBytes);
        limited.AddNormals([normals[0]]);
        Assert.AreEqual(100, limited.MemoryPatches, "still at the limit after adding normals");

        // Augmented copies count: 2 shots × (itself + 2 flips) × 64 patches.
        using var flipped = PatchCoreClassifier.Fit(encoder, normals.Take(2).ToList(), Options with { Augmentations = PatchAugmentations.Flips });
        Assert.AreEqual(2L * 3 * PatchesPerImage, flipped.MemoryPatches);
        Assert.AreEqual(2, flipped.Shots);
        foreach (var n in normals) n.Dispose();
    }

    [TestMethod]
    public void OneShot_Fits()
    {
        using var encoder = new TinyEncoder();
        using var shot = SyntheticImages.Normal(new Random(4));
        using var model = PatchCoreClassifier.Fit(encoder, [shot], Options);
        Assert.AreEqual(PatchesPerImage, model.MemoryPatches);
        Assert.IsTrue(float.IsFinite(model.Threshold));
        var own = model.Score([shot])[0]; Assert.AreEqual(0f, own, 1e-2f, $"a shot is in its own memory ({own})");
    }

    [TestMethod]
    public void Saliency_OfAShotItself_IsFinite()
    {
        // Every patch of the shot is (nearly) at distance 0 from the memory, where √ has an infinite slope.
        using var encoder = new TinyEncoder();
        using var shot = SyntheticImages.Normal(new Random(4));
        using var model = PatchCoreClassifier.Fit(encoder, [shot], Options);
        var saliency = model.Saliency(shot);
        Assert.HasCount(40 * 40, saliency);
        Assert.IsTrue(saliency.All(float.IsFinite), $"{saliency.Count(v => !float.IsFinite(v))} of {saliency.Length} saliency values are NaN or infinite");
    }

    [TestMethod]
    public void SaveLoad_RoundTripsScoresAndThreshold()
    {
        using var encoder = new TinyEncoder();
        var normals = SyntheticImages.Normals(3, seed: 6);
        using var model = PatchCoreClassifier.Fit(encoder, normals, Options with { TopK = 2, MapSigma = 2 });
        var images = TestImages();
        var bytes = SaveToBytes(model);

        using var loaded = PatchCoreClassifier.Load(new MemoryStream(bytes), encoder);
        Assert.AreEqual(model.Threshold, loaded.Threshold);
        Assert.AreEqual(model.Shots, loaded.Shots);
        Assert.AreEqual(model.MemoryPatches, loaded.MemoryPatches);
        Assert.AreEqual(model.Options, loaded.Options);
        Assert.AreEqual(model.BackboneName, loaded.BackboneName);
        var scores = model.Score(images);
        CollectionAssert.AreEqual(scores, loaded.Score(images));
        foreach (var s in scores) Assert.AreEqual(model.ToProbability(s), loaded.ToProbability(s));
        CollectionAssert.AreEqual(model.AnomalyMap(images[1]), loaded.AnomalyMap(images[1]));

        // Saving what was loaded gives the same content.
        AssertSameEntries(bytes, SaveToBytes(loaded));
        foreach (var n in normals) n.Dispose();
    }

    [TestMethod]
    public void SaveToPath_LeavesOnlyTheFile()
    {
        using var encoder = new TinyEncoder();
        var normals = SyntheticImages.Normals(2, seed: 6);
        using var model = PatchCoreClassifier.Fit(encoder, normals, Options);
        using var dir = new TempDir();
        var path = dir.File("model.fsac");
        model.Save(path);
        model.Save(path);                                  // overwriting too
        CollectionAssert.AreEqual(new[] { "model.fsac" }, Directory.GetFileSystemEntries(dir.Path).Select(Path.GetFileName).ToArray());
        using var stream = File.OpenRead(path);
        using var loaded = PatchCoreClassifier.Load(stream, encoder, path);
        Assert.AreEqual(model.Threshold, loaded.Threshold);
        foreach (var n in normals) n.Dispose();
    }

    [TestMethod]
    public void Load_WithAnotherEncoder_IsIncompatible()
    {
        using var encoder = new TinyEncoder();
        using var other = new TinyEncoder(name: "another-encoder");
        var normals = SyntheticImages.Normals(2, seed: 6);
        using var model = PatchCoreClassifier.Fit(encoder, normals, Options);
        var bytes = SaveToBytes(model);
        var e = Assert.ThrowsExactly<IncompatibleModelException>(() => PatchCoreClassifier.Load(new MemoryStream(bytes), other));
        Assert.AreEqual(encoder.Name, e.SavedEncoder);
        Assert.AreEqual("another-encoder", e.GivenEncoder);
        foreach (var n in normals) n.Dispose();
    }

    [TestMethod]
    public void Load_CorruptStreams_ThrowCheckpointFormat()
    {
        using var encoder = new TinyEncoder();
        var normals = SyntheticImages.Normals(2, seed: 6);
        using var model = PatchCoreClassifier.Fit(encoder, normals, Options);
        var bytes = SaveToBytes(model);

        void Rejected(byte[] data, string what)
        {
            try
            {
                using var m = PatchCoreClassifier.Load(new MemoryStream(data), encoder, what);
                Assert.Fail($"{what}: loaded");
            }
            catch (CheckpointFormatException e)
            {
                Assert.AreEqual(what, e.FilePath);
            }
            catch (Exception e) when (e is not AssertFailedException)
            {
                Assert.Fail($"{what}: {e.GetType().Name} instead of CheckpointFormatException: {e.Message}");
            }
        }

        Rejected([], "empty");
        var garbage = new byte[4096];
        new Random(1).NextBytes(garbage);
        Rejected(garbage, "garbage");
        foreach (var fraction in new[] { 0.1, 0.5, 0.9, 0.99 })
            Rejected(bytes[..(int)(bytes.Length * fraction)], $"truncated to {fraction:P0}");
        Rejected(bytes[..^1], "one byte short");

        var entries = Entries(bytes);
        var manifest = entries["manifest.json"];
        var memory = entries["memory.safetensors"];
        Rejected(Zip(("manifest.json", manifest)), "no memory entry");
        Rejected(Zip(("memory.safetensors", memory)), "no manifest");
        Rejected(Zip(("manifest.json", "not json"u8.ToArray()), ("memory.safetensors", memory)), "manifest not json");
        Rejected(Zip(("manifest.json", manifest), ("memory.safetensors", memory[..(memory.Length / 2)])), "memory truncated");

        var json = JsonNode.Parse(manifest)!;
        json["formatVersion"] = 99;
        Rejected(Zip(("manifest.json", Encoding.UTF8.GetBytes(json.ToJsonString())), ("memory.safetensors", memory)), "unknown version");

        // A manifest whose header claims 2 GB, more than the 16 MB allowed.
        var intact = Zip(("manifest.json", manifest), ("memory.safetensors", memory));
        using (var ok = PatchCoreClassifier.Load(new MemoryStream(intact), encoder)) Assert.AreEqual(model.Threshold, ok.Threshold);
        Rejected(WithDeclaredSize(intact, "manifest.json", 0x7FFF_FFF0), "manifest claims 2 GB");
        // A header that claims fewer bytes than the entry inflates to.
        Rejected(WithDeclaredSize(intact, "memory.safetensors", 100), "memory claims 100 bytes");

        // A memory of the wrong width, or the wrong element type, or with an extra tensor.
        var wide = new TensorData(torch.ScalarType.Float32, [10, PatchDim + 1], new byte[10 * (PatchDim + 1) * 4]);
        Rejected(Zip(("manifest.json", manifest), ("memory.safetensors", SafeTensorsBytes("memory", wide))), "memory of width 25");
        var doubles = new TensorData(torch.ScalarType.Float64, [10, PatchDim], new byte[10 * PatchDim * 8]);
        Rejected(Zip(("manifest.json", manifest), ("memory.safetensors", SafeTensorsBytes("memory", doubles))), "float64 memory");
        var empty = new TensorData(torch.ScalarType.Float32, [0, PatchDim], []);
        Rejected(Zip(("manifest.json", manifest), ("memory.safetensors", SafeTensorsBytes("memory", empty))), "empty memory");
        Rejected(Zip(("manifest.json", manifest), ("memory.safetensors", SafeTensorsBytes("bank", MemoryOf(bytes)))), "memory under another key");
        foreach (var n in normals) n.Dispose();
    }

    [TestMethod]
    public void Load_AMemoryEntryClaiming2GiB_ThrowsCheckpointFormat()
    {
        // 2^31 bytes is exactly the tensor entry cap: the size check passes, and the reader must still fail cleanly.
        using var encoder = new TinyEncoder();
        var normals = SyntheticImages.Normals(2, seed: 6);
        using var model = PatchCoreClassifier.Fit(encoder, normals, Options);
        var entries = Entries(SaveToBytes(model));
        var zip = WithDeclaredSize(Zip(("manifest.json", entries["manifest.json"]), ("memory.safetensors", entries["memory.safetensors"])),
            "memory.safetensors", 0x8000_0000);
        Assert.ThrowsExactly<CheckpointFormatException>(() => PatchCoreClassifier.Load(new MemoryStream(zip), encoder));
        foreach (var n in normals) n.Dispose();
    }

    [TestMethod]
    public void BadArgumentsThrow()
    {
        using var encoder = new TinyEncoder();
        using var image = SyntheticImages.Normal(new Random(1));
        var e = Assert.ThrowsExactly<ArgumentException>(() => PatchCoreClassifier.Fit(encoder, [], Options));
        StringAssert.Contains(e.Message, "at least one normal image");
        Assert.ThrowsExactly<ArgumentException>(() => PatchCoreClassifier.Fit(encoder, [image, null!], Options));
        Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => PatchCoreClassifier.Fit(encoder, [image], Options with { MemoryLimit = 0 }));

        Assert.ThrowsExactly<NotSupportedException>(() => encoder.WithResolution(64));
        Assert.ThrowsExactly<NotSupportedException>(() => PatchCoreClassifier.Fit(encoder, [image], Options with { Resolution = 64 }));

        using var model = PatchCoreClassifier.Fit(encoder, [image], Options);
        Assert.ThrowsExactly<ArgumentException>(() => model.AddNormals([]));
        Assert.ThrowsExactly<ArgumentException>(() => model.AddNormals([null!]));
        Assert.AreEqual(1, model.Shots, "a rejected AddNormals changes nothing");
        var (scores, maps) = model.ScoreWithMaps([], withMaps: true);
        Assert.IsEmpty(scores);
        Assert.IsEmpty(maps);

        using var scope = torch.NewDisposeScope();
        using var wrongWidth = new PatchFeatures(torch.zeros(64, PatchDim + 1), [new PatchGrid(8, 8, encoder.Layout(40, 40), 40, 40)]);
        Assert.ThrowsExactly<ArgumentException>(() => model.ScorePatches(wrongWidth));
    }

    [TestMethod]
    public void ScoresAreContinuous_AndProbabilitiesStrictlyInsideZeroOne()
    {
        using var encoder = new TinyEncoder();
        var normals = SyntheticImages.Normals(3, seed: 7);
        using var model = PatchCoreClassifier.Fit(encoder, normals, Options);
        var images = TestImages();
        var scores = model.Score(images);
        TestContext.WriteLine($"scores {string.Join(", ", scores.Select(s => s.ToString("G5")))}; threshold {model.Threshold:G5}");
        Assert.HasCount(images.Count, scores.Distinct().ToArray(), "pairwise distinct");
        Assert.IsTrue(scores.All(s => s > 0 && float.IsFinite(s)));

        var probabilities = scores.Select(model.ToProbability).ToArray();
        TestContext.WriteLine($"probabilities {string.Join(", ", probabilities.Select(p => p.ToString("G5")))}");
        Assert.IsTrue(probabilities.All(p => p > 0f && p < 1f), "strictly inside (0, 1)");
        Assert.HasCount(images.Count, probabilities.Distinct().ToArray(), "probabilities pairwise distinct");
        for (int i = 0; i < scores.Length; i++)
            for (int j = 0; j < scores.Length; j++)
                if (scores[i] < scores[j]) Assert.IsLessThan(probabilities[j], probabilities[i], $"order of {i} and {j}");
        Assert.AreEqual(0.5f, model.ToProbability(model.Threshold), 1e-6f);
        foreach (var n in normals) n.Dispose();
    }

    [TestMethod]
    public void Saliency_HasTheImageSizeAndIsNonNegative()
    {
        using var encoder = new TinyEncoder();
        var normals = SyntheticImages.Normals(2, seed: 3);
        using var model = PatchCoreClassifier.Fit(encoder, normals, Options);
        using var image = WithSquare(SyntheticImages.Normal(new Random(8), 50, 37), 5, 5, 8);
        var map = model.Saliency(image);
        Assert.HasCount(50 * 37, map);
        Assert.IsTrue(map.All(v => v >= 0f && float.IsFinite(v)));
        Assert.IsGreaterThan(0f, map.Max());
        foreach (var n in normals) n.Dispose();
    }
}
