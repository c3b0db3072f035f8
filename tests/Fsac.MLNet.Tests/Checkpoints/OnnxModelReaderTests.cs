using Fsac.MLNet.Checkpoints;
using Fsac.MLNet.Checkpoints.Onnx;
using System.Runtime.InteropServices;
using Microsoft.ML.OnnxRuntime;
using TorchSharp;

namespace Fsac.MLNet.Tests.Checkpoints;

[TestClass]
public sealed class OnnxModelReaderTests
{
    // onnx.proto field numbers used to hand-encode models.
    private const int ModelIr = 1, ModelGraph = 7, ModelOpset = 8, GraphNode = 1, GraphName = 2, GraphInit = 5, GraphInput = 11, GraphOutput = 12;
    private const int NodeIn = 1, NodeOut = 2, NodeName = 3, NodeOp = 4, NodeAttr = 5;
    private const int AttrName = 1, AttrF = 2, AttrI = 3, AttrS = 4, AttrInts = 8;
    private const int TDims = 1, TType = 2, TFloats = 4, TInt32s = 5, TInt64s = 7, TName = 8, TRaw = 9, TExternalData = 13, TDataLocation = 14;

    public TestContext TestContext { get; set; } = null!;

    [TestMethod]
    public void Read_PackagedResNet18_InputsAndOutputsMatchOnnxRuntime()
    {
        var path = PackagedModels.ResNet18;
        var model = OnnxModelReader.Read(path);
        using var session = new InferenceSession(path);

        var inputs = model.Inputs.Where(i => !model.Initializers.ContainsKey(i.Name)).ToList();
        CollectionAssert.AreEquivalent(session.InputMetadata.Keys.ToList(), inputs.Select(i => i.Name).ToList());
        foreach (var i in inputs) CollectionAssert.AreEqual(session.InputMetadata[i.Name].Dimensions.Select(d => (long)d).ToArray(), i.Dims());
        CollectionAssert.AreEquivalent(session.OutputMetadata.Keys.ToList(), model.Outputs.Select(o => o.Name).ToList());
        foreach (var o in model.Outputs) CollectionAssert.AreEqual(session.OutputMetadata[o.Name].Dimensions.Select(d => (long)d).ToArray(), o.Dims());

        // Every node input is a graph input, an initializer or an earlier node's output.
        var known = new HashSet<string>(model.Inputs.Select(i => i.Name).Concat(model.Initializers.Keys));
        foreach (var node in model.Nodes)
        {
            foreach (var input in node.Inputs) Assert.Contains(input, known, $"{node.OpType} '{node.Name}' reads an undefined value");
            foreach (var output in node.Outputs) known.Add(output);
        }
        Assert.AreEqual(110, model.Initializers.Count);
        foreach (var (name, t) in model.Initializers)
            Assert.AreEqual(t.ElementCount * TensorData.ElementSize(t.DType), t.Data.LongLength, name);
    }

    private static readonly float[] RawFloats = [1.5f, -2f, 3.25f, 0f];

