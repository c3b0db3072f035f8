using Fsac.MLNet.Checkpoints.Onnx;
using Fsac.MLNet.Encoders.Onnx;
using Google.Protobuf;
using Microsoft.ML.OnnxRuntime;
using TorchSharp;
using DataType = Fsac.MLNet.Checkpoints.Onnx.TensorProto.Types.DataType;

namespace Fsac.MLNet.Tests.Encoders;

/// <summary>
/// <see cref="OnnxGraphBuilder"/>'s three ways of placing weights (copied, viewed in place until the builder is
/// disposed, or bound as graph inputs) and its free image dimensions.
/// </summary>
[TestClass]
public sealed class OnnxGraphBuilderTests
{
    [TestMethod]
    public void AViewingBuilderSerialisesTheSameBytesAsACopyingOne_AndONNXRuntimeRunsThem()
    {
        torch.manual_seed(3);
        using var weight = torch.randn(3, 4);
        using var transposed = weight.t(); // not contiguous: converted once
        var w = weight.data<float>().ToArray();
        var copied = Graph(new OnnxGraphBuilder("affine"), weight, transposed);
        byte[] borrowedBytes;
        using (var g = new OnnxGraphBuilder("affine", weights: WeightPlacement.Viewed)) borrowedBytes = Graph(g, weight, transposed);
        CollectionAssert.AreEqual(copied, borrowedBytes);

        // Disposing the builder released its views only: the network's own tensor keeps its storage and values.
        CollectionAssert.AreEqual(w, weight.data<float>().ToArray());
        using var session = new InferenceSession(borrowedBytes);
        float[] x = [1f, 2f, -1f];
        using var input = OrtValue.CreateTensorValueFromMemory(x, [1, 3]);
        using var outputs = session.Run(new RunOptions(), ["x"], [input], ["y", "back"]);
        var y = AssertAffine(x, w, outputs[0]);
        var back = outputs[1].GetTensorDataAsSpan<float>().ToArray();
        for (int i = 0; i < 3; i++)
            Assert.AreEqual(Enumerable.Range(0, 4).Sum(j => y[j] * w[i * 4 + j]), back[i], 1e-4f, $"back[{i}]");
    }

    [TestMethod]
    public void BoundWeightsAreGraphInputsOverTheNetworksOwnStorage_AndONNXRuntimeRunsThemBound()
    {
        torch.manual_seed(5);
        using var weight = torch.randn(3, 4);
        using var transposed = weight.t(); // not contiguous: converted once
        var w = weight.data<float>().ToArray();
        byte[] model;
        IReadOnlyList<KeyValuePair<string, torch.Tensor>> bound;
        using (var g = new OnnxGraphBuilder("affine", weights: WeightPlacement.Bound))
        {
            model = Graph(g, weight, transposed);
            bound = g.TakeBoundWeights();
            Assert.AreEqual(0, g.TakeBoundWeights().Count, "the builder keeps no weight it handed over");
        }
        var graph = ModelProto.Parser.ParseFrom(model).Graph;
        Assert.AreEqual(0, graph.Initializer.Count, "the model holds no weight");
        CollectionAssert.AreEqual(new[] { "x", "w", "w_t" }, graph.Input.Select(i => i.Name).ToArray());
        Assert.AreEqual("3,4", Dims(graph.Input[1]));
        Assert.AreEqual("4,3", Dims(graph.Input[2]));
        CollectionAssert.AreEqual(new[] { "w", "w_t" }, bound.Select(b => b.Key).ToArray());
        // A contiguous float32 weight is bound in place (a write shows in the network's tensor); a strided one is a copy.
        bound[0].Value[0, 0] = torch.tensor(42f);
        Assert.AreEqual(42f, weight[0, 0].item<float>(), "the bound weight shares the network's storage");
        bound[1].Value[0, 0] = torch.tensor(-7f);
        Assert.AreEqual(42f, weight[0, 0].item<float>(), "the converted copy does not");
        bound[0].Value[0, 0] = torch.tensor(w[0]);

        using var session = new InferenceSession(model);
        float[] x = [1f, 2f, -1f];
        using var input = OrtValue.CreateTensorValueFromMemory(x, [1, 3]);
        using var wValue = OrtValue.CreateTensorValueFromMemory(bound[0].Value.data<float>().ToArray(), [3, 4]);
        using var wtValue = OrtValue.CreateTensorValueFromMemory(bound[1].Value.data<float>().ToArray(), [4, 3]);
        using var outputs = session.Run(new RunOptions(), ["x", "w", "w_t"], [input, wValue, wtValue], ["y", "back"]);
        AssertAffine(x, w, outputs[0]);
        foreach (var (_, tensor) in bound) tensor.Dispose();
        // Releasing the bound handles leaves the network's tensor whole.
        CollectionAssert.AreEqual(w, weight.data<float>().ToArray());
    }

