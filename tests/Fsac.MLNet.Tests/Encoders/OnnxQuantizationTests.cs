using Fsac.MLNet.Checkpoints.Onnx;
using Fsac.MLNet.Encoders.Onnx;
using Fsac.MLNet.Tests.Checkpoints;
using Fsac.MLNet.Tests.Encoders.Clip;
using Google.Protobuf;
using Microsoft.ML.OnnxRuntime;
using System.Runtime.InteropServices;
using static Fsac.MLNet.Encoders.Onnx.OnnxAttributes;
using DataType = Fsac.MLNet.Checkpoints.Onnx.TensorProto.Types.DataType;

namespace Fsac.MLNet.Tests.Encoders;

/// <summary>
/// The dynamic int8 rewrite (<see cref="OnnxQuantization"/>) on small random graphs: what it replaces and keeps, the
/// weights it writes, its outputs against the float graph's under ONNX Runtime, the fusion ONNX Runtime makes of it, and
/// the CLIP image tower of the reference fixtures.
/// </summary>
[TestClass]
public sealed class OnnxQuantizationTests
{
    // Largest |int8 − float| over the largest |float| of an output, and the least cosine of an output to the float one,
    // on the small random graphs below with the full range; the reduced range has one bit less.
    private const double FullRangeError = 0.02, FullRangeCosine = 0.9995;
    private const double ReducedRangeError = 0.04, ReducedRangeCosine = 0.998;

    // The least cosine of the quantized CLIP tower's outputs to the float tower's, per image (measured: 0.9999 and more).
    private const double ClipCosine = 0.999;

    public TestContext TestContext { get; set; } = null!;

    [TestMethod]
    public void TheRewriteLeavesNoFloatProductOnAConstantWeight_AndKeepsTheRest()
    {
        var model = DenseGraph();
        int floatNodes = model.Graph.Node.Count;
        Assert.AreEqual(3, OnnxQuantization.Quantize(model));
        var graph = model.Graph;
        var initializers = graph.Initializer.ToDictionary(t => t.Name);
        foreach (var node in graph.Node.Where(n => n.OpType is "MatMul" or "Gemm" or "Conv"))
            Assert.IsFalse(node.Input.Any(initializers.ContainsKey), $"{node.OpType} '{node.Name}' still reads a constant");
        Assert.AreEqual(1, graph.Node.Count(n => n.OpType == "MatMul"), "the product of two activations stays float");
        Assert.AreEqual(3, graph.Node.Count(n => n.OpType == "DynamicQuantizeLinear"));
        Assert.AreEqual(3, graph.Node.Count(n => n.OpType == "MatMulInteger"));
        Assert.AreEqual(floatNodes - 3 + 3 * 5 + 1, graph.Node.Count, "five nodes per product, and Gemm's C added");
        // The float weights are gone; W1, read by two MatMuls, is quantized once.
        CollectionAssert.IsSubsetOf(new[] { "b1" }, initializers.Keys.ToArray(), "the MatMul's bias stays for its own Add");
        foreach (var name in new[] { "w1", "w2", "c2" }) Assert.IsFalse(initializers.ContainsKey(name), name);
        Assert.AreEqual(2, initializers.Values.Count(t => t.DataType == (int)DataType.Int8), "W1 and W2");
        CollectionAssert.AreEqual(new[] { "g", "t", "h2" }, graph.Output.Select(o => o.Name).ToArray());
        Assert.AreEqual(graph.Node.SelectMany(n => n.Output).Count(), graph.Node.SelectMany(n => n.Output).Distinct().Count(), "every value is written once");

        var conv = ConvGraph();
        Assert.AreEqual(2, OnnxQuantization.Quantize(conv));
        Assert.AreEqual(0, conv.Graph.Node.Count(n => n.OpType == "Conv"));
        var convInteger = conv.Graph.Node.Where(n => n.OpType == "ConvInteger").ToList();
        Assert.HasCount(2, convInteger);
        var convInitializers = conv.Graph.Initializer.ToDictionary(t => t.Name);
        foreach (var node in convInteger)
        {
            Assert.HasCount(4, node.Input, "input, weight and both zero points");
            Assert.AreEqual((int)DataType.Uint8, convInitializers[node.Input[1]].DataType);
            CollectionAssert.AreEqual(new byte[] { 128 }, convInitializers[node.Input[3]].RawData.ToByteArray());
        }
        CollectionAssert.AreEqual(new[] { "kernel_shape", "pads", "strides" }, convInteger[0].Attribute.Select(a => a.Name).Order().ToArray(),
            "Conv's attributes carry over");
    }

