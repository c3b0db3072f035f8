using Fsac.MLNet.Checkpoints;
using static Fsac.MLNet.Tests.Checkpoints.TorchSaveWriter;
using System.IO.Compression;
using System.Text;
using TorchSharp;

namespace Fsac.MLNet.Tests.Checkpoints;

[TestClass]
public class TorchPickleReaderTests
{
    private static byte[] L(string bytes) => Encoding.Latin1.GetBytes(bytes);

    private static byte[] Floats(int count, float start = 0) => Enumerable.Range(0, count).SelectMany(i => BitConverter.GetBytes(start + i * 1.5f)).ToArray();

    [TestMethod]
    [DataRow("tiny-vit")]
    [DataRow("tiny-vit-quickgelu")]
    public void TorchSaveFixtureEqualsItsSafetensorsTwin(string model)
    {
        var fromPickle = TorchPickleReader.Read(SharedData.Path("clip-reference", model, "open_clip_pytorch_model.bin"));
        var fromSafetensors = SafeTensors.Read(SharedData.Path("clip-reference", model, "open_clip_model.safetensors"));
        Assert.IsGreaterThan(30, fromPickle.Count);
        StateDictAssert.AreIdentical(fromSafetensors, fromPickle);
    }

    [TestMethod]
    [DataRow(false)]
    [DataRow(true)]
    public void StridedViewsAndParametersAreMaterialisedLikeTorch(bool protocol4)
    {
        using var dir = new TempDir();
        var storage = Floats(12);
        PickledTensor View(long offset, long[] shape, long[] stride) => new("0", "FloatStorage", 12, offset, shape, stride);
        var views = new Dictionary<string, PickledTensor>
        {
            ["whole"] = View(0, [3, 4], [4, 1]),
            ["transposed"] = View(0, [4, 3], [1, 4]),
            ["sliced"] = View(5, [2, 2], [4, 1]),
            ["strided_cols"] = View(1, [3, 2], [4, 2]),
            ["broadcast"] = View(2, [3, 2], [0, 1]),
            ["scalar"] = View(7, [], []),
            ["empty"] = View(0, [0, 5], [5, 1]),
            ["param"] = View(4, [2, 4], [4, 1]) with { AsParameter = true },
        };
        var path = dir.File("views.pt");
        Write(path, views.Select(kv => Item(kv.Key, kv.Value)), new Dictionary<string, byte[]> { ["0"] = storage }, protocol4);

        var read = TorchPickleReader.Read(path);

        CollectionAssert.AreEqual(views.Keys.ToList(), read.Keys.ToList(), "names, in the pickle's order");
        using var flat = torch.tensor(storage.Chunk(4).Select(b => BitConverter.ToSingle(b)).ToArray());
        foreach (var (name, v) in views)
        {
            using var expected = flat.as_strided(v.Shape, v.Stride, v.Offset).contiguous();
            Assert.AreEqual(torch.ScalarType.Float32, read[name].DType, name);
            CollectionAssert.AreEqual(v.Shape, read[name].Shape, name);
            CollectionAssert.AreEqual(expected.bytes.ToArray(), read[name].Data, name);
        }
    }

    [TestMethod]
    public void StorageTypesGiveTheirDTypes()
    {
        using var dir = new TempDir();
        (string Type, torch.ScalarType DType, int Size)[] types =
        [
            ("HalfStorage", torch.ScalarType.Float16, 2), ("BFloat16Storage", torch.ScalarType.BFloat16, 2),
            ("DoubleStorage", torch.ScalarType.Float64, 8), ("LongStorage", torch.ScalarType.Int64, 8),
            ("IntStorage", torch.ScalarType.Int32, 4), ("ShortStorage", torch.ScalarType.Int16, 2),
            ("CharStorage", torch.ScalarType.Int8, 1), ("ByteStorage", torch.ScalarType.Byte, 1), ("BoolStorage", torch.ScalarType.Bool, 1),
        ];
        var storages = types.ToDictionary(t => t.Type, t => Enumerable.Range(1, 3 * t.Size).Select(i => (byte)(i % 2)).ToArray());
        var path = dir.File("types.pt");
        Write(path, types.Select(t => Item(t.Type, new PickledTensor(t.Type, t.Type, 3, 0, [3], [1]))), storages);

        var read = TorchPickleReader.Read(path);

        foreach (var (type, dtype, _) in types)
        {
            Assert.AreEqual(dtype, read[type].DType, type);
            CollectionAssert.AreEqual(storages[type], read[type].Data, type);
        }
    }

