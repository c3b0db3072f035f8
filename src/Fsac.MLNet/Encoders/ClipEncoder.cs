using System.Runtime.CompilerServices;
using Fsac.MLNet.Checkpoints;
using Fsac.MLNet.Encoders.Clip;
using Fsac.MLNet.Imaging;
using Fsac.MLNet.Native;
using System.Security.Cryptography;
using System.Text.Json;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.PixelFormats;
using TorchSharp;
using static TorchSharp.torch;

namespace Fsac.MLNet.Encoders;

/// <summary>
/// A frozen OpenCLIP model as the backbone of CLIP-FSAC: OpenCLIP's eval preprocessing, the image tower and
/// the text tower with CLIP's tokenizer. <see cref="Name"/> carries the architecture and a checksum of the
/// weights, so a saved classifier can tell whether it is given the backbone it was fitted on.
/// </summary>
public sealed class ClipEncoder : IImageEncoder, ITextEncoder
{
    // The ONNX Runtime engine of the image tower's frozen passes; null on TorchSharp.
    private readonly OnnxRuntimeClip? _onnx;

    /// <summary>
    /// Wraps an already loaded model (owned from now on); <paramref name="name"/> should identify its weights (see
    /// <see cref="Name"/>). The image tower's frozen passes run on <paramref name="engine"/> (see <see cref="Engine"/>) in
    /// the model's precision (<see cref="ClipModel.Dtype"/>), or with <paramref name="int8"/> (a float32 model) in
    /// <see cref="EncoderPrecision.Int8"/> on ONNX Runtime.
    /// </summary>
    /// <exception cref="NotSupportedException">
    /// <see cref="EncoderEngine.OnnxRuntime"/> was asked for a bfloat16 model, int8 for a bfloat16 model or on
    /// <see cref="EncoderEngine.TorchSharp"/>, or ONNX Runtime is unavailable where it is needed.
    /// </exception>
    public ClipEncoder(ClipModel model, ClipTokenizer tokenizer, PreprocessConfig preprocess, string name, EncoderEngine engine = EncoderEngine.Auto,
        bool int8 = false)
    {
        ArgumentNullException.ThrowIfNull(model);
        Model = model;
        Tokenizer = tokenizer;
        Preprocessor = new ClipPreprocessor(preprocess);
        Name = name;
        if (int8 && model.Dtype != ScalarType.Float32)
            throw new NotSupportedException($"Int8 quantizes a float32 model's image tower; this model's weights are {model.Dtype}.");
        Precision = int8 ? EncoderPrecision.Int8 : model.Dtype == ScalarType.BFloat16 ? EncoderPrecision.BFloat16 : EncoderPrecision.Float32;
        (Engine, EngineReason, _onnx) = EngineSelection.Choose(engine, Precision, model);
    }

    /// <summary>The CLIP model.</summary>
    public ClipModel Model { get; }

    /// <summary>CLIP's tokenizer.</summary>
    public ClipTokenizer Tokenizer { get; }

    /// <summary>The image preprocessing the weights were trained with.</summary>
    internal ClipPreprocessor Preprocessor { get; }

    /// <inheritdoc />
    public string Name { get; }

    /// <inheritdoc />
    public int FeatureDim => Model.Config.EmbedDim;

    /// <summary>
    /// E, the joint image-text width: the patch features are the patch tokens after <c>ln_post</c> multiplied by
    /// <c>proj</c>, so they compare with text features as WinCLIP's patch scoring needs.
    /// </summary>
    public int PatchDim => Model.Config.EmbedDim;

    /// <inheritdoc />
    public int ImageSize => Preprocessor.Config.Height;

    /// <summary>
    /// The engine the image tower's frozen passes run on: <see cref="EncoderEngine.TorchSharp"/> or
    /// <see cref="EncoderEngine.OnnxRuntime"/>, never <see cref="EncoderEngine.Auto"/> (resolved at load time; see
    /// <see cref="EngineReason"/>). The text tower follows it (in float32); passes that need a gradient and the hidden
    /// layers of <see cref="EncodeTokens"/> run on TorchSharp.
    /// </summary>
    public EncoderEngine Engine { get; }

    /// <summary>The precision of the image tower's frozen passes; features are float32 either way.</summary>
    public EncoderPrecision Precision { get; }

    /// <summary>Why <see cref="Engine"/> runs: asked for, or what Auto measured (or found cached), or why it fell back to TorchSharp.</summary>
    public string EngineReason { get; }

