using Fsac.MLNet.Checkpoints.Onnx;
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
/// ONNX export of a fitted model (<c>FewShotAnomalyClassifier.ExportOnnx</c>): one self-contained graph (opset 17,
/// float32; opset 18 with the in-graph resize) from resized pixels to the decision, for ONNX Runtime or any other ONNX
/// engine. The model hands over its parts (<see cref="ExportedModel"/>): PatchCore's memory (<see cref="MemoryPart"/>),
/// CLIP-FSAC's head on the pooled feature or on every patch (<see cref="HeadPart"/>, <see cref="HeadGraph"/>),
/// WinCLIP+ (<see cref="WinClipPart"/>, <see cref="WinClipGraph"/>), one alone or several fused by the mean of their
/// probabilities. The network's weights, the memory bank, the anchors and the head's weights are initializers.
/// </summary>
/// <remarks>
/// <para>Input <see cref="PixelsInput"/>: float32 <c>[N, 3, H, W]</c>, RGB, on the 0..255 scale, each image resized
/// to the input layout the model's encoder gives it (<see cref="IImageEncoder.Layout"/>) and nothing else. For
/// ResNet18 that is the bilinear resize of <see cref="ResNet18Encoder.Pixels"/> (for the default method the shorter
/// side at 224 px, the longer rounded to a multiple of 32); for a CLIP backbone OpenCLIP's resize and centre crop to
/// S × S, <see cref="ClipEncoder.Pixels"/>. H and W are fixed when the model is exported.</para>
/// <para>PatchCore's graph: the encoder's normalisation and network (<see cref="EncoderGraph"/>: for ResNet18 RGB to BGR
/// minus the ImageNet mean image, the stem to layer3 and the patch features of <see cref="ResNetOnnxGraph"/>; for
/// CLIP ÷255, minus the mean and ÷ the std of its preprocessing config, then the image tower's projected patch tokens,
/// <see cref="ClipOnnxGraph"/>), unit length when the model normalises, then the exact float32
/// nearest-neighbour search over the memory, ‖q‖² + min(‖m‖² − 2 q·m) floored at 1e-12 and square-rooted, as
/// <see cref="PatchMemory"/> computes it in float32; the image score is the mean of the TopK largest patch
/// distances. A model fitted with a bfloat16 search is exported with the exact search, whose distances it matches unless
/// bfloat16 rounding made it miss the nearest patch.</para>
/// <para>The other methods' scores and maps are described with their parts, and the metadata's <c>fsac.score</c> and <c>fsac.anomaly_map</c> name them (global CLIP-FSAC's graph has no
/// <see cref="AnomalyMapOutput"/>: its maps are gradient saliency, which has no ONNX form).</para>
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
    /// Writes the ONNX graph of a fitted model (<see cref="IOnnxExportable.ForExport"/>) for inputs of the layout of a
    /// <paramref name="imageWidth"/> × <paramref name="imageHeight"/> image (a square one when neither is given).
    /// </summary>
    /// <remarks>
    /// With <paramref name="resizeInGraph"/> the input is instead the decoded image at the given size,
    /// float32 <c>[N, 3, imageHeight, imageWidth]</c>, and the graph (opset <see cref="OnnxGraphBuilder.ResizeOpset"/>)
    /// starts with the encoder's resize (<see cref="ImageResizeGraph"/>).
    /// </remarks>
    internal static void Write(ExportedModel model, Stream output, int? imageWidth, int? imageHeight, bool resizeInGraph = false)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(output);
        var encoder = model.Encoder;
        if (resizeInGraph && encoder is not ResNet18Encoder)
            throw new NotSupportedException($"{ImageResizeGraph.OptionName}: the in-graph resize reproduces ResNet18Encoder's resize only, and this model's encoder '{encoder.Name}' has no ONNX form of its resize.");
        EncoderGraph.EnsureExportable(encoder, $"this '{model.MethodName}' model");
        if (imageWidth.HasValue != imageHeight.HasValue)
            throw new ArgumentException("Give both the image width and height, or neither (a square image).", imageWidth.HasValue ? nameof(imageHeight) : nameof(imageWidth));
        if (resizeInGraph && imageWidth is null)
            throw new ArgumentException($"{ImageResizeGraph.OptionName} needs the images' original size, which becomes the graph's input size: " +
                "give imageWidth and imageHeight (--image-size WxH).", nameof(imageWidth));
        var layout = encoder.Layout(imageWidth ?? encoder.ImageSize, imageHeight ?? encoder.ImageSize);
        int height = layout.Height, width = layout.Width;
        ImageResizeGraph.Plan? resize = resizeInGraph ? ImageResizeGraph.For((ResNet18Encoder)encoder, imageWidth!.Value, imageHeight!.Value) : null;

        var g = new OnnxGraphBuilder("fsac_" + GraphName(model.MethodName), resize is null ? OnnxGraphBuilder.Opset : OnnxGraphBuilder.ResizeOpset);
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
        bool pooled = model.Parts.Any(p => p is HeadPart { OnPatches: false } or WinClipPart);
        bool patches = model.Parts.Any(p => p is MemoryPart or HeadPart { OnPatches: true } or WinClipPart);
        var hiddenLayers = model.Parts.OfType<WinClipPart>().SingleOrDefault()?.Layers;
        var encoded = EncoderGraph.Add(g, encoder, pixels, height, width, pooled, patches, hiddenLayers?.ToArray());
        int gridHeight = encoded.GridHeight, gridWidth = encoded.GridWidth;
        var rows = patches ? EncoderGraph.PatchRows(g, encoded) : null;

        // Each part's image score [N] and, for the local parts, its map [N, h·w]; fused, both become probabilities.
        bool fused = model.Parts.Count > 1;
        var scores = new List<string>();
        var maps = new List<string>();
        foreach (var part in model.Parts)
        {
            (string Score, string? Map) scored = part switch
            {
                MemoryPart memory => MemoryScores(g, memory, rows!, (long)gridHeight * gridWidth),
                HeadPart { OnPatches: true } head => PatchHeadScores(g, head, rows!),
                HeadPart head => (HeadGraph.Logits(g, head, encoded.Pooled!, "head."), null),
                WinClipPart winClip => WinClipGraph.Scores(g, winClip, encoded.Pooled!, rows!, winClip.Layers is null ? [rows!] : encoded.HiddenPatches,
                    gridHeight, gridWidth),
                _ => throw new NotSupportedException($"A '{model.MethodName}' part of kind {part.GetType().Name} has no ONNX form."),
            };
            var (score, map) = scored;
            string prefix = Prefix(part);
            scores.Add(fused ? Probability(g, score, part.Probability, $"{prefix}score_probability") : score);
            if (map is not null)
                maps.Add(fused && part is MemoryPart ? Probability(g, map, part.Probability, $"{prefix}map_probability") : map);
        }
        var imageScore = fused ? Mean(g, scores, "fused_score") : scores[0];
        var decision = g.Node("GreaterOrEqual", "decision", [imageScore, g.Initializer("threshold", [model.Threshold])]);
        g.Output(ScoreOutput, imageScore, TensorProto.Types.DataType.Float, OnnxGraphBuilder.Batch);
        g.Output(IsAnomalyOutput, decision, TensorProto.Types.DataType.Bool, OnnxGraphBuilder.Batch);
        if (maps.Count > 0)
        {
            var patchMap = maps.Count == 1 ? maps[0]
                : g.Node("Div", "fused_map", [g.Node("Sum", "fused_map.sum", maps), g.Initializer("fused_map.count", [(float)maps.Count])]);
            var map = g.Node("Reshape", "patch_map", [patchMap, g.Initializer("patch_map.shape", [0, gridHeight, gridWidth], 3)]);
            g.Output(AnomalyMapOutput, map, TensorProto.Types.DataType.Float, OnnxGraphBuilder.Batch, gridHeight, gridWidth);
        }

        var invariant = CultureInfo.InvariantCulture;
        var metadata = new Dictionary<string, string>
        {
            ["fsac.method"] = model.MethodName,
            ["fsac.backbone"] = model.BackboneName,
            ["fsac.threshold"] = model.Threshold.ToString("R", invariant),
            ["fsac.input"] = resize is { } r
                ? $"RGB float32 [N, 3, {r.ImageHeight}, {r.ImageWidth}] on the 0..255 scale: the decoded {r.ImageWidth}x{r.ImageHeight} image, not resized, not normalised (the graph resizes it to {width}x{height})"
                : $"RGB float32 [N, 3, {height}, {width}] on the 0..255 scale, resized as the encoder resizes, not normalised",
            ["fsac.normalisation"] = EncoderGraph.Normalisation(encoder),
            ["fsac.input_width"] = width.ToString(invariant),
            ["fsac.input_height"] = height.ToString(invariant),
            ["fsac.resize_in_graph"] = resize is null ? "false" : "true",
            ["fsac.score"] = ScoreMeaning(model),
            ["fsac.anomaly_map"] = maps.Count == 0
                ? "none: the method's maps are gradient saliency, which has no ONNX form"
                : fused ? "the mean of the local parts' patch probabilities on the patch grid" : model.Parts[0] switch
                {
                    MemoryPart => "patch distances to the memory on the patch grid",
                    WinClipPart => "WinCLIP+'s combined map M = (M0 + Mf) / 2 on the patch grid",
                    _ => "patch probabilities on the patch grid",
                },
        };
        if (model.Parts.OfType<MemoryPart>().FirstOrDefault() is { } m)
        {
            metadata["fsac.map_sigma"] = m.Options.MapSigma.ToString("R", invariant);
            metadata["fsac.top_k"] = Math.Min(m.Options.TopK, (long)gridHeight * gridWidth).ToString(invariant);
        }
        if (resize is { } p)
        {
            metadata["fsac.image_width"] = p.ImageWidth.ToString(invariant);
            metadata["fsac.image_height"] = p.ImageHeight.ToString(invariant);
        }
        var version = typeof(OnnxExport).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion ?? "";
        string outputs = maps.Count > 0 ? $"{ScoreOutput}, {IsAnomalyOutput} and {AnomalyMapOutput}" : $"{ScoreOutput} and {IsAnomalyOutput}";
        g.Build("Fsac.MLNet", version, $"Few-shot {model.MethodName} ({model.BackboneName}): {PixelsInput} to {outputs}.", metadata).WriteTo(output);
    }

    // The memory's exact nearest-neighbour distances [N, P] (unit-length queries when the model normalises) and the
    // image score, the mean of the TopK largest.
    private static (string Score, string Map) MemoryScores(OnnxGraphBuilder g, MemoryPart part, string rows, long patches)
    {
        var queries = rows;
        var epsilon = g.Initializer("memory.epsilon", [1e-12f]);
        if (part.Options.Normalize)
        {
            var norms = g.Reduce("ReduceL2", "patch_rows.norm", queries, [2], keepDims: true);
            queries = g.Node("Div", "patch_rows.unit", [queries, g.Node("Max", "patch_rows.norm.floor", [norms, epsilon])]);
        }
        // ‖q‖² + min over m of (‖m‖² − 2 q·m), floored, square-rooted.
        using var scope = TorchSharp.torch.NewDisposeScope();
        var bank = part.Memory.Bank;
        var memoryT = g.Initializer("memory_t", bank.t().contiguous().data<float>().ToArray(), part.Memory.Channels, part.Memory.Count);
        var memoryNorms = g.Initializer("memory_sq_norms", bank.square().sum(1).contiguous().data<float>().ToArray(), part.Memory.Count);
        var products = g.Node("MatMul", "products", [queries, memoryT]);
        var scaled = g.Node("Mul", "products.scaled", [products, g.Initializer("minus_two", [-2f])]);
        var combined = g.Node("Add", "partial_sq_distances", [scaled, memoryNorms]);
        var nearest = g.Reduce("ReduceMin", "nearest_partial", combined, [2], keepDims: false);
        var queryNorms = g.Reduce("ReduceSumSquare", "patch_rows.sq_norm", queries, [2], keepDims: false);
        var squared = g.Node("Add", "nearest_sq_distances", [nearest, queryNorms]);
        var distances = g.Node("Sqrt", "distances", [g.Node("Max", "nearest_sq_distances.floor", [squared, epsilon])]);
        long k = Math.Min(part.Options.TopK, patches);
        var top = g.Node("TopK", "top_distances", [distances, g.Initializer("top_k", [k], 1)], 2, Int("axis", 1), Int("largest", 1), Int("sorted", 1))[0];
        return (g.Reduce("ReduceMean", "memory_score", top, [1], keepDims: false), distances);
    }

    // The patch head's logits [N, P]: the image score is the largest, the map the logits as probabilities.
    private static (string Score, string Map) PatchHeadScores(OnnxGraphBuilder g, HeadPart part, string rows)
    {
        var logits = HeadGraph.Logits(g, part, rows, "patch_head.");
        var score = g.Reduce("ReduceMax", "patch_head.score", logits, [1], keepDims: false);
        return (score, Probability(g, logits, part.Probability, "patch_head.map_probability"));
    }

    // 1 / (1 + exp(−(x − centre) / scale)): the difference in float32, the rest in double, the result float32.
    private static string Probability(OnnxGraphBuilder g, string x, Logistic logistic, string name)
    {
        var difference = g.Node("Sub", $"{name}.difference", [x, g.Initializer($"{name}.centre", [logistic.Centre])]);
        var wide = g.Node("Cast", $"{name}.double", [difference], Int("to", (long)TensorProto.Types.DataType.Double));
        var z = g.Node("Neg", $"{name}.z", [g.Node("Div", $"{name}.scaled", [wide, g.Initializer($"{name}.scale", [logistic.Scale])])]);
        var denominator = g.Node("Add", $"{name}.denominator", [g.Node("Exp", $"{name}.exp", [z]), g.Initializer($"{name}.one", [1d])]);
        return g.Node("Cast", name, [g.Node("Reciprocal", $"{name}.double_value", [denominator])], Int("to", (long)TensorProto.Types.DataType.Float));
    }

    // The mean of the parts' float32 probabilities, summed in double as the library sums them.
    private static string Mean(OnnxGraphBuilder g, IReadOnlyList<string> values, string name)
    {
        var wide = values.Select((v, i) => g.Node("Cast", $"{name}.part{i}", [v], Int("to", (long)TensorProto.Types.DataType.Double))).ToList();
        var mean = g.Node("Div", $"{name}.double", [g.Node("Sum", $"{name}.sum", wide), g.Initializer($"{name}.count", [(double)values.Count])]);
        return g.Node("Cast", name, [mean], Int("to", (long)TensorProto.Types.DataType.Float));
    }

    private static string Prefix(ExportedPart part) => part switch
    {
        MemoryPart => "memory.",
        HeadPart { OnPatches: true } => "patch_head.",
        WinClipPart => "winclip.",
        _ => "head.",
    };

    private static string GraphName(string method) => new([.. method.Select(c => char.IsLetterOrDigit(c) ? c : '_')]);

    private static string ScoreMeaning(ExportedModel model) => model.Parts switch
    {
        [MemoryPart] => "the mean of the TopK largest patch distances to the memory",
        [HeadPart { OnPatches: false }] => "the logit of CLIP-FSAC's anomaly score AS (AS = sigmoid(score))",
        [HeadPart] => "the largest patch logit of the CLIP-FSAC patch head",
        [WinClipPart] => "WinCLIP+'s (s0 + max M) / 2 in [0, 1]",
        _ => "the mean of the parts' probabilities",
    };
}
