using Fsac.MLNet.Checkpoints.Onnx;
using Fsac.MLNet.Classifiers;
using Fsac.MLNet.Encoders;
using Fsac.MLNet.Encoders.Onnx;
using Fsac.MLNet.Maps;
using Fsac.MLNet.PatchCore;
using static Fsac.MLNet.Encoders.Onnx.OnnxAttributes;
using System.Globalization;
using System.Reflection;
using Google.Protobuf;

namespace Fsac.MLNet.Export;

/// <summary>
/// ONNX export of a fitted PatchCore model on ResNet18 or a CLIP (<c>PatchCoreClassifier.ExportOnnx</c>): one self-contained graph (opset 17,
/// float32; opset 18 with the in-graph resize) from resized pixels to the decision, for ONNX Runtime or any other ONNX
/// engine. The network's weights and the memory bank are initializers.
/// </summary>
/// <remarks>
/// <para>Input <see cref="PixelsInput"/>: float32 <c>[N, 3, H, W]</c>, RGB, on the 0..255 scale, each image resized
/// to the input layout the model's encoder gives it (<see cref="IImageEncoder.Layout"/>) and nothing else. For
/// ResNet18 that is the bilinear resize of <see cref="ResNet18Encoder.Pixels"/> (for the default method the shorter
/// side at 224 px, the longer rounded to a multiple of 32); for a CLIP backbone OpenCLIP's resize and centre crop to
/// S × S, <see cref="ClipEncoder.Pixels"/>. H and W are fixed when the model is exported.</para>
/// <para>The graph: the encoder's normalisation and network (<see cref="EncoderGraph"/>: for ResNet18 RGB to BGR
/// minus the ImageNet mean image, the stem to layer3 and the patch features of <see cref="ResNetOnnxGraph"/>; for
/// CLIP ÷255, minus the mean and ÷ the std of its preprocessing config, then the image tower's projected patch tokens,
/// <see cref="ClipOnnxGraph"/>), unit length when the model normalises, then the exact float32
/// nearest-neighbour search over the memory, ‖q‖² + min(‖m‖² − 2 q·m) floored at 1e-12 and square-rooted, as
/// <see cref="PatchMemory"/> computes it in float32; the image score is the mean of the TopK largest patch
/// distances. A model fitted with a bfloat16 search is exported with the exact search, whose distances it matches unless
/// bfloat16 rounding made it miss the nearest patch.</para>
/// <para>Outputs: <see cref="ScoreOutput"/> float32 <c>[N]</c>, <see cref="IsAnomalyOutput"/> bool <c>[N]</c>
/// (score ≥ the model's threshold) and <see cref="AnomalyMapOutput"/> float32 <c>[N, h, w]</c>, the patch distances on
/// the patch grid (h = H/8, w = W/8 for ResNet18; S/patch on both sides for CLIP). The library's maps are these resized bilinearly to the image and smoothed with a
/// Gaussian of σ = <see cref="PatchCoreOptions.MapSigma"/> pixels (<see cref="Maps.AnomalyMapBuilder"/>); a
/// caller that wants such maps does that step itself. The metadata (<c>fsac.*</c> keys) records the threshold, the
/// input size, σ and the backbone.</para>
/// <para>Exported with <c>resizeInGraph</c> (<c>fsac export --resize</c>; ResNet18 only), the graph (opset 18) takes the decoded image
/// at the original size given at export instead, float32 <c>[N, 3, H0, W0]</c> RGB on the 0..255 scale, and starts with
/// the encoder's own resize (<see cref="ImageResizeGraph"/>), so that no resizer outside it changes the scores; the
/// metadata then has <c>fsac.resize_in_graph</c> = <c>true</c> and <c>fsac.image_width</c>/<c>fsac.image_height</c>,
/// while <c>fsac.input_width</c>/<c>fsac.input_height</c> stay the resized size inside.</para>
/// </remarks>
public static class OnnxExport
{
    /// <summary>
    /// The input: resized RGB pixels, float32 <c>[N, 3, H, W]</c> on the 0..255 scale; for an export with the in-graph
    /// resize, the decoded images at their original size, <c>[N, 3, H0, W0]</c>.
    /// </summary>
    public const string PixelsInput = "pixels";

