using Fsac.MLNet.Checkpoints;
using Fsac.MLNet.Checkpoints.Onnx;
using Fsac.MLNet.Encoders.ResNet;
using Google.Protobuf;

namespace Fsac.MLNet.Tests.Encoders;

/// <summary>
/// The importer over the generated ONNX classes: graphs that are not the expected network, however they differ,
/// fail with a <see cref="CheckpointFormatException"/> naming the file, never with an index or overflow exception.
/// </summary>
[TestClass]
public sealed class OnnxResNetImporterTests
{
    private static OnnxModel s_backbone = null!;
    private static OnnxModel s_preprocess = null!;

    public TestContext TestContext { get; set; } = null!;

    [ClassInitialize]
    public static void ReadPackagedModels(TestContext _)
    {
        s_backbone = OnnxModelReader.Read(PackagedModels.ResNet18);
        s_preprocess = OnnxModelReader.Read(PackagedModels.ResNetPreprocess);
    }

    private static ValueInfoProto Tensor(string name, params long[] dims)
    {
        var shape = new TensorShapeProto();
        foreach (var d in dims) shape.Dim.Add(new TensorShapeProto.Types.Dimension { DimValue = d });
        return new ValueInfoProto { Name = name, Type = new TypeProto { TensorType = new TypeProto.Types.Tensor { ElemType = 1, Shape = shape } } };
    }

    private static OnnxModel Read(GraphProto graph, string source) =>
        OnnxModelReader.Parse(new ModelProto { IrVersion = 8, Graph = graph }.ToByteArray(), source);

    [TestMethod]
    public void ImportBackbone_NodeWithoutOutput_ThrowsNamingIt()
    {
        var graph = new GraphProto { Input = { Tensor("x", 1, 3, 224, 224) }, Node = { new NodeProto { Name = "c", OpType = "Conv", Input = { "x", "w" } } } };

        var e = Assert.ThrowsExactly<CheckpointFormatException>(() => OnnxResNetImporter.ImportBackbone(Read(graph, "mute.onnx"), "mute.onnx"));

        Assert.AreEqual("mute.onnx", e.FilePath);
        StringAssert.Contains(e.Message, "Conv 'c' has no output.");
    }

    [TestMethod]
    public void ImportPreprocessing_ImageSizeBeyondAnInt_ThrowsNamingIt()
    {
        const long side = 1L << 40;
        var graph = new GraphProto { Input = { Tensor("x", 1, 3, side, side) }, Output = { Tensor("y") } };

        var e = Assert.ThrowsExactly<CheckpointFormatException>(() => OnnxResNetImporter.ImportPreprocessing(Read(graph, "huge.onnx"), "huge.onnx"));

        StringAssert.Contains(e.Message, $"has shape [1, 3, {side}, {side}], expected [N, 3, S, S]");
    }

    [TestMethod]
    [DataRow(true)]
    [DataRow(false)]
    public void Import_StructurallyCorruptedGraphs_ThrowCheckpointFormat(bool backbone)
    {
        // The packaged graphs with one random edit each: a node, input, output or attribute removed, an operator
        // renamed, an input redirected, a node repeated, integer attributes emptied or zeroed. Any other exception fails.
        var model = backbone ? s_backbone : s_preprocess;
        var random = new Random(backbone ? 18 : 224);
        int refused = 0, trials = 400;
        for (var trial = 0; trial < trials; trial++)
        {
            // The nodes are copied, not the initializers: the importer reads those from the model's decoded tensors.
            var graph = new GraphProto { Node = { model.Nodes.Select(n => n.Clone()) }, Input = { model.Inputs }, Output = { model.Outputs } };
            var node = graph.Node[random.Next(graph.Node.Count)];
            var edit = random.Next(8);
            switch (edit)
            {
                case 0: graph.Node.Remove(node); break;
                case 1: node.Output.RemoveAt(node.Output.Count - 1); break;
                case 2: if (node.Input.Count > 0) node.Input.RemoveAt(random.Next(node.Input.Count)); break;
                case 3: if (node.Input.Count > 0) node.Input[random.Next(node.Input.Count)] = graph.Node[random.Next(graph.Node.Count)].Output.FirstOrDefault() ?? "nowhere"; break;
                case 4: if (node.Attribute.Count > 0) node.Attribute.RemoveAt(random.Next(node.Attribute.Count)); break;
                case 5: node.OpType = new[] { "Relu", "Conv", "Add", "AveragePool", "Concat" }[random.Next(5)]; break;
                case 6: graph.Node.Insert(graph.Node.IndexOf(node), node.Clone()); break;
                default:
                    foreach (var a in node.Attribute.Where(a => a.Ints.Count > 0))
                    {
                        long[] zeroed = random.Next(2) == 0 ? [] : a.Ints.Select(_ => 0L).ToArray();
                        a.Ints.Clear();
                        a.Ints.Add(zeroed);
                    }
                    break;
            }
            var edited = new OnnxModel(graph, model.Initializers);
            try
            {
                if (backbone) OnnxResNetImporter.ImportBackbone(edited, "edited.onnx");
                else OnnxResNetImporter.ImportPreprocessing(edited, "edited.onnx");
            }
            catch (CheckpointFormatException e)
            {
                Assert.AreEqual("edited.onnx", e.FilePath, $"edit {edit}");
                refused++;
            }
        }
        TestContext.WriteLine($"{refused} of {trials} edited {(backbone ? "backbone" : "preprocessing")} graphs refused, the others imported");
        Assert.IsGreaterThan(trials / 2, refused);
    }
}