    [TestMethod]
    public void BigEndianArchivesAreByteSwapped()
    {
        using var dir = new TempDir();
        var little = Floats(4);
        var big = little.Chunk(4).SelectMany(c => c.Reverse()).ToArray();
        var path = dir.File("big.pt");
        Write(path, [Item("w", new PickledTensor("0", "FloatStorage", 4, 0, [4], [1]))], new Dictionary<string, byte[]> { ["0"] = big }, byteOrder: "big");

        CollectionAssert.AreEqual(little, TorchPickleReader.Read(path)["w"].Data);
    }

    [TestMethod]
    public void TrainingCheckpointYieldsOnlyItsStateDict()
    {
        using var dir = new TempDir();
        var path = dir.File("train.pt");
        object[] paramGroups = [new[] { Item("lr", 0.001), Item("params", new object[] { 0L, 1L }) }];
        Write(path,
        [
            Item("epoch", 31L),
            Item("name", "run"),
            Item("state_dict", new[] { Item("a", new PickledTensor("0", "FloatStorage", 4, 0, [4], [1])) }),
            Item("optimizer", new[]
            {
                Item("state", new[] { Item(0L, new[] { Item("exp_avg", new PickledTensor("1", "FloatStorage", 4, 0, [4], [1])) }) }),
                Item("param_groups", paramGroups),
            }),
        ], new Dictionary<string, byte[]> { ["0"] = Floats(4), ["1"] = Floats(4, 100) });

        var read = TorchPickleReader.Read(path);

        CollectionAssert.AreEqual(new[] { "a" }, read.Keys.ToList());
        CollectionAssert.AreEqual(Floats(4), read["a"].Data);
    }

    [TestMethod]
    public void NestedDictsGiveDottedNames()
    {
        using var dir = new TempDir();
        var path = dir.File("nested.pt");
        Write(path,
        [
            Item("model", new[] { Item("w", new PickledTensor("0", "FloatStorage", 4, 0, [4], [1])) }),
            Item("step", new[] { Item(3L, new PickledTensor("0", "FloatStorage", 4, 1, [2], [1])) }),
            Item("note", "ignored"),
        ], new Dictionary<string, byte[]> { ["0"] = Floats(4) });

        var read = TorchPickleReader.Read(path);

        CollectionAssert.AreEqual(new[] { "model.w", "step.3" }, read.Keys.ToList());
        CollectionAssert.AreEqual(Floats(4)[4..12], read["step.3"].Data);
    }

    // 'os.system' through GLOBAL, 'builtins.eval' through STACK_GLOBAL, a torch function, a TorchScript class.
    [TestMethod]
    [DataRow("\u0080\u0002cos\nsystem\nq\u0000X\u0002\u0000\u0000\u0000lsq\u0001\u0085q\u0002Rq\u0003.", "os.system")]
    [DataRow("\u0080\u0004\u008c\u0008builtins\u008c\u0004eval\u0093\u008c\u00011\u0085R.", "builtins.eval")]
    [DataRow("\u0080\u0002ctorch\nload\n)R.", "torch.load")]
    [DataRow("\u0080\u0002c__torch__.model\nCLIP\n)\u0081.", "__torch__.model.CLIP")]
    public void GlobalsOutsideTheWhitelistAreRefused(string pickle, string global)
    {
        using var dir = new TempDir();
        var path = dir.File("evil.pt");
        WriteArchive(path, L(pickle), new Dictionary<string, byte[]>());

        var e = Assert.ThrowsExactly<CheckpointFormatException>(() => TorchPickleReader.Read(path));

        StringAssert.Contains(e.Message, $"refusing to load: the pickle references '{global}'");
        Assert.AreEqual(path, e.FilePath);
    }

    [TestMethod]
    [DataRow(1, 3, new long[] { 3 }, new long[] { 1 }, "reaches element 3 of a storage of 3")]
    [DataRow(-1, 3, new long[] { 2 }, new long[] { 1 }, "negative")]
    [DataRow(0, 3, new long[] { 2, 2 }, new long[] { 1, 2 }, "reaches element 3")]
    [DataRow(0, 3, new long[] { 1L << 40, 1L << 20 }, new long[] { 0, 0 }, "more than one array can hold")]
    public void ViewsOutsideTheirStorageAreRejected(long offset, long storageElements, long[] shape, long[] stride, string problem)
    {
        using var dir = new TempDir();
        var path = dir.File("bad.pt");
        Write(path, [Item("w", new PickledTensor("0", "FloatStorage", storageElements, offset, shape, stride))],
              new Dictionary<string, byte[]> { ["0"] = Floats((int)storageElements) });

        var e = Assert.ThrowsExactly<CheckpointFormatException>(() => TorchPickleReader.Read(path));

        StringAssert.Contains(e.Message, "tensor 'w'");
        StringAssert.Contains(e.Message, problem);
    }

