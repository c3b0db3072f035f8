using Fsac.MLNet.Checkpoints;
using Fsac.MLNet.Checkpoints.Onnx;
using Fsac.MLNet.Classifiers;
using System.Buffers.Binary;
using System.IO.Compression;
using System.Text;

namespace Fsac.MLNet.Tests.Checkpoints;

/// <summary>
/// Inputs nested far deeper than any real file: each reader ends in its typed format error (or reads past what it
/// does not need) without recursing, since a stack overflow would kill the test process itself.
/// </summary>
[TestClass]
public sealed class HostileNestingTests
{
    private const int PickleDepth = 100_000, ProtoDepth = 10_000, JsonDepth = 10_000;

    private TempDir folder = null!;

    [TestInitialize]
    public void Create() => folder = new TempDir();

    [TestCleanup]
    public void Delete() => folder.Dispose();

    private static byte[] Pickle(Action<MemoryStream> body)
    {
        using var ms = new MemoryStream();
        ms.Write([0x80, 0x02]);
        body(ms);
        ms.WriteByte((byte)'.');
        return ms.ToArray();
    }

    private static void Repeat(MemoryStream ms, int times, params byte[] ops)
    {
        for (int i = 0; i < times; i++) ms.Write(ops);
    }

    private string Checkpoint(byte[] pickle)
    {
        var path = folder.File(Guid.NewGuid() + ".pt");
        TorchSaveWriter.WriteArchive(path, pickle, new Dictionary<string, byte[]>());
        return path;
    }

    [TestMethod]
    public void DictsNested100000DeepStopAt64()
    {
        // {"a": {"a": ... }}: EMPTY_DICT, then (BINUNICODE "a", EMPTY_DICT) x N, then SETITEM x N.
        var pickle = Pickle(ms =>
        {
            ms.WriteByte((byte)'}');
            Repeat(ms, PickleDepth, (byte)'X', 1, 0, 0, 0, (byte)'a', (byte)'}');
            Repeat(ms, PickleDepth, (byte)'s');
        });

        var e = Assert.ThrowsExactly<CheckpointFormatException>(() => TorchPickleReader.Read(Checkpoint(pickle)));

        StringAssert.Contains(e.Message, "nest more than 64 deep");
        StringAssert.Contains(e.Message, "a.a.a.");
    }

    [TestMethod]
    [DataRow("EMPTY_LIST/APPEND", "a list")]
    [DataRow("MARK/TUPLE", "a tuple")]
    [DataRow("TUPLE1", "a tuple")]
    public void ListsAndTuplesNested100000DeepAreNotAStateDict(string ops, string what)
    {
        var pickle = Pickle(ms =>
        {
            switch (ops)
            {
                case "EMPTY_LIST/APPEND":
                    Repeat(ms, PickleDepth, (byte)']');
                    Repeat(ms, PickleDepth - 1, (byte)'a');
                    break;
                case "MARK/TUPLE":
                    Repeat(ms, PickleDepth, (byte)'(');
                    Repeat(ms, PickleDepth, (byte)'t');
                    break;
                default:
                    ms.Write([(byte)'K', 0]);
                    Repeat(ms, PickleDepth, 0x85); // TUPLE1 nests with a stack of one value
                    break;
            }
        });

        var e = Assert.ThrowsExactly<CheckpointFormatException>(() => TorchPickleReader.Read(Checkpoint(pickle)));

        StringAssert.Contains(e.Message, $"the checkpoint holds {what}, not a dict of tensors");
    }

    private static void Varint(List<byte> into, long value)
    {
        for (; value >= 0x80; value >>= 7) into.Add((byte)(value | 0x80));
        into.Add((byte)value);
    }

