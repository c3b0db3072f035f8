using Fsac.MLNet.Encoders.Onnx;
using Fsac.MLNet.Encoders;
using static Fsac.MLNet.Encoders.Onnx.OnnxAttributes;

namespace Fsac.MLNet.Export;

/// <summary>
/// The in-graph resize of an export with <c>resizeInGraph</c> (<c>fsac export --resize</c>): the nodes that turn a
/// decoded image of the size fixed at export, float32 <c>[N, 3, H0, W0]</c> RGB on the 0..255 scale, into the pixels
/// <see cref="ResNet18Encoder.Pixels"/> gives for it, float32 <c>[N, 3, H, W]</c> (opset
/// <see cref="OnnxGraphBuilder.ResizeOpset"/>).
/// </summary>
/// <remarks>
/// <para>The steps are those of <see cref="ResNet18Encoder"/>'s ImageSharp resize, with its integer geometry computed
/// here at export. A <see cref="ResNet18Encoder.WithResolution"/> view (the default method's) crops the image to its
/// layout's region rounded to whole pixels (<see cref="InputLayout.Region"/>) and stretches that crop to the input; the
/// encoder's own square input (PatchCore without a resolution) resizes the whole image in ImageSharp's
/// <c>ResizeMode.Crop</c>, which scales it to a rectangle covering the input (the longer side rounded up) and cuts the
/// overflow off centred. In the graph: <c>Slice</c> (the crop), <c>Resize</c> with mode <c>linear</c>,
/// <c>antialias</c> 1, <c>exclude_outside</c> 1 and coordinate transformation <c>half_pixel</c> (ImageSharp's triangle
/// filter: widened by the scale when shrinking, centred on pixel centres, and where the window passes the border the
/// outside taps dropped and the rest renormalised, which <c>exclude_outside</c> 0 would instead fold onto the border
/// pixel), <c>Slice</c> (the centred cut) and <c>Round</c>, since the library's resized image holds whole 8-bit
/// values. Steps that change nothing are left out.</para>
/// <para>What remains is floating-point rounding (ImageSharp computes its weights in double and the pixels in float32,
/// ONNX Runtime all in float32): a value within rounding of a half can land one level apart. Measured on the 85 cookie
/// images (576x768 to 224x288) and on synthetic images of other sizes: at most 1 level, on fewer than 1 value in 1,000
/// (README, "Deploying (ONNX)").</para>
/// </remarks>
internal static class ImageResizeGraph
{
    /// <summary>The option's name in the API and on the command line, for messages.</summary>
    public const string OptionName = "resizeInGraph (fsac export --resize)";

    /// <summary>
    /// The integer geometry of the resize of a <see cref="ImageWidth"/> × <see cref="ImageHeight"/> image: the crop
    /// (<see cref="CropX"/>, <see cref="CropY"/>, <see cref="CropWidth"/> × <see cref="CropHeight"/>) of the image, resized
    /// to <see cref="ResizedWidth"/> × <see cref="ResizedHeight"/>, of which the <see cref="Width"/> × <see cref="Height"/>
    /// input starts at (<see cref="OffsetX"/>, <see cref="OffsetY"/>).
    /// </summary>
    public readonly record struct Plan(int ImageWidth, int ImageHeight, int CropX, int CropY, int CropWidth, int CropHeight,
        int ResizedWidth, int ResizedHeight, int OffsetX, int OffsetY, int Width, int Height);

