using System.Runtime.CompilerServices;
using Fsac.MLNet.Checkpoints;
using Fsac.MLNet.Checkpoints.Onnx;
using Fsac.MLNet.Classifiers;
using Fsac.MLNet.Encoders.ResNet;
using Fsac.MLNet.Imaging;
using Fsac.MLNet.Native;
using System.Collections.Concurrent;
using System.Security.Cryptography;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.PixelFormats;
using SixLabors.ImageSharp.Processing;
using TorchSharp;

namespace Fsac.MLNet.Encoders;

/// <summary>
/// ImageNet-pretrained ResNet18 as a differentiable TorchSharp image encoder, built at load time from the ONNX
/// files of the NuGet package <c>Microsoft.ML.DnnImageFeaturizer.ResNet18</c> (ML.NET's <c>DnnFeaturizeImage</c>
/// model): <c>ResNet18.onnx</c> (a CNTK export, up to the 512-d global average pool) and
/// <c>ResNetPreprocess.onnx</c> (RGB → BGR, minus a 224x224 per-pixel mean image, pixels on the 0..255 scale).
/// Works offline; features equal ONNX Runtime's on the same input to float32 rounding.
/// </summary>
/// <remarks>
/// <para>Images are resized isotropically so that the shorter side is 224 (bilinear, ImageSharp's triangle filter) and
/// centre-cropped to 224x224. That is what ML.NET's <c>ResizeImages</c> does by default (<c>IsoCrop</c>, centre
/// anchor) in front of this model, and it keeps the aspect ratio the network was trained with; squashing the whole
/// image instead would distort defects' shapes. The network runs in eval mode (batch norm uses its stored
/// statistics), so each feature row depends on its own image only.</para>
/// <para>Frozen passes (no gradient asked for) run on the <see cref="Engine"/> chosen at load time: TorchSharp, or
/// ONNX Runtime on a graph of the same network built in memory (<see cref="EncoderEngine"/>); passes that need
/// gradients always run on TorchSharp.</para>
/// </remarks>
public sealed class ResNet18Encoder : IImageEncoder
{
    /// <summary>The NuGet package that ships the ONNX files.</summary>
    public const string PackageId = "Microsoft.ML.DnnImageFeaturizer.ResNet18";

    private const string ModelFolder = "DnnImageModels/ResNet18Onnx";
    private const string ModelFileName = "ResNet18.onnx";
    private const string PreprocessFolder = "DnnImageModels/ResNetPrepOnnx";
    private const string PreprocessFileName = "ResNetPreprocess.onnx";

    private readonly ResNetBackbone _backbone;
    private readonly PreprocessSpec _preprocess;
    // Null: the ONNX model's own input (shorter side to 224, centre crop to 224x224). Otherwise every image keeps its
    // aspect ratio with its shorter side at this many pixels.
    private readonly int? _shorterSide;
    private readonly bool _ownsBackbone;
    // The ONNX Runtime engine when frozen passes run there, shared with WithResolution views; null on TorchSharp.
    private readonly OnnxRuntimeResNet? _onnx;
    private readonly ConcurrentDictionary<(int Width, int Height), float[]> _means = new();

    private ResNet18Encoder(ResNetBackbone backbone, PreprocessSpec preprocess, int featureDim, string name, EncoderPrecision precision,
        int? shorterSide, bool ownsBackbone, EncoderEngine engine, string engineReason, OnnxRuntimeResNet? onnx)
    {
        _backbone = backbone;
        _preprocess = preprocess;
        FeatureDim = featureDim;
        PatchDim = checked((int)backbone.PatchChannels);
        Name = name;
        Precision = precision;
        _shorterSide = shorterSide;
        _ownsBackbone = ownsBackbone;
        Engine = engine;
        EngineReason = engineReason;
        _onnx = onnx;
    }

    /// <summary><c>resnet18-imagenet-</c> followed by 8 hex digits of the SHA-256 of both ONNX files.</summary>
    public string Name { get; }

