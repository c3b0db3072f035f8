using System.Buffers;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.PixelFormats;
using TorchSharp;

namespace Fsac.MLNet.Imaging;

/// <summary>
/// OpenCLIP's evaluation preprocessing: resize with PIL's filters (bit-exact), centre crop (or pad), scale to
/// [0, 1], normalise per channel → float32 <c>[N, 3, H, W]</c>. For the default config that is torchvision's
/// <c>Resize(S, BICUBIC)</c> (shorter side to S, longer side truncated), <c>CenterCrop(S)</c>
/// (offsets <c>round((size - S) / 2)</c>, half to even), <c>ToTensor</c> and <c>Normalize(mean, std)</c>.
/// </summary>
/// <remarks>
/// Only the pixels that survive the crop are resampled. OpenCLIP converts to RGB after the crop, so PIL resizes
/// the file's own mode; the remaining differences follow from that and from the decoder: JPEG decoding
/// (ImageSharp versus libjpeg, ±1–2 levels), RGBA/LA images (PIL resizes them with premultiplied alpha, which an
/// <see cref="Image{Rgb24}"/> no longer has) and palette images (PIL resizes them with nearest neighbour).
/// Instances are immutable and thread-safe.
/// </remarks>
internal sealed class ClipPreprocessor
{
    private readonly float[][] _lut;
    private readonly float[] _fill;
    private readonly float[][] _levels;
    private readonly float[] _levelFill;

    /// <summary>Creates a preprocessor for <paramref name="config"/>.</summary>
    public ClipPreprocessor(PreprocessConfig config)
    {
        ArgumentNullException.ThrowIfNull(config);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(config.Height);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(config.Width);
        Config = config;
        float[] mean = [config.Mean.R, config.Mean.G, config.Mean.B];
        float[] std = [config.Std.R, config.Std.G, config.Std.B];
        // The same float32 operations as ToTensor (v / 255) then Normalize ((x - mean) / std).
        _lut = new float[3][];
        _fill = new float[3];
        for (int c = 0; c < 3; c++)
        {
            _lut[c] = new float[256];
            for (int v = 0; v < 256; v++) _lut[c][v] = ((float)v / 255f - mean[c]) / std[c];
            _fill[c] = _lut[c][config.FillColor];
        }
        // The resized and cropped levels themselves, on the 0..255 scale: the input of an exported graph.
        var levels = Enumerable.Range(0, 256).Select(v => (float)v).ToArray();
        _levels = [levels, levels, levels];
        _levelFill = [config.FillColor, config.FillColor, config.FillColor];
    }

    /// <summary>The settings this preprocessor applies.</summary>
    public PreprocessConfig Config { get; }

    /// <summary>Number of floats one preprocessed image occupies: 3 × height × width.</summary>
    public int ValuesPerImage => 3 * Config.Height * Config.Width;

    /// <summary>Preprocesses <paramref name="images"/> into a new float32 CPU tensor <c>[N, 3, H, W]</c> (the caller disposes it).</summary>
    public torch.Tensor Preprocess(IReadOnlyList<Image<Rgb24>> images) => Resample(images, _lut, _fill);

    /// <summary>
    /// The images resized and cropped (or padded) as <see cref="Preprocess"/> does, before the scaling and normalisation:
    /// float32 <c>[N, 3, H, W]</c>, RGB on the 0..255 scale (padding at <see cref="PreprocessConfig.FillColor"/>).
    /// <see cref="Preprocess"/> is these values divided by 255, minus the mean, divided by the std.
    /// </summary>
    public torch.Tensor Pixels(IReadOnlyList<Image<Rgb24>> images) => Resample(images, _levels, _levelFill);

    private torch.Tensor Resample(IReadOnlyList<Image<Rgb24>> images, float[][] lut, float[] fill)
    {
        ArgumentNullException.ThrowIfNull(images);
        for (int i = 0; i < images.Count; i++)
            ArgumentNullException.ThrowIfNull(images[i], $"{nameof(images)}[{i}]");
        int per = ValuesPerImage;
        var pixels = PixelTensor.Empty([images.Count, 3, Config.Height, Config.Width], out var address);
        try
        {
            Parallel.For(0, images.Count, i => ResampleInto(images[i], PixelTensor.Slice(address, (long)i * per, per), lut, fill));
            return pixels;
        }
        catch
        {
            pixels.Dispose();
            throw;
        }
    }

    /// <summary>Preprocesses one image into <paramref name="destination"/>, channel-major <c>[3, H, W]</c>.</summary>
    public void PreprocessInto(Image<Rgb24> image, Span<float> destination) => ResampleInto(image, destination, _lut, _fill);