    [TestMethod]
    [DataRow(OnnxQuantization.FullRange)]
    [DataRow(OnnxQuantization.ReducedRange)]
    public void WeightsArePerChannelSymmetric_WithinHalfAStepOfTheFloatOnes(int range)
    {
        var dense = DenseGraph();
        var conv = ConvGraph();
        var floats = dense.Graph.Initializer.Concat(conv.Graph.Initializer).ToDictionary(t => t.Name, t => MemoryMarshal.Cast<byte, float>(t.RawData.Span).ToArray());
        OnnxQuantization.Quantize(dense, range);
        OnnxQuantization.Quantize(conv, range);
        var quantized = dense.Graph.Initializer.Concat(conv.Graph.Initializer).ToDictionary(t => t.Name);

        // MatMul's B [8, 16]: one scale per column, the largest level the range.
        var w1 = floats["w1"];
        CheckChannels(Levels(quantized["w1.int8"]), Floats(quantized["w1.scale"]), 8, 16, perRow: false, (k, n) => w1[k * 16 + n], range);
        // Gemm's transposed B [4, 16] is written as [16, 4], one scale per row of the original, alpha (0.5) inside.
        var w2 = floats["w2"];
        CollectionAssert.AreEqual(new long[] { 16, 4 }, quantized["w2.int8"].Dims.ToArray());
        var gemmScales = Floats(quantized["w2.scale"]).Select(s => s / 0.5f).ToArray();
        CheckChannels(Levels(quantized["w2.int8"]), gemmScales, 16, 4, perRow: false, (k, n) => w2[n * 16 + k], range);
        CollectionAssert.AreEqual(floats["c2"].Select(v => 2 * v).ToArray(), Floats(quantized["c2.scaled"]), "beta (2) goes into C");
        // Conv's W [6, 3, 3, 3]: uint8 around 128, one scale per filter shaped [6, 1, 1] to broadcast over [N, 6, H, W]; always the full range.
        var cw = floats["conv1.w"];
        CollectionAssert.AreEqual(new long[] { 6, 1, 1 }, quantized["conv1.w.scale"].Dims.ToArray());
        var convLevels = quantized["conv1.w.uint8"].RawData.ToByteArray().Select(b => b - 128).ToArray();
        CheckChannels(convLevels, Floats(quantized["conv1.w.scale"]), 6, 27, perRow: true, (m, j) => cw[m * 27 + j], OnnxQuantization.FullRange);
        CollectionAssert.AreEqual(new long[] { 6, 1, 1 }, quantized["conv1.b.channels"].Dims.ToArray());
    }

    [TestMethod]
    [DataRow(OnnxQuantization.FullRange, FullRangeError, FullRangeCosine)]
    [DataRow(OnnxQuantization.ReducedRange, ReducedRangeError, ReducedRangeCosine)]
    public void QuantizedGraphsComputeTheFloatOnesWithinTheTolerance(int range, double maxError, double minCosine)
    {
        var random = new Random(5);
        foreach (var (name, model, input, shape) in new[] { ("dense", DenseGraph(), "x", new long[] { 5, 8 }), ("conv", ConvGraph(), "x", [2, 3, 9, 9]) })
        {
            var x = Enumerable.Range(0, (int)shape.Aggregate(1L, (a, b) => a * b)).Select(_ => (float)(random.NextDouble() * 4 - 1)).ToArray();
            var expected = Run(model, input, x, shape);
            var quantized = model.Clone();
            OnnxQuantization.Quantize(quantized, range);
            var actual = Run(quantized, input, x, shape);
            foreach (var (output, values) in expected)
            {
                var (error, cosine) = Compare(actual[output], values);
                TestContext.WriteLine($"{name} {output}, range {range}: max error / max value {error:G3}, cosine {cosine:F6}");
                Assert.IsLessThanOrEqualTo(maxError, error, $"{name} {output}");
                Assert.IsGreaterThanOrEqualTo(minCosine, cosine, $"{name} {output}");
            }
        }
    }

    [TestMethod]
    public void OnnxRuntimeFusesTheMatMulChainsIntoItsInt8Kernel()
    {
        var model = DenseGraph();
        OnnxQuantization.Quantize(model);
        using var dir = new TempDir();
        var optimized = Path.Combine(dir.Path, "optimized.onnx");
        using (var options = new SessionOptions { GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_EXTENDED, OptimizedModelFilePath = optimized })
        using (new InferenceSession(model.ToByteArray(), options)) { }
        var ops = ModelProto.Parser.ParseFrom(File.ReadAllBytes(optimized)).Graph.Node.Select(n => n.OpType).ToList();
        TestContext.WriteLine(string.Join(", ", ops));
        Assert.AreEqual(3, ops.Count(o => o == "DynamicQuantizeMatMul"), "the two MatMuls and the Gemm");
        Assert.IsFalse(ops.Contains("MatMulInteger") || ops.Contains("DynamicQuantizeLinear") || ops.Contains("Cast"), "nothing of the chains is left over");
    }

