using Fsac.MLNet.Checkpoints.Onnx;
using Fsac.MLNet.Encoders;
using Fsac.MLNet.Encoders.Onnx;
using Fsac.MLNet.Files;
using System.Globalization;
using System.Reflection;
using Google.Protobuf;

namespace Fsac.MLNet.Export;

/// <summary>
/// ONNX export of a frozen encoder alone (<c>fsac export --backbone</c>): one graph (opset 17, float32) from resized
/// RGB pixels to the encoder's features, with its normalisation inside (<see cref="EncoderGraph"/>).
/// </summary>
/// <remarks>
/// <para>Input <see cref="OnnxExport.PixelsInput"/>: float32 <c>[N, 3, H, W]</c>, RGB on the 0..255 scale, resized to
/// the encoder's input layout (<see cref="ResNet18Encoder.Pixels"/>, <see cref="ClipEncoder.Pixels"/>), not normalised.</para>
/// <para>Outputs of ResNet18: <see cref="PooledFeaturesOutput"/> <c>[N, 512]</c>, the global average of the last stage,
/// and <see cref="PatchFeaturesOutput"/> <c>[N, 384, H/8, W/8]</c>, the mid-level maps (layer2 and the upsampled layer3,
/// each 3×3-averaged) that PatchCore's memory holds. Outputs of a CLIP: <see cref="ImageEmbedsOutput"/> <c>[N, E]</c>,
/// the projected class token (<c>encode_image</c>), and <see cref="PatchTokensOutput"/> <c>[N, P, E]</c>, the patch
/// tokens after <c>ln_post</c> times <c>proj</c>, class token excluded, row-major over the grid.</para>
/// </remarks>
public static class EncoderExport
{
    /// <summary>ResNet18's pooled features, float32 <c>[N, 512]</c>.</summary>
    public const string PooledFeaturesOutput = "pooled_features";

    /// <summary>ResNet18's patch features, float32 <c>[N, 384, H/8, W/8]</c>.</summary>
    public const string PatchFeaturesOutput = "patch_features";

    /// <summary>A CLIP's projected class token, float32 <c>[N, E]</c>.</summary>
    public const string ImageEmbedsOutput = "image_embeds";

    /// <summary>A CLIP's projected patch tokens, float32 <c>[N, P, E]</c>.</summary>
    public const string PatchTokensOutput = "patch_tokens";

    /// <summary>
    /// Writes the graph of <paramref name="encoder"/> for inputs of the layout of an <paramref name="imageWidth"/> ×
    /// <paramref name="imageHeight"/> image (a square one when neither is given).
    /// </summary>
    /// <exception cref="NotSupportedException">The encoder has no ONNX form (only ResNet18 and CLIP in float32 have one); the message names it.</exception>
    /// <exception cref="ArgumentException">Only one of the width and height is given.</exception>
    public static void Write(IImageEncoder encoder, Stream output, int? imageWidth = null, int? imageHeight = null)
    {
        ArgumentNullException.ThrowIfNull(encoder);
        ArgumentNullException.ThrowIfNull(output);
        EncoderGraph.EnsureExportable(encoder, "the encoder export");
        if (imageWidth.HasValue != imageHeight.HasValue)
            throw new ArgumentException("Give both the image width and height, or neither (a square image).", imageWidth.HasValue ? nameof(imageHeight) : nameof(imageWidth));
        var layout = encoder.Layout(imageWidth ?? encoder.ImageSize, imageHeight ?? encoder.ImageSize);
        int height = layout.Height, width = layout.Width;

        var g = new OnnxGraphBuilder("fsac_encoder");
        g.Input(OnnxExport.PixelsInput, TensorProto.Types.DataType.Float, OnnxGraphBuilder.Batch, 3, height, width);
        var encoded = EncoderGraph.Add(g, encoder, OnnxExport.PixelsInput, height, width, pooled: true, patches: true);
        const TensorProto.Types.DataType Float = TensorProto.Types.DataType.Float;
        if (encoded.PatchesAreRows)
        {
            g.Output(ImageEmbedsOutput, encoded.Pooled!, Float, OnnxGraphBuilder.Batch, encoder.FeatureDim);
            g.Output(PatchTokensOutput, encoded.Patches!, Float, OnnxGraphBuilder.Batch, (long)encoded.GridHeight * encoded.GridWidth, encoded.PatchChannels);
        }
        else
        {
            g.Output(PooledFeaturesOutput, encoded.Pooled!, Float, OnnxGraphBuilder.Batch, encoder.FeatureDim);
            g.Output(PatchFeaturesOutput, encoded.Patches!, Float, OnnxGraphBuilder.Batch, encoded.PatchChannels, encoded.GridHeight, encoded.GridWidth);
        }

        var invariant = CultureInfo.InvariantCulture;
        var metadata = new Dictionary<string, string>
        {
            ["fsac.backbone"] = encoder.Name,
            ["fsac.input"] = $"RGB float32 [N, 3, {height}, {width}] on the 0..255 scale, resized as the encoder resizes, not normalised",
            ["fsac.normalisation"] = EncoderGraph.Normalisation(encoder),
            ["fsac.input_width"] = width.ToString(invariant),
            ["fsac.input_height"] = height.ToString(invariant),
        };
        var version = typeof(EncoderExport).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion ?? "";
        var outputs = encoded.PatchesAreRows ? $"{ImageEmbedsOutput} and {PatchTokensOutput}" : $"{PooledFeaturesOutput} and {PatchFeaturesOutput}";
        g.Build("Fsac.MLNet", version, $"Frozen encoder ({encoder.Name}): {OnnxExport.PixelsInput} to {outputs}.", metadata).WriteTo(output);
    }

    /// <summary>Writes the graph (see <see cref="Write(IImageEncoder, Stream, int?, int?)"/>) to a file atomically.</summary>
    public static void Write(IImageEncoder encoder, string path, int? imageWidth = null, int? imageHeight = null)
        => AtomicFile.Write(path, stream => Write(encoder, stream, imageWidth, imageHeight));
}