    [TestMethod]
    public void OnnxRuntimeNodesImportTheirDomain_AndFusedMatMulMultipliesByTheWeightAsItLies()
    {
        torch.manual_seed(4);
        using var weight = torch.randn(4, 3); // [out, in], as a linear layer holds it
        var w = weight.data<float>().ToArray();
        var g = new OnnxGraphBuilder("linear");
        g.Input("x", DataType.Float, OnnxGraphBuilder.Batch, 2, 3);
        var y = g.OnnxRuntimeNode("FusedMatMul", "linear", ["x", g.Weight("w", weight)], OnnxAttributes.Int("transB", 1));
        g.Output("y", y, DataType.Float, OnnxGraphBuilder.Batch, 2, 4);
        var model = g.Build("test", "", "", new Dictionary<string, string>());
        Assert.IsTrue(model.OpsetImport.Any(o => o.Domain == OnnxGraphBuilder.OnnxRuntimeDomain && o.Version == 1));
        Assert.AreEqual(OnnxGraphBuilder.OnnxRuntimeDomain, model.Graph.Node.Single(n => n.OpType == "FusedMatMul").Domain);

        using var session = new InferenceSession(model.ToByteArray());
        float[] x = [1f, 2f, -1f, 0.5f, 0f, 3f];
        using var input = OrtValue.CreateTensorValueFromMemory(x, [1, 2, 3]);
        using var outputs = session.Run(new RunOptions(), ["x"], [input], ["y"]);
        var actual = outputs[0].GetTensorDataAsSpan<float>().ToArray();
        for (int r = 0; r < 2; r++)
            for (int o = 0; o < 4; o++)
                Assert.AreEqual(Enumerable.Range(0, 3).Sum(i => x[r * 3 + i] * w[o * 3 + i]), actual[r * 4 + o], 1e-5f, $"y[{r}, {o}]");
    }

    [TestMethod]
    public void FreeImageSidesAreNamedDimensions()
    {
        var g = new OnnxGraphBuilder("sides");
        g.Input("pixels", DataType.Float, OnnxGraphBuilder.Batch, 3, OnnxGraphBuilder.Height, OnnxGraphBuilder.Width);
        g.Output("grid", "pixels", DataType.Float, OnnxGraphBuilder.Batch, 3, OnnxGraphBuilder.GridHeight, OnnxGraphBuilder.GridWidth);
        var graph = g.Build("test", "", "", new Dictionary<string, string>()).Graph;
        Assert.AreEqual("N,3,H,W", Dims(graph.Input[0]));
        Assert.AreEqual("N,3,h,w", Dims(graph.Output[0]));
    }

    [TestMethod]
    public void OnlyContiguousCpuTensorsAreViewedInPlace()
    {
        using var matrix = torch.ones(2, 3);
        using var column = matrix.t();
        using var strided = column.alias();
        Assert.ThrowsExactly<ArgumentException>(() => new TensorMemory(strided));
        using var memory = new TensorMemory(matrix.alias());
        Assert.AreEqual(2 * 3 * sizeof(float), memory.Memory.Length);
    }

    // Checks that output is x·W for x [1, 3] and row-major W [3, 4], and returns it.
    private static float[] AssertAffine(float[] x, float[] w, OrtValue output)
    {
        var y = output.GetTensorDataAsSpan<float>().ToArray();
        for (int j = 0; j < 4; j++)
            Assert.AreEqual(x[0] * w[j] + x[1] * w[4 + j] + x[2] * w[8 + j], y[j], 1e-5f, $"y[{j}]");
        return y;
    }

    // y = x·W [N, 4] and back = y·Wᵀ [N, 3], with W and Wᵀ given as weights, serialised.
    private static byte[] Graph(OnnxGraphBuilder g, torch.Tensor weight, torch.Tensor transposed)
    {
        g.Input("x", DataType.Float, OnnxGraphBuilder.Batch, 3);
        var y = g.Node("MatMul", "affine", ["x", g.Weight("w", weight)]);
        var back = g.Node("MatMul", "back.product", [y, g.Weight("w_t", transposed)]);
        g.Output("y", y, DataType.Float, OnnxGraphBuilder.Batch, 4);
        g.Output("back", back, DataType.Float, OnnxGraphBuilder.Batch, 3);
        return g.Build("test", "", "", new Dictionary<string, string>()).ToByteArray();
    }

    private static string Dims(ValueInfoProto value)
        => string.Join(",", value.Type.TensorType.Shape.Dim.Select(d => d.HasDimParam ? d.DimParam : d.DimValue.ToString(System.Globalization.CultureInfo.InvariantCulture)));
}