    /// <summary>The image scores, float32 <c>[N]</c>.</summary>
    public const string ScoreOutput = "score";

    /// <summary>The decisions, bool <c>[N]</c>: score at or above the threshold.</summary>
    public const string IsAnomalyOutput = "is_anomaly";

    /// <summary>The patch distances, float32 <c>[N, h, w]</c> on the patch grid.</summary>
    public const string AnomalyMapOutput = "anomaly_map";

    /// <summary>
    /// Writes the ONNX graph of a fitted PatchCore model (its memory, options, threshold, method and backbone names,
    /// and encoder) for inputs of the layout of a <paramref name="imageWidth"/> × <paramref name="imageHeight"/> image.
    /// </summary>
    /// <remarks>
    /// With <paramref name="resizeInGraph"/> the input is instead the decoded image at the given size,
    /// float32 <c>[N, 3, imageHeight, imageWidth]</c>, and the graph (opset <see cref="OnnxGraphBuilder.ResizeOpset"/>)
    /// starts with the encoder's resize (<see cref="ImageResizeGraph"/>).
    /// </remarks>
    internal static void Write(PatchMemory memory, PatchCoreOptions options, float threshold, string methodName, string backboneName,
        IImageEncoder encoder, Stream output, int? imageWidth, int? imageHeight, bool resizeInGraph = false)
    {
        ArgumentNullException.ThrowIfNull(output);
        ArgumentNullException.ThrowIfNull(encoder);
        if (resizeInGraph && encoder is not ResNet18Encoder)
            throw new NotSupportedException($"{ImageResizeGraph.OptionName}: the in-graph resize reproduces ResNet18Encoder's resize only, and this model's encoder '{encoder.Name}' has no ONNX form of its resize.");
        EncoderGraph.EnsureExportable(encoder, $"this '{methodName}' model");
        if (imageWidth.HasValue != imageHeight.HasValue)
            throw new ArgumentException("Give both the image width and height, or neither (a square image).", imageWidth.HasValue ? nameof(imageHeight) : nameof(imageWidth));
        if (resizeInGraph && imageWidth is null)
            throw new ArgumentException($"{ImageResizeGraph.OptionName} needs the images' original size, which becomes the graph's input size: " +
                "give imageWidth and imageHeight (--image-size WxH).", nameof(imageWidth));
        var layout = encoder.Layout(imageWidth ?? encoder.ImageSize, imageHeight ?? encoder.ImageSize);
        int height = layout.Height, width = layout.Width;
        ImageResizeGraph.Plan? resize = resizeInGraph ? ImageResizeGraph.For((ResNet18Encoder)encoder, imageWidth!.Value, imageHeight!.Value) : null;

        var g = new OnnxGraphBuilder("fsac_patchcore", resize is null ? OnnxGraphBuilder.Opset : OnnxGraphBuilder.ResizeOpset);
        string pixels = PixelsInput;
        if (resize is { } plan)
        {
            g.Input(PixelsInput, TensorProto.Types.DataType.Float, OnnxGraphBuilder.Batch, 3, plan.ImageHeight, plan.ImageWidth);
            pixels = ImageResizeGraph.Add(g, plan, PixelsInput);
        }
        else
        {
            g.Input(PixelsInput, TensorProto.Types.DataType.Float, OnnxGraphBuilder.Batch, 3, height, width);
        }
        var encoded = EncoderGraph.Add(g, encoder, pixels, height, width, pooled: false, patches: true);
        int gridHeight = encoded.GridHeight, gridWidth = encoded.GridWidth;
        long patches = (long)gridHeight * gridWidth, rows = memory.Count;
        long k = Math.Min(options.TopK, patches);

        // One row per patch, [N, h·w, C], in the grid's row-major order; unit length when the model normalises.
        var queries = EncoderGraph.PatchRows(g, encoded);
        var epsilon = g.Initializer("epsilon", [1e-12f]);
        if (options.Normalize)
        {
            var norms = g.Reduce("ReduceL2", "patch_rows.norm", queries, [2], keepDims: true);
            queries = g.Node("Div", "patch_rows.unit", [queries, g.Node("Max", "patch_rows.norm.floor", [norms, epsilon])]);
        }

        // Exact nearest-neighbour distances: ‖q‖² + min over m of (‖m‖² − 2 q·m), floored, square-rooted.
        using (TorchSharp.torch.NewDisposeScope())
        {
            var bank = memory.Bank;
            var memoryT = g.Initializer("memory_t", bank.t().contiguous().data<float>().ToArray(), memory.Channels, rows);
            var memoryNorms = g.Initializer("memory_sq_norms", bank.square().sum(1).contiguous().data<float>().ToArray(), rows);
            var products = g.Node("MatMul", "products", [queries, memoryT]);
            var scaled = g.Node("Mul", "products.scaled", [products, g.Initializer("minus_two", [-2f])]);
            var combined = g.Node("Add", "partial_sq_distances", [scaled, memoryNorms]);
            var nearest = g.Reduce("ReduceMin", "nearest_partial", combined, [2], keepDims: false);
            var queryNorms = g.Reduce("ReduceSumSquare", "patch_rows.sq_norm", queries, [2], keepDims: false);
            var squared = g.Node("Add", "nearest_sq_distances", [nearest, queryNorms]);
            var distances = g.Node("Sqrt", "distances", [g.Node("Max", "nearest_sq_distances.floor", [squared, epsilon])]);

            var top = g.Node("TopK", "top_distances", [distances, g.Initializer("top_k", [k], 1)], 2, Int("axis", 1), Int("largest", 1), Int("sorted", 1))[0];
            var score = g.Reduce("ReduceMean", "image_score", top, [1], keepDims: false);
            var decision = g.Node("GreaterOrEqual", "decision", [score, g.Initializer("threshold", [threshold])]);
            var map = g.Node("Reshape", "patch_map", [distances, g.Initializer("patch_map.shape", [0, gridHeight, gridWidth], 3)]);

            g.Output(ScoreOutput, score, TensorProto.Types.DataType.Float, OnnxGraphBuilder.Batch);
            g.Output(IsAnomalyOutput, decision, TensorProto.Types.DataType.Bool, OnnxGraphBuilder.Batch);
            g.Output(AnomalyMapOutput, map, TensorProto.Types.DataType.Float, OnnxGraphBuilder.Batch, gridHeight, gridWidth);
        }

        var invariant = CultureInfo.InvariantCulture;
        var metadata = new Dictionary<string, string>
        {
            ["fsac.method"] = methodName,
            ["fsac.backbone"] = backboneName,
            ["fsac.threshold"] = threshold.ToString("R", invariant),
            ["fsac.input"] = resize is { } r
                ? $"RGB float32 [N, 3, {r.ImageHeight}, {r.ImageWidth}] on the 0..255 scale: the decoded {r.ImageWidth}x{r.ImageHeight} image, not resized, not normalised (the graph resizes it to {width}x{height})"
                : $"RGB float32 [N, 3, {height}, {width}] on the 0..255 scale, resized as the encoder resizes, not normalised",
            ["fsac.normalisation"] = EncoderGraph.Normalisation(encoder),
            ["fsac.input_width"] = width.ToString(invariant),
            ["fsac.input_height"] = height.ToString(invariant),
            ["fsac.resize_in_graph"] = resize is null ? "false" : "true",
            ["fsac.map_sigma"] = options.MapSigma.ToString("R", invariant),
            ["fsac.top_k"] = k.ToString(invariant),
        };
        if (resize is { } p)
        {
            metadata["fsac.image_width"] = p.ImageWidth.ToString(invariant);
            metadata["fsac.image_height"] = p.ImageHeight.ToString(invariant);
        }
        var version = typeof(OnnxExport).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion ?? "";
        g.Build("Fsac.MLNet", version, $"Few-shot PatchCore ({backboneName}): {PixelsInput} to {ScoreOutput}, {IsAnomalyOutput} and {AnomalyMapOutput}.", metadata)
            .WriteTo(output);
    }
}