    /// <summary>
    /// A model using every field form the reader decodes, its graph last, so that every proper prefix of it cuts a
    /// message short or lacks the graph.
    /// </summary>
    private static byte[] HandEncodedModel() => new ProtoWriter()
        .Varint(ModelIr, 7)
        .Fixed64(99, 0xDEADBEEF) // unknown field: skipped
        .Message(ModelOpset, o => o.String(1, "").Varint(2, 13))
        .Message(ModelGraph, g => g
            .String(GraphName, "tiny")
            .Message(GraphInit, t => t.Varint(TDims, 2).Varint(TDims, 2).Varint(TType, 1).String(TName, "raw")
                .Bytes(TRaw, MemoryMarshal.AsBytes(RawFloats.AsSpan())))
            .Message(GraphInit, t => t.PackedVarints(TDims, 3).Varint(TType, 1).String(TName, "floats").PackedFloats(TFloats, 0.5f, -1f, 7f))
            .Message(GraphInit, t => t.Varint(TDims, 2).Varint(TType, 7).String(TName, "longs").PackedVarints(TInt64s, -3, 1L << 40))
            .Message(GraphInit, t => t.Varint(TDims, 3).Varint(TType, 3).String(TName, "int8s").Varint(TInt32s, -1).Varint(TInt32s, 5).Varint(TInt32s, 127))
            .Message(GraphInit, t => t.Varint(TType, 1).String(TName, "scalar").Fixed32(TFloats, 42f))
            .Message(GraphNode, n => n.String(NodeIn, "x").String(NodeIn, "raw").String(NodeOut, "y").String(NodeName, "c0").String(NodeOp, "Conv")
                .Message(NodeAttr, a => a.String(AttrName, "strides").Varint(AttrInts, 2).Varint(AttrInts, 2))
                .Message(NodeAttr, a => a.String(AttrName, "pads").PackedVarints(AttrInts, 1, 1, 0, 0))
                .Message(NodeAttr, a => a.String(AttrName, "epsilon").Fixed32(AttrF, 1e-3f))
                .Message(NodeAttr, a => a.String(AttrName, "group").Varint(AttrI, 1))
                .Message(NodeAttr, a => a.String(AttrName, "auto_pad").String(AttrS, "NOTSET")))
            .Message(GraphInput, v => v.String(1, "x").Message(2, tp => tp.Message(1, tt => tt.Varint(1, 1)
                .Message(2, s => s.Message(1, d => d.String(2, "batch")).Message(1, d => d.Varint(1, 3))))))
            .Message(GraphOutput, v => v.String(1, "y")))
        .ToArray();

    [TestMethod]
    public void Read_StreamsTheFile_HashesItInThatPass_AndDecodesAsParseDoes()
    {
        using var dir = new TempDir();
        var path = System.IO.Path.Combine(dir.Path, "tiny.onnx");
        var bytes = HandEncodedModel();
        File.WriteAllBytes(path, bytes);

        using var hash = System.Security.Cryptography.IncrementalHash.CreateHash(System.Security.Cryptography.HashAlgorithmName.SHA256);
        var read = OnnxModelReader.Read(path, hash);
        var parsed = OnnxModelReader.Parse(bytes, "tiny.onnx");

        // The file is hashed in the pass that parses it, whole.
        CollectionAssert.AreEqual(System.Security.Cryptography.SHA256.HashData(bytes), hash.GetHashAndReset());

        CollectionAssert.AreEquivalent(parsed.Initializers.Keys.ToList(), read.Initializers.Keys.ToList());
        foreach (var (name, t) in parsed.Initializers)
        {
            Assert.AreEqual(t.DType, read.Initializers[name].DType, name);
            CollectionAssert.AreEqual(t.Shape, read.Initializers[name].Shape, name);
            CollectionAssert.AreEqual(t.Data, read.Initializers[name].Data, name);
        }
        Assert.AreEqual(parsed.Nodes.Count, read.Nodes.Count);
    }