    [TestMethod]
    public void AGraphWithoutConstantWeightsIsLeftAlone_AndOldOpsetsAndOtherRangesAreRefused()
    {
        var g = new OnnxGraphBuilder("plain");
        g.Input("a", DataType.Float, OnnxGraphBuilder.Batch, 4);
        g.Output("y", g.Node("MatMul", "p", ["a", g.Node("Transpose", "a_t", ["a"])]), DataType.Float, OnnxGraphBuilder.Batch, OnnxGraphBuilder.Batch);
        var model = g.Build("test", "", "", new Dictionary<string, string>());
        var before = model.ToByteArray();
        Assert.AreEqual(0, OnnxQuantization.Quantize(model));
        CollectionAssert.AreEqual(before, model.ToByteArray());

        var old = DenseGraph();
        old.OpsetImport[0].Version = 10;
        var e = Assert.ThrowsExactly<NotSupportedException>(() => OnnxQuantization.Quantize(old));
        StringAssert.Contains(e.Message, "opset 11");
        Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => OnnxQuantization.Quantize(DenseGraph(), 100));
    }

    [TestMethod]
    [DataRow("tiny-vit")]
    [DataRow("tiny-vit-quickgelu")]
    public void TheQuantizedClipTowerComputesTheFloatOnesFeatures(string fixture)
    {
        using var clip = ClipModelTests.LoadReference(fixture);
        var expected = ClipModelTests.Expected(fixture);
        var model = ClipOnnxGraph.Build(clip);
        var quantized = model.Clone();
        int blocks = clip.Config.Vision.Layers;
        Assert.AreEqual(4 * blocks + 2, OnnxQuantization.Quantize(quantized), "four linear layers per block, the patch convolution and the projection");
        var initializers = quantized.Graph.Initializer.Select(t => t.Name).ToHashSet();
        Assert.IsFalse(quantized.Graph.Node.Any(n => n.OpType == "MatMul" && n.Input.Any(initializers.Contains)), "no float MatMul on a weight");
        Assert.AreEqual(2 * blocks, quantized.Graph.Node.Count(n => n.OpType == "MatMul"), "attention's two products of activations");

        foreach (var input in new[] { "random", "files" })
        {
            var pixels = expected[$"pixels_{input}"];
            var values = pixels.contiguous().data<float>().ToArray();
            var reference = Run(model, ClipOnnxGraph.PixelsInput, values, pixels.shape);
            var actual = Run(quantized, ClipOnnxGraph.PixelsInput, values, pixels.shape);
            foreach (var output in new[] { ClipOnnxGraph.ImageEmbedsOutput, ClipOnnxGraph.PatchTokensOutput })
            {
                int images = (int)pixels.shape[0], per = reference[output].Length / images;
                for (int i = 0; i < images; i++)
                {
                    var (_, cosine) = Compare(actual[output].AsSpan(i * per, per).ToArray(), reference[output].AsSpan(i * per, per).ToArray());
                    TestContext.WriteLine($"{fixture} pixels_{input}[{i}] {output}: cosine {cosine:F6}");
                    Assert.IsGreaterThanOrEqualTo(ClipCosine, cosine, $"{fixture} pixels_{input}[{i}] {output}");
                }
            }
        }
    }

    // x [N, 8] -> h = relu(x·W1 + b1) [N, 16]; g = Gemm(h, W2ᵀ, C; alpha 0.5, beta 2) [N, 4]; t = g·gᵀ [N, N];
    // h2 = (−x)·W1 [N, 16], W1 shared with the first product.
    private static ModelProto DenseGraph()
    {
        var random = new Random(1);
        var g = new OnnxGraphBuilder("dense");
        g.Input("x", DataType.Float, OnnxGraphBuilder.Batch, 8);
        var w1 = g.Initializer("w1", Gaussian(random, 8 * 16), 8, 16);
        var h = g.Node("Relu", "h", [g.Node("Add", "h.bias", [g.Node("MatMul", "h.matmul", ["x", w1]), g.Initializer("b1", Gaussian(random, 16), 16)])]);
        var gemm = g.Node("Gemm", "gemm", [h, g.Initializer("w2", Gaussian(random, 4 * 16), 4, 16), g.Initializer("c2", Gaussian(random, 4), 4)],
            Int("transB", 1), Float("alpha", 0.5f), Float("beta", 2f));
        var t = g.Node("MatMul", "gram", [gemm, g.Node("Transpose", "gemm_t", [gemm])]);
        var h2 = g.Node("MatMul", "h2.matmul", [g.Node("Neg", "x_neg", ["x"]), w1]);
        g.Output("g", gemm, DataType.Float, OnnxGraphBuilder.Batch, 4);
        g.Output("t", t, DataType.Float, OnnxGraphBuilder.Batch, OnnxGraphBuilder.Batch);
        g.Output("h2", h2, DataType.Float, OnnxGraphBuilder.Batch, 16);
        return g.Build("test", "", "", new Dictionary<string, string>());
    }

    // x [N, 3, 9, 9] -> relu(conv 3x3 stride 2, pads 1, bias) [N, 6, 5, 5] -> conv 1x1 without bias [N, 4, 5, 5].
    private static ModelProto ConvGraph()
    {
        var random = new Random(2);
        var g = new OnnxGraphBuilder("conv");
        g.Input("x", DataType.Float, OnnxGraphBuilder.Batch, 3, 9, 9);
        var c1 = g.Node("Conv", "conv1", ["x", g.Initializer("conv1.w", Gaussian(random, 6 * 27), 6, 3, 3, 3), g.Initializer("conv1.b", Gaussian(random, 6), 6)],
            Ints("kernel_shape", 3, 3), Ints("strides", 2, 2), Ints("pads", 1, 1, 1, 1));
        var c2 = g.Node("Conv", "conv2", [g.Node("Relu", "relu", [c1]), g.Initializer("conv2.w", Gaussian(random, 4 * 6), 4, 6, 1, 1)], Ints("kernel_shape", 1, 1));
        g.Output("y", c2, DataType.Float, OnnxGraphBuilder.Batch, 4, 5, 5);
        return g.Build("test", "", "", new Dictionary<string, string>());
    }

    private static float[] Gaussian(Random random, int count)
        => [.. Enumerable.Range(0, count).Select(_ => (float)(Math.Sqrt(-2 * Math.Log(1 - random.NextDouble())) * Math.Cos(2 * Math.PI * random.NextDouble())))];

    private static float[] Floats(TensorProto t) => MemoryMarshal.Cast<byte, float>(t.RawData.Span).ToArray();

    private static int[] Levels(TensorProto t) => [.. MemoryMarshal.Cast<byte, sbyte>(t.RawData.Span).ToArray().Select(v => (int)v)];

    // Every channel's largest level is the range, and level × scale is within half a step of the float weight.
    private static void CheckChannels(int[] levels, float[] scales, int rows, int columns, bool perRow, Func<int, int, float> weight, int range)
    {
        Assert.HasCount(rows * columns, levels);
        Assert.HasCount(perRow ? rows : columns, scales);
        var largest = new int[scales.Length];
        for (int i = 0; i < rows; i++)
            for (int j = 0; j < columns; j++)
            {
                int c = perRow ? i : j, level = levels[i * columns + j];
                largest[c] = Math.Max(largest[c], Math.Abs(level));
                Assert.IsLessThanOrEqualTo(scales[c] * 0.5001, Math.Abs(level * scales[c] - weight(i, j)), $"weight [{i}, {j}]");
            }
        CollectionAssert.AreEqual(Enumerable.Repeat(range, scales.Length).ToArray(), largest);
    }

    private static Dictionary<string, float[]> Run(ModelProto model, string input, float[] values, long[] shape)
    {
        using var session = new InferenceSession(model.ToByteArray());
        using var value = OrtValue.CreateTensorValueFromMemory(values, shape);
        using var outputs = session.Run(new RunOptions(), [input], [value], session.OutputNames);
        return session.OutputNames.Zip(outputs).ToDictionary(o => o.First, o => o.Second.GetTensorDataAsSpan<float>().ToArray());
    }

    // Largest |a − b| over the largest |b|, and the cosine of a to b.
    private static (double Error, double Cosine) Compare(float[] a, float[] b)
    {
        Assert.HasCount(b.Length, a);
        double maxError = 0, scale = 0, dot = 0, aa = 0, bb = 0;
        for (int i = 0; i < a.Length; i++)
        {
            maxError = Math.Max(maxError, Math.Abs((double)a[i] - b[i]));
            scale = Math.Max(scale, Math.Abs(b[i]));
            dot += (double)a[i] * b[i];
            aa += (double)a[i] * a[i];
            bb += (double)b[i] * b[i];
        }
        return (maxError / scale, dot / Math.Sqrt(aa * bb));
    }
}