    /// <summary>512: channels of the last stage, globally average-pooled.</summary>
    public int FeatureDim { get; }

    /// <summary>384: layer2's 128 channels and layer3's 256 (<see cref="EncoderOutputs.Patches"/>).</summary>
    public int PatchDim { get; }

    /// <summary>
    /// The input's shorter side: 224 (the ONNX model's square input and mean image) unless this is a
    /// <see cref="WithResolution"/> view.
    /// </summary>
    public int ImageSize => _shorterSide ?? _preprocess.ImageSize;

    /// <summary>
    /// Precision the convolutions run in (in bfloat16 the stem's stays float32: <see cref="ResNetBackbone.ToBFloat16"/>);
    /// features are float32 either way.
    /// </summary>
    public EncoderPrecision Precision { get; }

    /// <summary>
    /// The engine frozen passes run on: <see cref="EncoderEngine.TorchSharp"/> or <see cref="EncoderEngine.OnnxRuntime"/>,
    /// never <see cref="EncoderEngine.Auto"/> (which is resolved at load time; see <see cref="EngineReason"/>).
    /// </summary>
    public EncoderEngine Engine { get; }

    /// <summary>Why <see cref="Engine"/> runs: asked for, or what Auto measured (or found cached), or why it fell back to TorchSharp.</summary>
    public string EngineReason { get; }

    /// <summary>
    /// Loads the ONNX files that the package <c>Microsoft.ML.DnnImageFeaturizer.ResNet18</c> copies to
    /// <c>DnnImageModels/</c> in the application's output folder (looked for under
    /// <see cref="AppContext.BaseDirectory"/>, then beside this assembly), or, where there is no output folder
    /// (notebooks, scripts), in that package's own <c>tools/</c> folder in the NuGet cache.
    /// </summary>
    /// <param name="precision">Precision to run the network in.</param>
    /// <param name="engine">The engine of frozen passes; <see cref="EncoderEngine.Auto"/> takes the faster on this machine.</param>
    /// <exception cref="FileNotFoundException">The model is in none of these folders.</exception>
    /// <exception cref="CheckpointFormatException">A file is corrupt or is not the expected network.</exception>
    /// <exception cref="NotSupportedException"><see cref="EncoderEngine.OnnxRuntime"/> was asked for with bfloat16, or ONNX Runtime is unavailable.</exception>
    public static ResNet18Encoder LoadDefault(EncoderPrecision precision = EncoderPrecision.Float32, EncoderEngine engine = EncoderEngine.Auto)
    {
        var packageLib = Path.GetDirectoryName(typeof(Microsoft.ML.ResNet18Extension).Assembly.Location);
        var packageTools = string.IsNullOrEmpty(packageLib) ? null : Path.Combine(packageLib, "..", "..", "tools");
        var folders = new[] { AppContext.BaseDirectory, Path.GetDirectoryName(typeof(ResNet18Encoder).Assembly.Location), packageTools }
            .Where(f => !string.IsNullOrEmpty(f)).Select(f => Path.GetFullPath(f!)).Distinct().ToList();
        var candidates = folders.Select(f => Path.Combine(f, ModelFolder, ModelFileName)).ToList();
        var model = candidates.FirstOrDefault(File.Exists) ?? throw new FileNotFoundException(
            $"{ModelFileName} was not found (looked for {string.Join(" and ", candidates.Select(c => $"'{c}'"))}). " +
            $"It ships with the NuGet package {PackageId}, which copies it to {ModelFolder}/ in the output folder; " +
            "reference that package or pass the file to ResNet18Encoder.Load.", ModelFileName);
        return Load(model, preprocessModelPath: null, precision, engine);
    }