    [TestMethod]
    public void Parse_HandEncodedModel_DecodesEveryFieldForm()
    {
        var bytes = HandEncodedModel();

        var model = OnnxModelReader.Parse(bytes, "tiny.onnx");

        var inits = model.Initializers;
        Assert.AreEqual(torch.ScalarType.Float32, inits["raw"].DType);
        CollectionAssert.AreEqual(new long[] { 2, 2 }, inits["raw"].Shape);
        CollectionAssert.AreEqual(RawFloats, MemoryMarshal.Cast<byte, float>(inits["raw"].Data).ToArray());
        CollectionAssert.AreEqual(new long[] { 3 }, inits["floats"].Shape);
        CollectionAssert.AreEqual(new[] { 0.5f, -1f, 7f }, MemoryMarshal.Cast<byte, float>(inits["floats"].Data).ToArray());
        Assert.AreEqual(torch.ScalarType.Int64, inits["longs"].DType);
        CollectionAssert.AreEqual(new[] { -3L, 1L << 40 }, MemoryMarshal.Cast<byte, long>(inits["longs"].Data).ToArray());
        Assert.AreEqual(torch.ScalarType.Int8, inits["int8s"].DType);
        CollectionAssert.AreEqual(new sbyte[] { -1, 5, 127 }, MemoryMarshal.Cast<byte, sbyte>(inits["int8s"].Data).ToArray());
        Assert.IsEmpty(inits["scalar"].Shape);
        Assert.AreEqual(42f, BitConverter.ToSingle(inits["scalar"].Data));

        var node = model.Nodes.Single();
        Assert.AreEqual("Conv", node.OpType);
        Assert.AreEqual("c0", node.Name);
        CollectionAssert.AreEqual(new[] { "x", "raw" }, node.Inputs.ToArray());
        CollectionAssert.AreEqual(new[] { "y" }, node.Outputs.ToArray());
        CollectionAssert.AreEqual(new long[] { 2, 2 }, node.GetInts("strides").ToArray());
        CollectionAssert.AreEqual(new long[] { 1, 1, 0, 0 }, node.GetInts("pads").ToArray());
        Assert.AreEqual(1e-3f, node.GetFloat("epsilon", 0f));
        Assert.AreEqual(1L, node.GetInt("group", 0));
        Assert.AreEqual("NOTSET", node.GetString("auto_pad", ""));
        Assert.AreEqual(9L, node.GetInt("missing", 9));

        // graph.input.type.tensor_type.shape.dim: the deepest the schema nests, at the recursion limit.
        var input = model.Inputs.Single();
        Assert.AreEqual("x", input.Name);
        CollectionAssert.AreEqual(new long[] { -1, 3 }, input.Dims());
        Assert.AreEqual("y", model.Outputs.Single().Name);
    }

    [TestMethod]
    public void Parse_RawDataOfWrongLength_Throws()
    {
        var bytes = new ProtoWriter().Varint(ModelIr, 7)
            .Message(ModelGraph, g => g.Message(GraphInit, t => t.Varint(TDims, 2).Varint(TType, 1).String(TName, "w").Bytes(TRaw, new byte[7])))
            .ToArray();
        var e = Assert.ThrowsExactly<CheckpointFormatException>(() => OnnxModelReader.Parse(bytes, "bad.onnx"));
        Assert.AreEqual("bad.onnx", e.FilePath);
        StringAssert.Contains(e.Message, "'w'");
    }

    [TestMethod]
    public void Parse_TruncatedModel_ThrowsAtEveryCut()
    {
        var bytes = File.ReadAllBytes(PackagedModels.ResNet18);
        foreach (var cut in new[] { 1, 2, 64, bytes.Length / 3, bytes.Length / 2, bytes.Length - 1 })
        {
            var e = Assert.ThrowsExactly<CheckpointFormatException>(() => OnnxModelReader.Parse(bytes[..cut], "cut.onnx"), $"cut at {cut}");
            Assert.AreEqual("cut.onnx", e.FilePath);
            TestContext.WriteLine($"cut at {cut}: {e.Message}");
        }
    }