    private void ResampleInto(Image<Rgb24> image, Span<float> destination, float[][] lut, float[] fill)
    {
        ArgumentNullException.ThrowIfNull(image);
        if (destination.Length != ValuesPerImage)
            throw new ArgumentException($"The destination holds {destination.Length} values; one image needs {ValuesPerImage}.", nameof(destination));

        var (resizedHeight, resizedWidth) = ResizedSize(image.Height, image.Width);
        var ys = Axis.Plan(resizedHeight, Config.Height);
        var xs = Axis.Plan(resizedWidth, Config.Width);

        int srcBytes = image.Width * image.Height * 3;
        int windowBytes = ys.Count * xs.Count * 3;
        var src = ArrayPool<byte>.Shared.Rent(srcBytes);
        var window = ArrayPool<byte>.Shared.Rent(windowBytes);
        try
        {
            image.CopyPixelDataTo(src.AsSpan(0, srcBytes));
            PilResampler.Resize(src.AsSpan(0, srcBytes), image.Width, image.Height, resizedWidth, resizedHeight,
                xs.Source, ys.Source, xs.Count, ys.Count, Config.Interpolation, window.AsSpan(0, windowBytes));
            Lookup(window.AsSpan(0, windowBytes), ys, xs, destination, lut, fill);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(src);
            ArrayPool<byte>.Shared.Return(window);
        }
    }

    // Each level through the channel's table (normalised values, or the levels themselves) into the planes; padding at the fill.
    private void Lookup(ReadOnlySpan<byte> window, Axis ys, Axis xs, Span<float> destination, float[][] luts, float[] fill)
    {
        int h = Config.Height, w = Config.Width;
        bool padded = ys.Count < h || xs.Count < w;
        for (int c = 0; c < 3; c++)
        {
            var plane = destination.Slice(c * h * w, h * w);
            if (padded) plane.Fill(fill[c]);
            var lut = luts[c];
            for (int y = 0; y < ys.Count; y++)
            {
                var row = plane.Slice((ys.Output + y) * w + xs.Output, xs.Count);
                var px = window.Slice(y * xs.Count * 3, xs.Count * 3);
                for (int x = 0; x < row.Length; x++) row[x] = lut[px[x * 3 + c]];
            }
        }
    }

    /// <summary>
    /// The part of a <paramref name="width"/> × <paramref name="height"/> image that the preprocessed input shows, in
    /// the image's pixels (it extends past the image where <see cref="ImageResizeMode.Longest"/> pads).
    /// </summary>
    public RectangleF Region(int width, int height)
    {
        var (rh, rw) = ResizedSize(height, width);
        var ys = Axis.Plan(rh, Config.Height);
        var xs = Axis.Plan(rw, Config.Width);
        float sx = (float)width / rw, sy = (float)height / rh;
        return new RectangleF((xs.Source - xs.Output) * sx, (ys.Source - ys.Output) * sy, Config.Width * sx, Config.Height * sy);
    }

    /// <summary>Size (height, width) the image is resized to before the crop, computed as OpenCLIP's transforms do.</summary>
    private (int Height, int Width) ResizedSize(int h, int w)
    {
        int th = Config.Height, tw = Config.Width;
        switch (Config.ResizeMode)
        {
            case ImageResizeMode.Squash:
                return (th, tw);
            case ImageResizeMode.Shortest when th == tw:
                // torchvision Resize(int): the shorter side becomes S, the longer one int(S * long / short).
                long longSide = (long)th * Math.Max(h, w);
                int scaled = Math.Max(1, (int)((double)longSide / Math.Min(h, w)));
                return w <= h ? (scaled, tw) : (th, scaled);
            default:
                // OpenCLIP's ResizeKeepRatio: divide both sides by the smaller (shortest) or larger (longest) ratio, round half to even.
                double rh = (double)h / th, rw = (double)w / tw;
                double ratio = Config.ResizeMode == ImageResizeMode.Longest ? Math.Max(rh, rw) : Math.Min(rh, rw);
                return (Math.Max(1, (int)Math.Round(h / ratio, MidpointRounding.ToEven)),
                        Math.Max(1, (int)Math.Round(w / ratio, MidpointRounding.ToEven)));
        }
    }

    /// <summary>
    /// One axis of the centre crop or pad: output positions <c>Output .. Output + Count - 1</c> take resized
    /// positions <c>Source .. Source + Count - 1</c>; the rest is padding.
    /// </summary>
    private readonly record struct Axis(int Source, int Output, int Count)
    {
        public static Axis Plan(int resized, int target) => resized >= target
            ? new Axis((int)Math.Round((resized - target) / 2.0, MidpointRounding.ToEven), 0, target)
            : new Axis(0, (target - resized) / 2, resized);
    }
}
