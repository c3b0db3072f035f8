using Fsac.MLNet.Checkpoints.Onnx;
using Fsac.MLNet.Encoders;
using Fsac.MLNet.Encoders.Onnx;
using static Fsac.MLNet.Encoders.Onnx.OnnxAttributes;

namespace Fsac.MLNet.Export;

/// <summary>
/// The frozen encoder of an exported graph, from resized RGB pixels on the 0..255 scale (the encoder's
/// <c>Pixels</c>) to its features, with the encoder's normalisation inside: for <see cref="ResNet18Encoder"/> the
/// channels reordered to BGR minus the ImageNet mean image, then <see cref="ResNetOnnxGraph"/>; for
/// <see cref="ClipEncoder"/> ÷255, minus the mean, ÷ the std of its preprocessing config, then
/// <see cref="ClipOnnxGraph"/>. Other encoders, and encoders in bfloat16 or int8, have no ONNX form.
/// </summary>
internal static class EncoderGraph
{
    /// <summary>
    /// Refuses an encoder without an ONNX form, naming it (and <paramref name="what"/>, what was to be exported).
    /// </summary>
    /// <exception cref="NotSupportedException">The encoder is neither ResNet18 nor a CLIP, or not float32.</exception>
    public static void EnsureExportable(IImageEncoder encoder, string what)
    {
        ArgumentNullException.ThrowIfNull(encoder);
        switch (encoder)
        {
            case ResNet18Encoder { Precision: not EncoderPrecision.Float32 } r:
                throw new NotSupportedException($"ONNX export needs a Float32 encoder; {what} uses '{encoder.Name}' with EncoderPrecision.{r.Precision} features.");
            case ClipEncoder { Precision: not EncoderPrecision.Float32 } c:
                throw new NotSupportedException($"ONNX export needs a Float32 encoder; {what} uses '{encoder.Name}' with EncoderPrecision.{c.Precision} features.");
            case ResNet18Encoder or ClipEncoder:
                return;
            default:
                throw new NotSupportedException($"ONNX export supports the ResNet18 and CLIP encoders only; {what} uses '{encoder.Name}', which has no ONNX form.");
        }
    }

    /// <summary>
    /// Adds the encoder's normalisation and network to <paramref name="g"/>, reading <paramref name="pixels"/>
    /// (RGB float32 <c>[N, 3, height, width]</c> on the 0..255 scale), and returns the features asked for.
    /// </summary>
    /// <remarks>
    /// A CLIP also gives the residual stream's patch tokens <c>[N, P, W]</c> (class token dropped) after each block of
    /// <paramref name="hiddenLayers"/> (1-based), in block order; ResNet18 has none.
    /// </remarks>
    public static EncoderValues Add(OnnxGraphBuilder g, IImageEncoder encoder, string pixels, int height, int width, bool pooled, bool patches,
        IReadOnlyCollection<int>? hiddenLayers = null)
    {
        EnsureExportable(encoder, "the export");
        if (encoder is ClipEncoder clip)
        {
            var vision = clip.Model.Config.Vision;
            var normalised = ClipOnnxGraph.AddNormalisation(g, clip.Preprocessor.Config, pixels);
            var tower = ClipOnnxGraph.AddTower(g, clip.Model.visual, vision, clip.Model.Config.QuickGelu, normalised, hiddenLayers);
            int grid = vision.GridSize;
            long tokens = (long)grid * grid + 1;
            var hidden = tower.Hidden.Select(h => g.Node("Slice", $"hidden_{h.Layer}.patches", [h.Value, g.Initializer($"hidden_{h.Layer}.start", [1L], 1),
                g.Initializer($"hidden_{h.Layer}.end", [tokens], 1), g.Initializer($"hidden_{h.Layer}.axis", [1L], 1)])).ToArray();
            return new EncoderValues(tower.ImageEmbeds, tower.PatchTokens, PatchesAreRows: true, grid, grid, clip.PatchDim) { HiddenPatches = hidden };
        }
        if (hiddenLayers is { Count: > 0 })
            throw new NotSupportedException($"'{encoder.Name}' has no transformer blocks whose tokens the export could read.");
        var resnet = (ResNet18Encoder)encoder;
        // The encoder's normalisation: channels reordered (RGB to BGR), then the mean image subtracted.
        var order = g.Initializer("channel_order", resnet.ChannelOrder.Select(c => (long)c).ToArray(), 3);
        var mean = g.Initializer("mean_image", resnet.MeanImage(width, height), 1, 3, height, width);
        var input = g.Node("Sub", "normalised", [g.Node("Gather", "reordered", [pixels, order], Int("axis", 1)), mean]);
        var (pooledValue, patchValue) = ResNetOnnxGraph.Features(g, resnet.Backbone, input, pooled, patches);
        var (gridHeight, gridWidth) = ResNetOnnxGraph.PatchGrid(resnet.Backbone.Config, height, width);
        return new EncoderValues(pooledValue, patchValue, PatchesAreRows: false, gridHeight, gridWidth, resnet.PatchDim);
    }

    /// <summary>
    /// The patch features as one row per patch, <c>[N, h·w, C]</c> in the grid's row-major order: CLIP's patch tokens
    /// as they are, ResNet's maps <c>[N, C, h, w]</c> flattened and transposed.
    /// </summary>
    public static string PatchRows(OnnxGraphBuilder g, EncoderValues encoded)
    {
        var patches = encoded.Patches ?? throw new InvalidOperationException("The encoder's patch features were not added.");
        if (encoded.PatchesAreRows) return patches;
        var flat = g.Node("Reshape", "patch_rows.flat", [patches, g.Initializer("patch_rows.shape", [0, encoded.PatchChannels, -1], 3)]);
        return g.Node("Transpose", "patch_rows", [flat], Ints("perm", 0, 2, 1));
    }

    /// <summary>The normalisation the graph applies, for the metadata.</summary>
    public static string Normalisation(IImageEncoder encoder) => encoder switch
    {
        ClipEncoder clip => FormattableString.Invariant(
            $"/255, minus mean ({clip.Preprocessor.Config.Mean.R}, {clip.Preprocessor.Config.Mean.G}, {clip.Preprocessor.Config.Mean.B}), divided by std ({clip.Preprocessor.Config.Std.R}, {clip.Preprocessor.Config.Std.G}, {clip.Preprocessor.Config.Std.B})"),
        _ => "RGB to BGR, minus the ImageNet mean image",
    };
}

/// <summary>
/// The encoder's values in a graph: pooled features <c>[N, D]</c> and patch features (CLIP's tokens <c>[N, P, E]</c>
/// when <paramref name="PatchesAreRows"/>, ResNet's maps <c>[N, C, h, w]</c> otherwise), each null when not asked for;
/// the patch grid and the patch width.
/// </summary>
internal sealed record EncoderValues(string? Pooled, string? Patches, bool PatchesAreRows, int GridHeight, int GridWidth, long PatchChannels)
{
    /// <summary>A CLIP's residual-stream patch tokens <c>[N, P, W]</c> after each requested block, in block order.</summary>
    public IReadOnlyList<string> HiddenPatches { get; init; } = [];
}
