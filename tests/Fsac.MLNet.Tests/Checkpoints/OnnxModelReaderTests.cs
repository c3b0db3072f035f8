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
    private const int TDims = 1, TType = 2, TFloats = 4, TInt32s = 5, TInt64s = 7, TName = 8, TRaw = 9;

    public TestContext TestContext { get; set; } = null!;

    [TestMethod]
    public void Read_PackagedResNet18_InputsAndOutputsMatchOnnxRuntime()
    {
        var path = PackagedModels.ResNet18;
        var model = OnnxModelReader.Read(path);
        using var session = new InferenceSession(path);

        var inputs = model.Graph.Inputs.Where(i => !model.Graph.Initializers.ContainsKey(i.Name)).ToList();
        CollectionAssert.AreEquivalent(session.InputMetadata.Keys.ToList(), inputs.Select(i => i.Name).ToList());
        foreach (var i in inputs) CollectionAssert.AreEqual(session.InputMetadata[i.Name].Dimensions.Select(d => (long)d).ToArray(), i.Shape.ToArray());
        CollectionAssert.AreEquivalent(session.OutputMetadata.Keys.ToList(), model.Graph.Outputs.Select(o => o.Name).ToList());
        foreach (var o in model.Graph.Outputs) CollectionAssert.AreEqual(session.OutputMetadata[o.Name].Dimensions.Select(d => (long)d).ToArray(), o.Shape.ToArray());

        // Every node input is a graph input, an initializer or an earlier node's output.
        var known = new HashSet<string>(model.Graph.Inputs.Select(i => i.Name).Concat(model.Graph.Initializers.Keys));
        foreach (var node in model.Graph.Nodes)
        {
            foreach (var input in node.Inputs) Assert.Contains(input, known, $"{node.OpType} '{node.Name}' reads an undefined value");
            foreach (var output in node.Outputs) known.Add(output);
        }
        foreach (var (name, t) in model.Graph.Initializers)
            Assert.AreEqual(t.ElementCount * TensorData.ElementSize(t.DType), t.Data.LongLength, name);
        Assert.IsGreaterThan(0L, model.OpsetVersion);
    }

    [TestMethod]
    public void Parse_HandEncodedModel_DecodesEveryFieldForm()
    {
        var rawFloats = new float[] { 1.5f, -2f, 3.25f, 0f };
        var bytes = new ProtoWriter()
            .Varint(ModelIr, 7)
            .Fixed64(99, 0xDEADBEEF) // unknown field: skipped
            .Message(ModelGraph, g => g
                .String(GraphName, "tiny")
                .Message(GraphInit, t => t.Varint(TDims, 2).Varint(TDims, 2).Varint(TType, 1).String(TName, "raw")
                    .Bytes(TRaw, MemoryMarshal.AsBytes(rawFloats.AsSpan())))
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
            .Message(ModelOpset, o => o.String(1, "").Varint(2, 13))
            .ToArray();

        var model = OnnxModelReader.Parse(bytes, "tiny.onnx");

        Assert.AreEqual(7L, model.IrVersion);
        Assert.AreEqual(13L, model.OpsetVersion);
        Assert.AreEqual("tiny", model.Graph.Name);
        var inits = model.Graph.Initializers;
        Assert.AreEqual(torch.ScalarType.Float32, inits["raw"].DType);
        CollectionAssert.AreEqual(new long[] { 2, 2 }, inits["raw"].Shape);
        CollectionAssert.AreEqual(rawFloats, MemoryMarshal.Cast<byte, float>(inits["raw"].Data).ToArray());
        CollectionAssert.AreEqual(new long[] { 3 }, inits["floats"].Shape);
        CollectionAssert.AreEqual(new[] { 0.5f, -1f, 7f }, MemoryMarshal.Cast<byte, float>(inits["floats"].Data).ToArray());
        Assert.AreEqual(torch.ScalarType.Int64, inits["longs"].DType);
        CollectionAssert.AreEqual(new[] { -3L, 1L << 40 }, MemoryMarshal.Cast<byte, long>(inits["longs"].Data).ToArray());
        Assert.AreEqual(torch.ScalarType.Int8, inits["int8s"].DType);
        CollectionAssert.AreEqual(new sbyte[] { -1, 5, 127 }, MemoryMarshal.Cast<byte, sbyte>(inits["int8s"].Data).ToArray());
        Assert.IsEmpty(inits["scalar"].Shape);
        Assert.AreEqual(42f, BitConverter.ToSingle(inits["scalar"].Data));

        var node = model.Graph.Nodes.Single();
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

        var input = model.Graph.Inputs.Single();
        Assert.AreEqual("x", input.Name);
        CollectionAssert.AreEqual(new long[] { -1, 3 }, input.Shape.ToArray());
        Assert.AreEqual("y", model.Graph.Outputs.Single().Name);
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
            var e = Assert.ThrowsExactly<CheckpointFormatException>(() => OnnxModelReader.Parse(bytes.AsSpan(0, cut), "cut.onnx"), $"cut at {cut}");
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
        Assert.ThrowsExactly<CheckpointFormatException>(() => OnnxModelReader.Parse("not a model at all\n"u8, "text.onnx"));
        Assert.ThrowsExactly<CheckpointFormatException>(() => OnnxModelReader.Parse([], "empty.onnx"));
    }

    [TestMethod]
    public void Read_MissingFile_ThrowsFileNotFound()
    {
        Assert.ThrowsExactly<FileNotFoundException>(() => OnnxModelReader.Read(Path.Combine(Path.GetTempPath(), "no-such-model.onnx")));
    }
}