    /// <summary>The geometry of <paramref name="encoder"/>'s resize of a <paramref name="imageWidth"/> × <paramref name="imageHeight"/> image.</summary>
    /// <exception cref="NotSupportedException">The crop or the resize leaves part of the input uncovered (no ResNet18 layout does).</exception>
    public static Plan For(ResNet18Encoder encoder, int imageWidth, int imageHeight)
    {
        ArgumentNullException.ThrowIfNull(encoder);
        ArgumentOutOfRangeException.ThrowIfLessThan(imageWidth, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(imageHeight, 1);
        var layout = encoder.Layout(imageWidth, imageHeight);
        int cropX = 0, cropY = 0, cropWidth = imageWidth, cropHeight = imageHeight;
        bool view = KeepsAspectRatio(encoder);
        if (view)
        {
            // As ResNet18Encoder crops a view's input: the layout's region rounded (MathF.Round, to even) and kept inside the image.
            var (x, y, w, h) = CentreCropRegion(imageWidth, imageHeight, layout.Width, layout.Height);
            int left = (int)MathF.Round(x), top = (int)MathF.Round(y);
            int right = left + (int)MathF.Round(w), bottom = top + (int)MathF.Round(h);
            cropX = Math.Max(left, 0);
            cropY = Math.Max(top, 0);
            cropWidth = Math.Min(right, imageWidth) - cropX;
            cropHeight = Math.Min(bottom, imageHeight) - cropY;
        }
        // The view then stretches the crop to the input (ImageSharp's Resize(width, height, sampler)); the encoder's own
        // square input resizes the whole image in ResizeMode.Crop.
        var (targetX, targetY, resizedWidth, resizedHeight) = view
            ? (0, 0, layout.Width, layout.Height)
            : CropModeTarget(cropWidth, cropHeight, layout.Width, layout.Height);
        var plan = new Plan(imageWidth, imageHeight, cropX, cropY, cropWidth, cropHeight, resizedWidth, resizedHeight, -targetX, -targetY,
            layout.Width, layout.Height);
        if (cropWidth < 1 || cropHeight < 1 || plan.OffsetX < 0 || plan.OffsetY < 0
            || plan.OffsetX + plan.Width > resizedWidth || plan.OffsetY + plan.Height > resizedHeight)
            throw new NotSupportedException($"{OptionName}: the encoder's layout of a {imageWidth}x{imageHeight} image ({layout.Width}x{layout.Height} from " +
                $"{cropWidth}x{cropHeight} pixels resized to {resizedWidth}x{resizedHeight} at offset {plan.OffsetX},{plan.OffsetY}) leaves part of the input uncovered; " +
                "the graph cannot reproduce it. Export without the in-graph resize.");
        return plan;
    }

    /// <summary>
    /// The region (x, y, width, height) of a <paramref name="imageWidth"/> × <paramref name="imageHeight"/> image that a
    /// centred <paramref name="width"/> × <paramref name="height"/> input shows, computed as
    /// <see cref="InputLayout.CentreCrop"/> computes its <see cref="InputLayout.Region"/> (read here without ImageSharp's
    /// rectangle, which this namespace does not use; the tests compare the two).
    /// </summary>
    internal static (float X, float Y, float Width, float Height) CentreCropRegion(int imageWidth, int imageHeight, int width, int height)
    {
        double scale = Math.Max((double)width / imageWidth, (double)height / imageHeight);
        float w = (float)(width / scale), h = (float)(height / scale);
        return ((imageWidth - w) / 2f, (imageHeight - h) / 2f, w, h);
    }

    /// <summary>
    /// Adds the resize of <paramref name="input"/> (float32 <c>[N, 3, H0, W0]</c>) to the graph as <paramref name="plan"/>
    /// says and returns the resized pixels' value name (<c>[N, 3, H, W]</c>).
    /// </summary>
    public static string Add(OnnxGraphBuilder g, Plan plan, string input)
    {
        if (g.OpsetVersion < OnnxGraphBuilder.ResizeOpset)
            throw new InvalidOperationException($"The in-graph resize needs opset {OnnxGraphBuilder.ResizeOpset} (Resize's antialias), the graph has {g.OpsetVersion}.");
        var x = input;
        if (plan.CropWidth != plan.ImageWidth || plan.CropHeight != plan.ImageHeight)
            x = Slice(g, "image.crop", x, plan.CropY, plan.CropX, plan.CropHeight, plan.CropWidth);
        bool resized = plan.ResizedWidth != plan.CropWidth || plan.ResizedHeight != plan.CropHeight;
        if (resized)
            x = g.Node("Resize", "image.resize", [x, "", "", g.Initializer("image.resize.sizes", new long[] { plan.ResizedHeight, plan.ResizedWidth }, 2)],
                Ints("axes", 2, 3), String("mode", "linear"), Int("antialias", 1), Int("exclude_outside", 1), String("coordinate_transformation_mode", "half_pixel"));
        if (plan.OffsetX != 0 || plan.OffsetY != 0 || plan.Width != plan.ResizedWidth || plan.Height != plan.ResizedHeight)
            x = Slice(g, "image.fit", x, plan.OffsetY, plan.OffsetX, plan.Height, plan.Width);
        // ImageSharp's resized image holds whole 8-bit values; Round is half to even, ImageSharp's conversion half up,
        // which differ only on exact halves.
        return resized ? g.Node("Round", "image.resized", [x]) : x;
    }

    // A ResNet18Encoder that is a WithResolution view keeps an image's aspect ratio (a 2:1 image gets a 2:1 input); the
    // encoder itself always takes its square input.
    private static bool KeepsAspectRatio(ResNet18Encoder encoder)
    {
        var probe = encoder.Layout(2 * encoder.ImageSize, encoder.ImageSize);
        return probe.Width != probe.Height;
    }

    // ImageSharp's ResizeMode.Crop, centred (ResizeHelper.CalculateCropRectangle, in float as it computes): the source is
    // scaled by the larger of the two ratios, the other side rounded up, and placed at a rounded centring offset.
    private static (int X, int Y, int Width, int Height) CropModeTarget(int sourceWidth, int sourceHeight, int width, int height)
    {
        float percentHeight = MathF.Abs(height / (float)sourceHeight);
        float percentWidth = MathF.Abs(width / (float)sourceWidth);
        if (percentHeight < percentWidth)
            return (0, (int)MathF.Round((height - (sourceHeight * percentWidth)) / 2F), width, (int)MathF.Ceiling(sourceHeight * percentWidth));
        return ((int)MathF.Round((width - (sourceWidth * percentHeight)) / 2F), 0, (int)MathF.Ceiling(sourceWidth * percentHeight), height);
    }

    private static string Slice(OnnxGraphBuilder g, string name, string input, int top, int left, int height, int width)
        => g.Node("Slice", name, [input, g.Initializer($"{name}.starts", new long[] { top, left }, 2),
            g.Initializer($"{name}.ends", new long[] { top + height, left + width }, 2), g.Initializer($"{name}.axes", new long[] { 2, 3 }, 2)]);
}