    /// <summary>
    /// A model whose node carries a subgraph attribute whose node carries one, <paramref name="depth"/> deep. Built
    /// from the inside out with the nested field last in each message, so that each level is a prefix of the rest.
    /// </summary>
    private static byte[] NestedSubgraphs(int depth)
    {
        var prefixes = new List<byte[]>();
        long inner = 0; // the innermost GraphProto is empty
        for (int level = 0; level < depth; level++)
        {
            // AttributeProto { name (1) = "then_branch", g (6) = the graph inside }
            var attribute = new List<byte> { 0x0a, 11 };
            attribute.AddRange("then_branch"u8.ToArray());
            attribute.Add(6 << 3 | 2);
            Varint(attribute, inner);
            inner += attribute.Count;
            // NodeProto { op_type (4) = "If", attribute (5) = the attribute }
            var node = new List<byte> { 4 << 3 | 2, 2, (byte)'I', (byte)'f', 5 << 3 | 2 };
            Varint(node, inner);
            inner += node.Count;
            // GraphProto { node (1) = the node }
            var graph = new List<byte> { 1 << 3 | 2 };
            Varint(graph, inner);
            inner += graph.Count;
            prefixes.Add([.. attribute]);
            prefixes.Add([.. node]);
            prefixes.Add([.. graph]);
        }
        // ModelProto { ir_version (1) = 7, graph (7) = the outermost graph }
        var model = new List<byte> { 1 << 3, 7, 7 << 3 | 2 };
        Varint(model, inner);
        for (int i = prefixes.Count - 1; i >= 0; i--) model.AddRange(prefixes[i]);
        return [.. model];
    }

    [TestMethod]
    public void SubgraphsNested10000DeepAreSkippedWithoutRecursion()
    {
        var bytes = NestedSubgraphs(ProtoDepth);

        var model = OnnxModelReader.Parse(bytes, "nested.onnx");
        var attribute = model.Graph.Nodes.Single().Attributes["then_branch"];
        Assert.IsNull(attribute.Tensor, "graph-valued attributes are not read");
        Assert.IsNull(attribute.Int);

        var e = Assert.ThrowsExactly<CheckpointFormatException>(() => OnnxModelReader.Parse(bytes.AsSpan(0, bytes.Length - 1), "cut.onnx"));
        Assert.AreEqual("cut.onnx", e.FilePath);
        StringAssert.Contains(e.Message, "ModelProto field 7 claims");
    }

    private static readonly string DeepJson = new string('[', JsonDepth) + new string(']', JsonDepth);

    [TestMethod]
    public void ASafetensorsHeaderNested10000DeepIsRefused()
    {
        var header = Encoding.UTF8.GetBytes($$"""{"w":{{DeepJson}}}""");
        var bytes = new byte[8 + header.Length];
        BinaryPrimitives.WriteUInt64LittleEndian(bytes, (ulong)header.Length);
        header.CopyTo(bytes, 8);
        var path = folder.File("deep.safetensors");
        File.WriteAllBytes(path, bytes);

        var e = Assert.ThrowsExactly<CheckpointFormatException>(() => CheckpointReader.ReadStateDict(path));

        StringAssert.Contains(e.Message, "safetensors header is not valid JSON");
        StringAssert.Contains(e.Message, "depth");
    }

    [TestMethod]
    public void AModelManifestNested10000DeepIsRefused()
    {
        using var zip = new MemoryStream();
        using (var archive = new ZipArchive(zip, ZipArchiveMode.Create, leaveOpen: true))
        using (var manifest = archive.CreateEntry("manifest.json").Open())
            manifest.Write(Encoding.UTF8.GetBytes($$"""{"format":{{DeepJson}}}"""));
        zip.Position = 0;

        var e = Assert.ThrowsExactly<CheckpointFormatException>(() => FewShotAnomalyClassifier.Load(zip, source: "deep.fsac"));

        Assert.AreEqual("deep.fsac", e.FilePath);
        StringAssert.Contains(e.Message, "manifest is not valid JSON");
        StringAssert.Contains(e.Message, "depth");
    }
}