    /// <summary>Loads ResNet18 from <paramref name="modelPath"/> (<c>ResNet18.onnx</c>).</summary>
    /// <param name="modelPath">The backbone ONNX file.</param>
    /// <param name="preprocessModelPath">
    /// <c>ResNetPreprocess.onnx</c>; null looks for it where the package puts it (<c>../ResNetPrepOnnx/</c> from the
    /// model's folder), then beside the model.
    /// </param>
    /// <param name="precision">Precision to run the network in.</param>
    /// <param name="engine">The engine of frozen passes; <see cref="EncoderEngine.Auto"/> takes the faster on this machine.</param>
    /// <exception cref="FileNotFoundException">A file does not exist.</exception>
    /// <exception cref="CheckpointFormatException">A file is corrupt or is not the expected network.</exception>
    /// <exception cref="NotSupportedException"><see cref="EncoderEngine.OnnxRuntime"/> was asked for with bfloat16, or ONNX Runtime is unavailable.</exception>
    public static ResNet18Encoder Load(string modelPath, string? preprocessModelPath = null, EncoderPrecision precision = EncoderPrecision.Float32,
        EncoderEngine engine = EncoderEngine.Auto)
    {
        ArgumentNullException.ThrowIfNull(modelPath);
        TorchRuntime.EnsureLoaded();
        if (!File.Exists(modelPath))
            throw new FileNotFoundException($"ResNet18 model not found: '{modelPath}'. It ships with the NuGet package {PackageId} ({ModelFolder}/{ModelFileName}).", modelPath);
        preprocessModelPath ??= FindPreprocessModel(modelPath);

        var (backbone, config, preprocess, name) = Import(modelPath, preprocessModelPath);
        LargeGarbage.Release(); // the parsed files
        try
        {
            backbone.eval();
            if (precision == EncoderPrecision.BFloat16) backbone.ToBFloat16();
            // Frozen: gradients flow to the input only and never accumulate in the weights.
            foreach (var parameter in backbone.parameters()) parameter.requires_grad = false;
            var (resolved, reason, onnx) = EngineSelection.Choose(engine, precision, backbone);
            return new ResNet18Encoder(backbone, preprocess, checked((int)config.FeatureDim), name, precision, shorterSide: null,
                ownsBackbone: true, resolved, reason, onnx);
        }
        catch
        {
            backbone.Dispose();
            throw;
        }
    }