    /// <summary>The fixed input size, and the region OpenCLIP's preprocessing shows (a centre crop of the shorter side by default).</summary>
    public InputLayout Layout(int width, int height)
        => new(Preprocessor.Config.Width, Preprocessor.Config.Height, Preprocessor.Region(width, height));

    /// <summary>
    /// Loads a CLIP from a folder laid out as OpenCLIP's Hugging Face repositories: <c>open_clip_config.json</c>
    /// (architecture and preprocessing), the weights (<c>open_clip_model.safetensors</c> preferred, or a PyTorch
    /// state dict) and the vocabulary (<c>bpe_simple_vocab_16e6.txt.gz</c> or <c>vocab.json</c> + <c>merges.txt</c>;
    /// else <paramref name="vocabularyPath"/>, else the download cache).
    /// </summary>
    /// <exception cref="DirectoryNotFoundException">The folder does not exist.</exception>
    /// <exception cref="FileNotFoundException">The config, weights or vocabulary is missing; the message says where it looked.</exception>
    /// <exception cref="CheckpointFormatException">A file is corrupt.</exception>
    /// <exception cref="CheckpointMismatchException">The weights do not fit the configured architecture.</exception>
    /// <exception cref="NotSupportedException"><see cref="EncoderEngine.OnnxRuntime"/> was asked for with bfloat16, or ONNX Runtime is unavailable.</exception>
    public static ClipEncoder Load(string directory, EncoderPrecision precision = EncoderPrecision.Float32, string? vocabularyPath = null,
        EncoderEngine engine = EncoderEngine.Auto)
    {
        if (!Directory.Exists(directory)) throw new DirectoryNotFoundException($"CLIP model folder not found: '{directory}'.");
        var configPath = Path.Combine(directory, "open_clip_config.json");
        if (!File.Exists(configPath))
            throw new FileNotFoundException(
                $"'{directory}' has no open_clip_config.json; use ClipEncoder.Load(weights, modelName) for a bare checkpoint.", configPath);
        var json = System.Text.Encoding.UTF8.GetString(RegularFile.ReadAllBytes(configPath, "OpenCLIP config"));
        ClipConfig config;
        PreprocessConfig preprocess;
        try
        {
            config = ClipConfig.Parse(json);
            using var doc = JsonDocument.Parse(json);
            preprocess = doc.RootElement.TryGetProperty("preprocess_cfg", out var pre)
                ? PreprocessConfig.FromJson(pre)
                : PreprocessConfig.Square(config.Vision.ImageSize);
        }
        catch (Exception e) when (e is JsonException or FormatException)
        {
            throw new CheckpointFormatException(configPath, $"is not a valid OpenCLIP config (JSON): {e.Message}", e);
        }
        var weights = CheckpointReader.FindWeights(directory);
        var tokenizer = LoadTokenizer(vocabularyPath, directory);
        return Create(config, weights, tokenizer, preprocess, Path.GetFileName(Path.GetFullPath(directory).TrimEnd('/', '\\')), precision, engine);
    }

    /// <summary>
    /// Loads a bare checkpoint of a built-in architecture (<see cref="ClipConfig.BuiltInNames"/>) with OpenAI's
    /// preprocessing at the model's input size.
    /// </summary>
    /// <exception cref="NotSupportedException"><see cref="EncoderEngine.OnnxRuntime"/> was asked for with bfloat16, or ONNX Runtime is unavailable.</exception>
    public static ClipEncoder Load(string weightsPath, string modelName, EncoderPrecision precision = EncoderPrecision.Float32, string? vocabularyPath = null,
        EncoderEngine engine = EncoderEngine.Auto)
    {
        var config = ClipConfig.FromName(modelName);
        var tokenizer = LoadTokenizer(vocabularyPath, Path.GetDirectoryName(Path.GetFullPath(weightsPath))!);
        return Create(config, weightsPath, tokenizer, PreprocessConfig.Square(config.Vision.ImageSize), modelName, precision, engine);
    }

