using Fsac.MLNet.Checkpoints;
using Fsac.MLNet.Checkpoints.Onnx;
using Fsac.MLNet.Classifiers;
using static Fsac.MLNet.Tests.Checkpoints.TorchSaveWriter;
using System.IO.Compression;
using System.Text;

namespace Fsac.MLNet.Tests.Checkpoints;

/// <summary>
/// Small files declaring huge sizes: each claim is refused, naming the file and the field, before anything of that
/// size is allocated (measured as the bytes the test thread allocates while the reader runs).
/// </summary>
[TestClass]
public sealed class HostileSizeTests
{
    /// <summary>Far more than refusing needs, far less than any of the claims.</summary>
    private const long AllocationLimit = 16L << 20;

    private TempDir folder = null!;

    [TestInitialize]
    public void Create() => folder = new TempDir();

    [TestCleanup]
    public void Delete() => folder.Dispose();

    private static T ThrowsWithoutAllocating<T>(Action read) where T : Exception
    {
        long before = GC.GetAllocatedBytesForCurrentThread();
        var e = Assert.ThrowsExactly<T>(read);
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.IsLessThan(AllocationLimit, allocated, $"allocated {allocated} bytes to refuse: {e.Message}");
        return e;
    }

    [TestMethod]
    [DataRow(1L << 20, "the input ended unexpectedly")]
    [DataRow(1L << 31, "negative size")]
    [DataRow(long.MaxValue, "negative size")]
    public void AProtobufLengthPrefixBeyondTheFileIsRefused(long length, string problem)
    {
        // The graph's claim, then 16 bytes of what a graph holds (its name).
        var bytes = new ProtoWriter().Varint(1, 7).ToArray().Concat(LengthPrefixed(7, length))
            .Concat(new ProtoWriter().String(2, "fourteen chars").ToArray()).ToArray();

        var e = ThrowsWithoutAllocating<CheckpointFormatException>(() => OnnxModelReader.Parse(bytes, "long.onnx"));

        Assert.AreEqual("long.onnx", e.FilePath);
        StringAssert.Contains(e.Message, "the protobuf parser stopped at byte");
        StringAssert.Contains(e.Message, $"of {bytes.Length}");
        StringAssert.Contains(e.Message, problem);
    }

    [TestMethod]
    public void RawDataClaimingAGigabyteInsideMessagesClaimingAsMuchIsRefused()
    {
        // The graph, the initializer and its raw_data all declare 1 GiB, consistently, over 4 KiB of bytes: the
        // parser reads the claim in chunks of what is there and never allocates what is only declared.
        const long claim = 1L << 30;
        var rawData = LengthPrefixed(9, claim);
        var tensorBody = new ProtoWriter().Varint(2, 1).String(8, "w").ToArray().Concat(rawData).ToArray();
        var tensor = LengthPrefixed(5, tensorBody.Length + claim).Concat(tensorBody).ToArray();
        var bytes = new ProtoWriter().Varint(1, 7).ToArray().Concat(LengthPrefixed(7, tensor.Length + claim)).Concat(tensor)
            .Concat(new byte[4096]).ToArray();

        var e = ThrowsWithoutAllocating<CheckpointFormatException>(() => OnnxModelReader.Parse(bytes, "claim.onnx"));

        Assert.AreEqual("claim.onnx", e.FilePath);
        StringAssert.Contains(e.Message, $"stopped at byte {bytes.Length} of {bytes.Length}");
        StringAssert.Contains(e.Message, "the input ended unexpectedly");
    }

    private static byte[] LengthPrefixed(int field, long length)
    {
        var bytes = new List<byte> { (byte)(field << 3 | 2) };
        for (ulong v = (ulong)length; ; v >>= 7)
        {
            if (v < 0x80) { bytes.Add((byte)v); break; }
            bytes.Add((byte)(v | 0x80));
        }
        return [.. bytes];
    }

    [TestMethod]
    [DataRow(400_000_000L, "needs 400000000 values but stores 1")]
    [DataRow(1_000_000_000_000L, "larger than one array can hold")]
    public void AnOnnxTensorDeclaringDimsItHasNoValuesForIsRefused(long dim, string problem)
    {
        // A float initializer of one value whose dims claim many.
        var bytes = new ProtoWriter().Varint(1, 7)
            .Message(7, g => g.Message(5, t => t.Varint(1, dim).Varint(2, 1).String(8, "w").PackedFloats(4, 1f)))
            .ToArray();

        var e = ThrowsWithoutAllocating<CheckpointFormatException>(() => OnnxModelReader.Parse(bytes, "dims.onnx"));

        StringAssert.Contains(e.Message, "tensor 'w'");
        StringAssert.Contains(e.Message, problem);
    }