    // The network with its weights, read from the files, and its name: resnet18-imagenet- followed by 8 hex digits of the
    // SHA-256 of both files, hashed as they are parsed. What was parsed is dropped when this returns, so that it is
    // garbage before anything else is built.
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static (ResNetBackbone Backbone, ResNetConfig Config, PreprocessSpec Preprocess, string Name) Import(string modelPath, string preprocessModelPath)
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        var imported = OnnxResNetImporter.ImportBackbone(OnnxModelReader.Read(modelPath, hash), modelPath);
        var preprocess = OnnxResNetImporter.ImportPreprocessing(OnnxModelReader.Read(preprocessModelPath, hash), preprocessModelPath);
        if (preprocess.ImageSize != imported.ImageSize)
            throw new CheckpointFormatException(preprocessModelPath, $"prepares {preprocess.ImageSize}x{preprocess.ImageSize} images but '{modelPath}' takes {imported.ImageSize}x{imported.ImageSize}.");
        var name = "resnet18-imagenet-" + Convert.ToHexStringLower(hash.GetHashAndReset())[..8];
        var backbone = new ResNetBackbone(imported.Config);
        try
        {
            LoadState(backbone, imported.State, modelPath);
            return (backbone, imported.Config, preprocess, name);
        }
        catch
        {
            backbone.Dispose();
            throw;
        }
    }

    /// <inheritdoc />
    /// <remarks>
    /// The ONNX model's own input is a 224x224 centre crop. A <see cref="WithResolution"/> view keeps the image's aspect
    /// ratio instead (the longer side rounded to a multiple of 32 pixels, as the network's strides need), and shows
    /// the whole image up to that rounding.
    /// </remarks>
    public InputLayout Layout(int width, int height)
    {
        if (_shorterSide is not { } side) return InputLayout.CentreCrop(width, height, _preprocess.ImageSize, _preprocess.ImageSize);
        var (w, h) = InputLayout.AspectPreserving(width, height, side, 32);
        return InputLayout.CentreCrop(width, height, w, h);
    }

    /// <summary>
    /// Resizes (bilinear) and normalises as <c>ResNetPreprocess.onnx</c> does: channels in BGR order on the 0..255
    /// scale, minus the ImageNet mean image (resampled bilinearly to the input size when it is not 224x224). The default
    /// input is the shorter side resized to 224 and a centre 224x224 crop; see <see cref="Layout"/>.
    /// </summary>
    /// <returns>float32 <c>[N, 3, H, W]</c>, ready for <see cref="Encode"/>.</returns>
    /// <exception cref="ArgumentException">The images' layouts differ in size.</exception>
    public torch.Tensor Preprocess(IReadOnlyList<Image<Rgb24>> images)
    {
        using var scope = torch.NewDisposeScope();
        var pixels = Pixels(images);
        if (images.Count == 0) return pixels.MoveToOuterDisposeScope();
        int height = (int)pixels.shape[2], width = (int)pixels.shape[3];
        using var order = torch.tensor(_preprocess.ChannelOrder.Select(c => (long)c).ToArray());
        using var mean = torch.tensor(MeanImage(width, height), [1, 3, height, width]);
        return pixels.index_select(1, order).sub_(mean).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// The images resized to their <see cref="Layout"/> (bilinear) before any normalisation: RGB order, values on the
    /// 0..255 scale. <see cref="Preprocess"/> is these pixels reordered to BGR minus the mean image; an exported ONNX
    /// model (<see cref="Fsac.MLNet.Classifiers.PatchCoreClassifier.ExportOnnx(Stream, int?, int?)"/>) takes them as its input.
    /// </summary>
    /// <returns>float32 <c>[N, 3, H, W]</c>.</returns>
    /// <exception cref="ArgumentException">The images' layouts differ in size.</exception>
    public torch.Tensor Pixels(IReadOnlyList<Image<Rgb24>> images)
    {
        ArgumentNullException.ThrowIfNull(images);
        if (images.Count == 0) return torch.zeros(0, 3, ImageSize, ImageSize);
        var layouts = images.Select(image => Layout(image.Width, image.Height)).ToArray();
        int width = layouts[0].Width, height = layouts[0].Height, plane = width * height;
        for (var i = 1; i < images.Count; i++)
            if (layouts[i].Width != width || layouts[i].Height != height)
                throw new ArgumentException($"Image {i} ({images[i].Width}x{images[i].Height}) needs a {layouts[i].Width}x{layouts[i].Height} input, image 0 a {width}x{height} one; preprocess them separately.", nameof(images));
        var pixels = PixelTensor.Empty([images.Count, 3, height, width], out var address);
        try
        {
            for (var i = 0; i < images.Count; i++)
            {
                using var resized = images[i].Clone(ctx => Resize(ctx, layouts[i], images[i].Width, images[i].Height));
                var offset = (long)i * 3 * plane;
                resized.ProcessPixelRows(rows =>
                {
                    var planes = PixelTensor.Slice(address, offset, 3 * plane);
                    for (var y = 0; y < height; y++)
                    {
                        var row = rows.GetRowSpan(y);
                        for (var x = 0; x < width; x++)
                        {
                            var p = row[x];
                            var at = y * width + x;
                            planes[at] = p.R;
                            planes[at + plane] = p.G;
                            planes[at + 2 * plane] = p.B;
                        }
                    }
                });
            }
            return pixels;
        }
        catch
        {
            pixels.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Runs ResNet18 on a preprocessed batch <c>[N, 3, H, W]</c> (float32): the 512-d global average-pooled features
    /// <c>[N, 512]</c> and/or the layer2 + layer3 patch grid <c>[N, 384, H/8, W/8]</c> (float32). Differentiable with
    /// respect to <paramref name="pixels"/>; the weights are frozen. Runs on <see cref="Engine"/> in passes of a few
    /// images each (as many as keep the stem's output within 16 MiB: 4 at 224x224), unless <paramref name="pixels"/>
    /// requires grad with gradients enabled, which runs in one pass on TorchSharp.
    /// </summary>
    public EncodedImages Encode(torch.Tensor pixels, EncoderOutputs outputs)
    {
        ArgumentNullException.ThrowIfNull(pixels);
        if (pixels.dim() != 4 || pixels.shape[1] != 3 || pixels.shape[2] < 32 || pixels.shape[3] < 32 || pixels.dtype != torch.ScalarType.Float32)
            throw new ArgumentException($"Expected float32 pixels [N, 3, H, W] with H, W >= 32, got {pixels.dtype} [{string.Join(", ", pixels.shape)}].", nameof(pixels));
        if (_shorterSide is null && (pixels.shape[2] != _preprocess.ImageSize || pixels.shape[3] != _preprocess.ImageSize))
            throw new ArgumentException($"Expected float32 pixels [N, 3, {ImageSize}, {ImageSize}], got [{string.Join(", ", pixels.shape)}].", nameof(pixels));
        if (pixels.requires_grad && torch.is_grad_enabled()) return EncodeOnTorchSharp(pixels, outputs);
        // The stem's float32 output is the largest activation (the stem stays float32 in bfloat16 too).
        var stem = _backbone.Config.Stem;
        long stemBytes = stem.OutChannels * sizeof(float) * stem.Padding.OutputHeight(pixels.shape[2], stem.Kernel, stem.Stride)
                         * stem.Padding.OutputWidth(pixels.shape[3], stem.Kernel, stem.Stride);
        return FrozenPasses.Encode(pixels, FrozenPasses.ImagesPerPass(stemBytes),
            part => _onnx is not null ? _onnx.Encode(part, outputs) : EncodeOnTorchSharp(part, outputs));
    }

    private EncodedImages EncodeOnTorchSharp(torch.Tensor pixels, EncoderOutputs outputs)
    {
        using var scope = torch.NewDisposeScope();
        var (pooled, patches) = _backbone.Features(pixels, outputs.HasFlag(EncoderOutputs.Global), outputs.HasFlag(EncoderOutputs.Patches));
        return new EncodedImages(pooled?.to(torch.ScalarType.Float32).MoveToOuterDisposeScope(),
            patches?.to(torch.ScalarType.Float32).MoveToOuterDisposeScope());
    }

    /// <inheritdoc />
    /// <remarks>
    /// The network is convolutional, so other sizes work; 320 or 448 find smaller defects than 224. The imported
    /// network pads each of its five stride-2 stages for an even input, so both sides are multiples of 32.
    /// </remarks>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="shorterSide"/> is not a multiple of 32 between 32 and 2048.</exception>
    public IImageEncoder WithResolution(int shorterSide)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(shorterSide, 32);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(shorterSide, 2048);
        if (shorterSide % 32 != 0)
            throw new ArgumentOutOfRangeException(nameof(shorterSide), shorterSide, "ResNet18's input sides must be multiples of 32 (e.g. 224, 320, 448).");
        return new ResNet18Encoder(_backbone, _preprocess, FeatureDim, Name, Precision, shorterSide, ownsBackbone: false, Engine, EngineReason, _onnx);
    }

    /// <summary>Releases the network's weights and ONNX Runtime sessions (a <see cref="WithResolution"/> view leaves them to the encoder it came from).</summary>
    public void Dispose()
    {
        if (!_ownsBackbone) return;
        _onnx?.Dispose();
        _backbone.Dispose();
    }

    // The square default resizes exactly as ML.NET's ResizeImages (IsoCrop, centre) does; other layouts crop the
    // region the layout names and resize it.
    private void Resize(IImageProcessingContext ctx, InputLayout layout, int imageWidth, int imageHeight)
    {
        if (_shorterSide is null)
        {
            ctx.Resize(new ResizeOptions
            {
                Size = new Size(layout.Width, layout.Height),
                Mode = ResizeMode.Crop,
                Position = AnchorPositionMode.Center,
                Sampler = KnownResamplers.Triangle,
            });
            return;
        }
        var r = layout.Region;
        var crop = Rectangle.Intersect(new Rectangle((int)MathF.Round(r.X), (int)MathF.Round(r.Y), (int)MathF.Round(r.Width), (int)MathF.Round(r.Height)),
            new Rectangle(0, 0, imageWidth, imageHeight));
        if (crop.Width < imageWidth || crop.Height < imageHeight) ctx.Crop(crop);
        ctx.Resize(layout.Width, layout.Height, KnownResamplers.Triangle);
    }

    /// <summary>The backbone's network (weights and architecture), for the ONNX export.</summary>
    internal ResNetBackbone Backbone => _backbone;

    /// <summary>Output channel c of the normalisation is input (RGB) channel <c>ChannelOrder[c]</c> ({2, 1, 0}: BGR).</summary>
    internal IReadOnlyList<int> ChannelOrder => _preprocess.ChannelOrder;

    /// <summary>
    /// The mean image <c>[3, height, width]</c> (normalised channel order, row-major) subtracted by <see cref="Preprocess"/>:
    /// the ONNX mean image at 224x224, resampled bilinearly to other input sizes (it is smooth), cached per size.
    /// </summary>
    internal float[] MeanImage(int width, int height)
    {
        int s = _preprocess.ImageSize;
        if (width == s && height == s) return _preprocess.Mean;
        return _means.GetOrAdd((width, height), size =>
        {
            using var scope = torch.NewDisposeScope();
            var mean = torch.tensor(_preprocess.Mean, [1, 3, s, s]);
            var resized = torch.nn.functional.interpolate(mean, [size.Height, size.Width], mode: torch.InterpolationMode.Bilinear, align_corners: false);
            return resized.contiguous().data<float>().ToArray();
        });
    }

    private static string FindPreprocessModel(string modelPath)
    {
        var folder = Path.GetDirectoryName(Path.GetFullPath(modelPath))!;
        string[] candidates =
        [
            Path.GetFullPath(Path.Combine(folder, "..", Path.GetFileName(PreprocessFolder), PreprocessFileName)),
            Path.Combine(folder, PreprocessFileName),
        ];
        return candidates.FirstOrDefault(File.Exists) ?? throw new FileNotFoundException(
            $"{PreprocessFileName} was not found beside '{modelPath}' (looked for {string.Join(" and ", candidates.Select(c => $"'{c}'"))}). " +
            $"It ships with the NuGet package {PackageId} ({PreprocessFolder}/{PreprocessFileName}).", PreprocessFileName);
    }

    // Copies every parameter and batch-norm statistic by name; both sides must name exactly the same tensors.
    private static void LoadState(ResNetBackbone backbone, IReadOnlyDictionary<string, TensorData> state, string path)
    {
        using var noGrad = torch.no_grad();
        var targets = backbone.named_parameters().Select(p => (p.name, tensor: (torch.Tensor)p.parameter))
            .Concat(backbone.named_buffers().Select(b => (b.name, tensor: b.buffer)))
            .Where(t => !t.name.EndsWith("num_batches_tracked", StringComparison.Ordinal))
            .ToDictionary(t => t.name, t => t.tensor, StringComparer.Ordinal);
        var missing = targets.Keys.Except(state.Keys).ToList();
        var extra = state.Keys.Except(targets.Keys).ToList();
        if (missing.Count > 0 || extra.Count > 0)
            throw new CheckpointFormatException(path, $"weights do not match the network: missing [{string.Join(", ", missing)}], unexpected [{string.Join(", ", extra)}].");
        foreach (var (name, target) in targets)
        {
            var source = state[name];
            if (!source.Shape.SequenceEqual(target.shape))
                throw new CheckpointFormatException(path, $"'{name}' has shape [{string.Join(", ", source.Shape)}] but the network needs [{string.Join(", ", target.shape)}].");
            using var t = source.ToTensor();
            target.copy_(t);
        }
    }
}