    /// <summary>
    /// Downloads (once, into the cache) and loads published weights, e.g. the paper's
    /// <c>ViT-B-16-plus-240</c> / <c>laion400m_e31</c>. The vocabulary is fetched the same way when not cached.
    /// </summary>
    /// <exception cref="ArgumentException">Unknown model or tag; the message lists the known ones.</exception>
    /// <exception cref="NotSupportedException"><see cref="EncoderEngine.OnnxRuntime"/> was asked for with bfloat16, or ONNX Runtime is unavailable.</exception>
    public static ClipEncoder FromPretrained(string model, string tag, EncoderPrecision precision = EncoderPrecision.Float32,
                                             EncoderEngine engine = EncoderEngine.Auto, string? cacheDir = null, IProgress<DownloadProgress>? progress = null, CancellationToken ct = default)
    {
        var published = ClipPretrained.Get(model, tag);
        var weights = ClipPretrained.Download(model, tag, cacheDir, progress, ct);
        var vocabulary = ClipPretrained.DownloadVocabulary(cacheDir, progress, ct);
        var config = ClipConfig.FromName(published.Model) with { QuickGelu = published.QuickGelu };
        var preprocess = PreprocessConfig.Square(config.Vision.ImageSize) with
        {
            Mean = (published.ImageMean[0], published.ImageMean[1], published.ImageMean[2]),
            Std = (published.ImageStd[0], published.ImageStd[1], published.ImageStd[2]),
        };
        return Create(config, weights, ClipTokenizer.FromBpeGz(vocabulary), preprocess, $"{published.Model}:{published.Tag}", precision, engine);
    }

    private static ClipTokenizer LoadTokenizer(string? vocabularyPath, string directory)
    {
        if (vocabularyPath is not null)
            return Directory.Exists(vocabularyPath) ? ClipTokenizer.Find(vocabularyPath) : ClipTokenizer.FromBpeGz(vocabularyPath);
        bool besideWeights = File.Exists(Path.Combine(directory, ClipTokenizer.BpeGzFileName))
                             || (File.Exists(Path.Combine(directory, ClipTokenizer.VocabJsonFileName)) && File.Exists(Path.Combine(directory, ClipTokenizer.MergesFileName)));
        if (besideWeights) return ClipTokenizer.Find(directory);
        var cached = ClipPretrained.VocabularyCachePath();
        if (File.Exists(cached)) return ClipTokenizer.FromBpeGz(cached);
        throw new FileNotFoundException(
            $"CLIP's vocabulary was not found: looked for {ClipTokenizer.BpeGzFileName} or {ClipTokenizer.VocabJsonFileName} + {ClipTokenizer.MergesFileName} in " +
            $"'{directory}' and for '{cached}'. Pass its path, or run 'fsac download' to fetch it.", cached);
    }

    private static ClipEncoder Create(ClipConfig config, string weightsPath, ClipTokenizer tokenizer, PreprocessConfig preprocess, string label,
        EncoderPrecision precision, EncoderEngine engine)
    {
        var model = new ClipModel(config);
        try
        {
            LoadWeights(model, weightsPath);
            model.ToDtype(precision == EncoderPrecision.BFloat16 ? ScalarType.BFloat16 : ScalarType.Float32);
            // The checkpoint's arrays, as large as the model, are garbage once copied into its parameters, and so are
            // the float32 parameters that a conversion to bfloat16 replaced.
            LargeGarbage.Release();
            return new ClipEncoder(model, tokenizer, preprocess, $"clip:{label}:{ShortHash(weightsPath)}", engine, int8: precision == EncoderPrecision.Int8);
        }
        catch
        {
            model.Dispose();
            throw;
        }
    }

    // Apart, so that no stack slot of the caller keeps the checkpoint's arrays reachable after the copy.
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void LoadWeights(ClipModel model, string weightsPath)
        => model.LoadStateDict(CheckpointReader.ReadStateDict(weightsPath), weightsPath);

    // Weights fetched by ClipDownloader carry their verified hash beside them: no second read of the file.
    private static string ShortHash(string path)
    {
        if (ClipDownloader.RecordedSha256(path) is { } recorded) return recorded[..12];
        using var fs = File.OpenRead(path);
        return Convert.ToHexStringLower(SHA256.HashData(fs))[..12];
    }

    /// <inheritdoc />
    public Tensor Preprocess(IReadOnlyList<Image<Rgb24>> images) => Preprocessor.Preprocess(images);

    /// <summary>
    /// The images resized and cropped as <see cref="Preprocess"/> does, before the scaling and normalisation: float32
    /// <c>[N, 3, S, S]</c>, RGB on the 0..255 scale. <see cref="Preprocess"/> is these values / 255, minus the mean,
    /// divided by the std of the preprocessing config; an exported ONNX model takes them as its input.
    /// </summary>
    public Tensor Pixels(IReadOnlyList<Image<Rgb24>> images) => Preprocessor.Pixels(images);