    [TestMethod]
    public void ASafetensorsHeaderLengthBeyondTheFileIsRefused()
    {
        var path = folder.File("long.safetensors");
        File.WriteAllBytes(path, [0, 0, 0, 0, 0, 1, 0, 0, (byte)'{', (byte)'}']);

        var e = ThrowsWithoutAllocating<CheckpointFormatException>(() => CheckpointReader.ReadStateDict(path));

        StringAssert.Contains(e.Message, "safetensors header claims 1099511627776 bytes but the file has 2");
    }

    [TestMethod]
    public void APickledStorageLargerThanAnArrayIsRefused()
    {
        var path = folder.File("storage.pt");
        Write(path, [Item("w", new PickledTensor("0", "FloatStorage", 1L << 62, 0, [4], [1]))], new Dictionary<string, byte[]> { ["0"] = new byte[16] });

        var e = ThrowsWithoutAllocating<CheckpointFormatException>(() => TorchPickleReader.Read(path));

        StringAssert.Contains(e.Message, "storage '0' declares 4611686018427387904 elements of Float32, more than one array can hold");
    }

    [TestMethod]
    public void AStorageRecordDeclaringAGigabyteInATinyArchiveIsRefused()
    {
        // The pickle and the record's zip headers agree on 2^28 floats (1 GiB), but the record holds 16 bytes.
        var honest = folder.File("honest.pt");
        Write(honest, [Item("w", new PickledTensor("0", "FloatStorage", 1L << 28, 0, [4], [1]))], new Dictionary<string, byte[]> { ["0"] = new byte[16] });
        var path = folder.File("bomb.pt");
        File.WriteAllBytes(path, ZipHeaders.WithDeclaredSize(File.ReadAllBytes(honest), "archive/data/0", 1u << 30));

        var e = ThrowsWithoutAllocating<CheckpointFormatException>(() => TorchPickleReader.Read(path));

        Assert.AreEqual(path, e.FilePath);
        StringAssert.Contains(e.Message, "zip entry 'archive/data/0' declares 1073741824 bytes from 16 compressed bytes");
    }

    [TestMethod]
    public void OneStorageNamedThousandsOfTimesIsRefusedBeforeItIsCopied()
    {
        // 5000 names for the same 1 MiB of floats would materialise 5 GB.
        const int elements = 1 << 18;
        var path = folder.File("aliases.pt");
        Write(path, Enumerable.Range(0, 5000).Select(i => Item($"t{i}", new PickledTensor("0", "FloatStorage", elements, 0, [elements], [1]))),
              new Dictionary<string, byte[]> { ["0"] = new byte[elements * 4] });

        var e = ThrowsWithoutAllocating<CheckpointFormatException>(() => TorchPickleReader.Read(path));

        StringAssert.Contains(e.Message, $"the tensors add up to {5000L * elements * 4} bytes but their storages hold {elements * 4}");
    }

    [TestMethod]
    public void ATensorNameLongerThan4096CharactersIsRefused()
    {
        var path = folder.File("name.pt");
        Write(path, [Item(new string('k', 5000), new PickledTensor("0", "FloatStorage", 4, 0, [4], [1]))], new Dictionary<string, byte[]> { ["0"] = new byte[16] });

        var e = Assert.ThrowsExactly<CheckpointFormatException>(() => TorchPickleReader.Read(path));

        StringAssert.Contains(e.Message, "longer than 4096 characters");
    }

    [TestMethod]
    public void AModelManifestDeclaring16MiBFromAFewBytesIsRefusedBeforeInflating()
    {
        const int manifestCap = 16 << 20;
        using var zip = new MemoryStream();
        using (var archive = new ZipArchive(zip, ZipArchiveMode.Create, leaveOpen: true))
        using (var manifest = archive.CreateEntry("manifest.json").Open())
            manifest.Write("{\"format\":\"x\"}"u8);
        var bomb = ZipHeaders.WithDeclaredSize(zip.ToArray(), "manifest.json", manifestCap);

        var e = ThrowsWithoutAllocating<CheckpointFormatException>(() => FewShotAnomalyClassifier.Load(new MemoryStream(bomb), source: "bomb.fsac"));

        Assert.AreEqual("bomb.fsac", e.FilePath);
        StringAssert.Contains(e.Message, $"zip entry 'manifest.json' declares {manifestCap} bytes from");
        StringAssert.Contains(e.Message, "more than they can inflate to");
    }

    [TestMethod]
    public void AZipEntryInflatingPastItsDeclaredSizeIsRefused()
    {
        var honest = folder.File("honest.pt");
        Write(honest, [Item("w", new PickledTensor("0", "FloatStorage", 2, 0, [2], [1]))], new Dictionary<string, byte[]> { ["0"] = new byte[16] });
        var path = folder.File("long.pt");
        File.WriteAllBytes(path, ZipHeaders.WithDeclaredSize(File.ReadAllBytes(honest), "archive/data/0", 8));

        var e = Assert.ThrowsExactly<CheckpointFormatException>(() => TorchPickleReader.Read(path));

        StringAssert.Contains(e.Message, "zip entry 'archive/data/0' inflates past its declared 8 bytes");
    }
}