    [TestMethod]
    public void StorageRecordOfTheWrongSizeOrMissingIsRejected()
    {
        using var dir = new TempDir();
        var wrongSize = dir.File("size.pt");
        Write(wrongSize, [Item("w", new PickledTensor("0", "FloatStorage", 4, 0, [4], [1]))], new Dictionary<string, byte[]> { ["0"] = Floats(3) });
        var missing = dir.File("missing.pt");
        Write(missing, [Item("w", new PickledTensor("7", "FloatStorage", 4, 0, [4], [1]))], new Dictionary<string, byte[]>());

        StringAssert.Contains(Assert.ThrowsExactly<CheckpointFormatException>(() => TorchPickleReader.Read(wrongSize)).Message, "its record has 12 bytes");
        StringAssert.Contains(Assert.ThrowsExactly<CheckpointFormatException>(() => TorchPickleReader.Read(missing)).Message, "'data/7' is missing");
    }

    [TestMethod]
    public void MalformedPicklesAreRejected()
    {
        using var dir = new TempDir();
        var good = Pickle([Item("w", new PickledTensor("0", "FloatStorage", 4, 0, [4], [1]))]);
        var storages = new Dictionary<string, byte[]> { ["0"] = Floats(4) };
        (byte[] Pickle, string Problem)[] cases =
        [
            (good[..^1], "before its STOP"),
            (good[..(good.Length / 2)], "truncated"),
            (L("\u0080\u0002(i__main__\nX\n."), "unsupported pickle opcode 0x69"),
            (L("\u0080\u0001}."), "protocol 1"),
            (L("\u0080\u0002h\u0005."), "memo entry 5"),
            (L("\u0080\u0002X\u0001\u0000\u0000\u0000aQ."), "persistent id"),
            (L("\u0080\u0002]."), "holds a list, not a dict"),
        ];
        foreach (var (pickle, problem) in cases)
        {
            var path = dir.File(Guid.NewGuid() + ".pt");
            WriteArchive(path, pickle, storages);
            var e = Assert.ThrowsExactly<CheckpointFormatException>(() => TorchPickleReader.Read(path), problem);
            StringAssert.Contains(e.Message, problem);
        }
    }

    [TestMethod]
    public void LegacyTorchSaveFilesAreExplained()
    {
        using var dir = new TempDir();
        var path = dir.File("legacy.pt");
        // The legacy format starts with a pickled magic number: PROTO 2, LONG1 0x1950a86a20f9469cfc6c.
        File.WriteAllBytes(path, [0x80, 0x02, 0x8a, 0x0a, 0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19, 0x2e]);

        StringAssert.Contains(Assert.ThrowsExactly<CheckpointFormatException>(() => TorchPickleReader.Read(path)).Message, "torch>=1.6");
    }

    [TestMethod]
    public void TorchScriptArchivesAreExplained()
    {
        using var dir = new TempDir();
        var path = dir.File("ViT-B-16.pt");
        WriteArchive(path, L("\u0080\u0002}."), new Dictionary<string, byte[]>(),
                     extraRecords: [("constants.pkl", L("\u0080\u0002).")), ("code/__torch__/model.py", "class CLIP: ..."u8.ToArray())]);

        var e = Assert.ThrowsExactly<CheckpointFormatException>(() => TorchPickleReader.Read(path));

        StringAssert.Contains(e.Message, "TorchScript");
        StringAssert.Contains(e.Message, "torch.jit.load");
    }

    [TestMethod]
    public void ZipWithoutDataPklIsRejected()
    {
        using var dir = new TempDir();
        var path = dir.File("other.zip");
        using (var zip = ZipFile.Open(path, ZipArchiveMode.Create)) zip.CreateEntry("readme.txt");

        StringAssert.Contains(Assert.ThrowsExactly<CheckpointFormatException>(() => TorchPickleReader.Read(path)).Message, "data.pkl");
    }
}