    /// <summary>
    /// The projected class token <c>[N, E]</c> and/or the projected patch tokens as a grid <c>[N, E, G, G]</c>
    /// (<see cref="PatchDim"/>), from the image tower on <see cref="Engine"/> in passes of a few images each (as many as
    /// keep the MLP's activation within 16 MiB: 8 for ViT-B-16-plus-240 in bfloat16, 4 in float32), unless
    /// <paramref name="pixels"/> requires grad with gradients enabled, which runs in one pass on TorchSharp.
    /// </summary>
    /// <exception cref="ArgumentException"><paramref name="pixels"/> is not <c>[N, 3, S, S]</c> with S the tower's input size.</exception>
    public EncodedImages Encode(Tensor pixels, EncoderOutputs outputs)
    {
        ArgumentNullException.ThrowIfNull(pixels);
        if (pixels.dim() != 4 || pixels.shape[1] != 3 || pixels.shape[2] != ImageSize || pixels.shape[3] != ImageSize)
            throw new ArgumentException($"Expected pixels [N, 3, {ImageSize}, {ImageSize}], got [{string.Join(", ", pixels.shape)}].", nameof(pixels));
        if (pixels.requires_grad && is_grad_enabled()) return EncodeOnTorchSharp(pixels, outputs);
        // The MLP's hidden activation [L, hidden] is the largest of a pass, in the model's type (float32 on ONNX Runtime).
        var vision = Model.Config.Vision;
        long hiddenBytes = (vision.GridSize * vision.GridSize + 1L) * (long)(vision.Width * vision.MlpRatio)
                           * (_onnx is null && Model.Dtype == ScalarType.BFloat16 ? 2 : 4);
        return FrozenPasses.Encode(pixels, FrozenPasses.ImagesPerPass(hiddenBytes),
            part => _onnx is not null ? _onnx.Encode(part, outputs) : EncodeOnTorchSharp(part, outputs));
    }

    private EncodedImages EncodeOnTorchSharp(Tensor pixels, EncoderOutputs outputs)
    {
        using var scope = NewDisposeScope();
        bool patches = outputs.HasFlag(EncoderOutputs.Patches);
        var (pooled, tokens, _) = Model.visual.Tokens(pixels, outputs.HasFlag(EncoderOutputs.Global), patches, projectPatches: true);
        Tensor? grid = null;
        if (tokens is not null)
        {
            long n = tokens.shape[0], p = tokens.shape[1], g = (long)Math.Round(Math.Sqrt(p));
            grid = tokens.reshape(n, g, g, tokens.shape[2]).permute(0, 3, 1, 2).contiguous().MoveToOuterDisposeScope();
        }
        return new EncodedImages(pooled?.MoveToOuterDisposeScope(), grid);
    }

    /// <summary>
    /// The image tower's tokens for patch-level methods: the patch tokens after <c>ln_post</c> (class token excluded)
    /// <c>[N, P, W]</c>, or times <c>proj</c> <c>[N, P, E]</c> when <paramref name="projected"/>; and the residual
    /// stream after each block in <paramref name="hiddenLayers"/> (1-based) <c>[N, 1 + P, W]</c>. Equal to OpenCLIP's
    /// <c>VisionTransformer</c> with <c>output_tokens=True</c>.
    /// </summary>
    public (Tensor Patches, IReadOnlyList<Tensor> Hidden) EncodeTokens(Tensor pixels, bool projected, IReadOnlyCollection<int>? hiddenLayers = null)
    {
        ArgumentNullException.ThrowIfNull(pixels);
        var (_, patches, hidden) = Model.visual.Tokens(pixels, pooled: false, patches: true, projectPatches: projected, hiddenLayers);
        return (patches!, hidden);
    }

    /// <summary>Not supported: a ViT's positional embedding fixes its input to <see cref="ImageSize"/> pixels.</summary>
    /// <exception cref="NotSupportedException">Always.</exception>
    public IImageEncoder WithResolution(int shorterSide) => throw new NotSupportedException(
        $"The CLIP backbone '{Name}' takes {ImageSize}x{ImageSize} inputs only (its positional embedding fixes the size); " +
        $"leave the input resolution unset for CLIP backbones, or use resnet18 for another resolution.");

    /// <inheritdoc />
    public Tensor EncodeText(IReadOnlyList<string> texts)
    {
        using var _ = no_grad();
        using var tokens = Tokenizer.Tokenize(texts, Model.Config.Text.ContextLength);
        return _onnx is not null ? _onnx.EncodeText(tokens) : Model.EncodeText(tokens);
    }

    /// <summary>Releases the model's weights and the ONNX Runtime sessions.</summary>
    public void Dispose()
    {
        _onnx?.Dispose();
        Model.Dispose();
    }
}