    [TestMethod]
    public void Read_TruncatedFile_ThrowsNamingTheFile()
    {
        var dir = Directory.CreateTempSubdirectory("fsac-onnx-");
        try
        {
            var path = Path.Combine(dir.FullName, "half.onnx");
            var bytes = File.ReadAllBytes(PackagedModels.ResNetPreprocess);
            File.WriteAllBytes(path, bytes[..(bytes.Length / 2)]);
            var e = Assert.ThrowsExactly<CheckpointFormatException>(() => OnnxModelReader.Read(path));
            Assert.AreEqual(path, e.FilePath);
            StringAssert.Contains(e.Message, path);
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }

    [TestMethod]
    public void Parse_GarbageOrEmpty_Throws()
    {
        var random = new byte[4096];
        new Random(1234).NextBytes(random);
        Assert.ThrowsExactly<CheckpointFormatException>(() => OnnxModelReader.Parse(random, "random.onnx"));
        Assert.ThrowsExactly<CheckpointFormatException>(() => OnnxModelReader.Parse("not a model at all\n"u8.ToArray(), "text.onnx"));
        Assert.ThrowsExactly<CheckpointFormatException>(() => OnnxModelReader.Parse([], "empty.onnx"));
    }

    [TestMethod]
    public void Read_MissingFile_ThrowsFileNotFound()
    {
        Assert.ThrowsExactly<FileNotFoundException>(() => OnnxModelReader.Read(Path.Combine(Path.GetTempPath(), "no-such-model.onnx")));
    }

    [TestMethod]
    public void Parse_HandEncodedModel_CutAtEveryByte_Throws()
    {
        var bytes = HandEncodedModel();
        for (var cut = 1; cut < bytes.Length; cut++)
        {
            var e = Assert.ThrowsExactly<CheckpointFormatException>(() => OnnxModelReader.Parse(bytes[..cut], "cut.onnx"), $"cut at {cut}");
            Assert.AreEqual("cut.onnx", e.FilePath);
        }
    }

    [TestMethod]
    public void Parse_CorruptedBytes_ReadOrThrowCheckpointFormat()
    {
        // Any other exception (from the protobuf runtime or from decoding) fails the test.
        var bytes = HandEncodedModel();
        var random = new Random(4242);
        int refused = 0;
        const int trials = 20_000;
        for (var trial = 0; trial < trials; trial++)
        {
            var corrupt = (byte[])bytes.Clone();
            for (var changes = random.Next(1, 4); changes > 0; changes--) corrupt[random.Next(corrupt.Length)] = (byte)random.Next(256);
            try
            {
                OnnxModelReader.Parse(corrupt, "corrupt.onnx");
            }
            catch (CheckpointFormatException e)
            {
                Assert.AreEqual("corrupt.onnx", e.FilePath);
                refused++;
            }
        }
        TestContext.WriteLine($"{refused} of {trials} corrupted models refused, the others read");
        Assert.IsGreaterThan(trials / 2, refused);
    }

    [TestMethod]
    [DataRow("no graph", "the model has no graph.")]
    [DataRow("a graph of the wrong wire type", "the model has no graph.")] // skipped as an unknown field
    [DataRow("no IR version", "the model has no IR version.")]
    [DataRow("a node without operator", "node 'n' has no operator type.")]
    [DataRow("an attribute without name", "an attribute of node 'n' has no name.")]
    [DataRow("two attributes of one name", "node 'n' has two attributes named 'k'.")]
    [DataRow("two initializers of one name", "two initializers are named 'w'.")]
    [DataRow("a string tensor", "tensor 'w' has unsupported ONNX data type 8.")]
    [DataRow("a negative dimension", "tensor 'w' has a negative dimension [2, -1].")]
    [DataRow("int64 values in float_data", "tensor 'w' of shape [1] needs 1 values but stores 0.")]
    [DataRow("an attribute tensor of the wrong size", "tensor 't' of shape [2] needs 8 bytes of raw data but has 4.")]
    public void Parse_ModelBreakingARule_ThrowsNamingTheProblem(string rule, string problem)
    {
        var w = new ProtoWriter();
        var node = (ProtoWriter n) => n.String(NodeIn, "x").String(NodeOut, "y").String(NodeName, "n");
        var bytes = (rule switch
        {
            "no graph" => w.Varint(ModelIr, 7),
            "a graph of the wrong wire type" => w.Varint(ModelIr, 7).Varint(ModelGraph, 1),
            "no IR version" => w.Message(ModelGraph, g => g.String(GraphName, "g")),
            "a node without operator" => w.Varint(ModelIr, 7).Message(ModelGraph, g => g.Message(GraphNode, n => node(n))),
            "an attribute without name" => w.Varint(ModelIr, 7).Message(ModelGraph, g => g.Message(GraphNode, n => node(n).String(NodeOp, "Relu")
                .Message(NodeAttr, a => a.Varint(AttrI, 1)))),
            "two attributes of one name" => w.Varint(ModelIr, 7).Message(ModelGraph, g => g.Message(GraphNode, n => node(n).String(NodeOp, "Relu")
                .Message(NodeAttr, a => a.String(AttrName, "k").Varint(AttrI, 1)).Message(NodeAttr, a => a.String(AttrName, "k").Varint(AttrI, 2)))),
            "two initializers of one name" => w.Varint(ModelIr, 7).Message(ModelGraph, g => g
                .Message(GraphInit, t => t.Varint(TType, 1).String(TName, "w").Fixed32(TFloats, 1f))
                .Message(GraphInit, t => t.Varint(TType, 1).String(TName, "w").Fixed32(TFloats, 2f))),
            "a string tensor" => w.Varint(ModelIr, 7).Message(ModelGraph, g => g.Message(GraphInit, t => t.Varint(TType, 8).String(TName, "w"))),
            "a negative dimension" => w.Varint(ModelIr, 7).Message(ModelGraph, g => g.Message(GraphInit, t => t.PackedVarints(TDims, 2, -1).Varint(TType, 1).String(TName, "w"))),
            "int64 values in float_data" => w.Varint(ModelIr, 7).Message(ModelGraph, g => g
                .Message(GraphInit, t => t.Varint(TDims, 1).Varint(TType, 7).String(TName, "w").Fixed32(TFloats, 1f))),
            "an attribute tensor of the wrong size" => w.Varint(ModelIr, 7).Message(ModelGraph, g => g.Message(GraphNode, n => node(n).String(NodeOp, "Constant")
                .Message(NodeAttr, a => a.String(AttrName, "value").Message(5, t => t.Varint(TDims, 2).Varint(TType, 1).String(TName, "t").Bytes(TRaw, new byte[4]))))),
            _ => throw new ArgumentException(rule),
        }).ToArray();

        var e = Assert.ThrowsExactly<CheckpointFormatException>(() => OnnxModelReader.Parse(bytes, "rule.onnx"));

        Assert.AreEqual("'rule.onnx': not a readable ONNX model: " + problem, e.Message);
    }

    [TestMethod]
    [DataRow(true, true, "tensor 'w' keeps its data in an external file ('w.bin'), which is not supported.")]
    [DataRow(true, false, "tensor 'w' keeps its data in an external file, which is not supported.")]
    [DataRow(false, true, "tensor 'w' keeps its data in an external file ('w.bin'), which is not supported.")]
    public void Parse_TensorInAnExternalFile_IsRefused(bool externalLocation, bool externalData, string problem)
    {
        var bytes = new ProtoWriter().Varint(ModelIr, 7).Message(ModelGraph, g => g.Message(GraphInit, t =>
        {
            t.Varint(TDims, 4).Varint(TType, 1).String(TName, "w");
            if (externalData) t.Message(TExternalData, e => e.String(1, "location").String(2, "w.bin")).Message(TExternalData, e => e.String(1, "length").String(2, "16"));
            if (externalLocation) t.Varint(TDataLocation, 1);
        })).ToArray();

        var e = Assert.ThrowsExactly<CheckpointFormatException>(() => OnnxModelReader.Parse(bytes, "external.onnx"));

        StringAssert.Contains(e.Message, problem);
    }

    [TestMethod]
    public void Parse_EndGroupTagAtTheTop_DoesNotEndTheModelSilently()
    {
        // The generated parser returns at an end-group tag it did not open; the initializer after it must not go unread.
        var bytes = new ProtoWriter().Varint(ModelIr, 7).Message(ModelGraph, g => g.String(GraphName, "g"))
            .Verbatim([0x9C, 0x06]) // field 99, wire type 4 (end group)
            .Message(ModelGraph, g => g.Message(GraphInit, t => t.Varint(TDims, 9).Varint(TType, 1).String(TName, "w")))
            .ToArray();

        var e = Assert.ThrowsExactly<CheckpointFormatException>(() => OnnxModelReader.Parse(bytes, "group.onnx"));

        StringAssert.Contains(e.Message, $"the model ends at byte 9 of {bytes.Length}"); // after the tag
    }

    [TestMethod]
    public void Parse_NameThatIsNotUtf8_IsRefused()
    {
        var bytes = new ProtoWriter().Varint(ModelIr, 7).Message(ModelGraph, g => g.Bytes(GraphName, [(byte)'g', 0xFF])).ToArray();

        var e = Assert.ThrowsExactly<CheckpointFormatException>(() => OnnxModelReader.Parse(bytes, "name.onnx"));

        StringAssert.Contains(e.Message, "String is invalid UTF-8");
    }
}
