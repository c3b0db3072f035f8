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
        var attribute = model.Nodes.Single().Attribute.Single();
        Assert.AreEqual("then_branch", attribute.Name);
        Assert.IsNull(attribute.T, "graph-valued attributes are not read");
        Assert.IsFalse(attribute.HasI);

        var e = Assert.ThrowsExactly<CheckpointFormatException>(() => OnnxModelReader.Parse(bytes[..^1], "cut.onnx"));
        Assert.AreEqual("cut.onnx", e.FilePath);
        StringAssert.Contains(e.Message, $"the protobuf parser stopped at byte {bytes.Length - 1} of {bytes.Length - 1}");
        StringAssert.Contains(e.Message, "the input ended unexpectedly");
    }

    [TestMethod]
    public void UnknownGroupsNested100000DeepStopAtTheRecursionLimit()
    {
        // Groups (wire types 3 and 4) are the one field form protobuf skips by recursing: field 99 of ModelProto,
        // a group in a group, PickleDepth deep.
        var bytes = new byte[2 + 4 * PickleDepth];
        bytes[0] = 1 << 3;
        bytes[1] = 7;
        for (int i = 0; i < PickleDepth; i++)
        {
            bytes[2 + 2 * i] = 0x9B; // (99 << 3 | 3) as a varint: 0x9B 0x06
            bytes[3 + 2 * i] = 0x06;
            bytes[2 + 2 * PickleDepth + 2 * i] = 0x9C; // (99 << 3 | 4)
            bytes[3 + 2 * PickleDepth + 2 * i] = 0x06;
        }

        var e = Assert.ThrowsExactly<CheckpointFormatException>(() => OnnxModelReader.Parse(bytes, "groups.onnx"));

        Assert.AreEqual("groups.onnx", e.FilePath);
        StringAssert.Contains(e.Message, "too many levels of nesting");
    }

    [TestMethod]
    public void TheRecursionLimitIsTheSchemasDeepestMessage()
    {
        // A graph input whose shape's dimension, the schema's deepest message (6 below ModelProto), holds an unknown
        // field: read when that field is a nested message, which is skipped unparsed; refused when it is a group,
        // which would nest one level deeper than any message of the schema.
        byte[] Model(Action<ProtoWriter> dimension) => new ProtoWriter().Varint(1, 7)
            .Message(7, g => g.Message(11, v => v.String(1, "x").Message(2, tp => tp.Message(1, tt => tt.Varint(1, 1)
                .Message(2, s => s.Message(1, d => { d.Varint(1, 3); dimension(d); }))))))
            .ToArray();

        var model = OnnxModelReader.Parse(Model(d => d.Message(50, m => m.Message(1, mm => mm.Varint(1, 1)))), "message.onnx");
        CollectionAssert.AreEqual(new long[] { 3 }, model.Inputs.Single().Dims());

        var e = Assert.ThrowsExactly<CheckpointFormatException>(() => OnnxModelReader.Parse(Model(d => d.Group(50, _ => { })), "group.onnx"));
        StringAssert.Contains(e.Message, "too many levels of nesting");
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
