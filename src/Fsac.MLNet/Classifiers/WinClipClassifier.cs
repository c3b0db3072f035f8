using Fsac.MLNet.Export;
using Fsac.MLNet.Checkpoints;
using Fsac.MLNet.Encoders;
using Fsac.MLNet.Files;
using Fsac.MLNet.Fitting;
using Fsac.MLNet.Head;
using Fsac.MLNet.Imaging;
using Fsac.MLNet.Maps;
using Fsac.MLNet.PatchCore;
using Fsac.MLNet.Synthesis;
using System.Text.Json;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.PixelFormats;
using TorchSharp;
using static TorchSharp.torch;

namespace Fsac.MLNet.Classifiers;

/// <summary>The parts of WinCLIP+ scores, per image; every value lies in [0, 1].</summary>
/// <param name="Scores">The image scores (s₀ + max M) / 2.</param>
/// <param name="ZeroShotScores">s₀, the zero-shot class-token score (0.5 where no class token was given).</param>
/// <param name="ZeroShotMaps">M₀ per patch, row-major over the image's patch grid.</param>
/// <param name="FewShotMaps">M_f per patch: (1 − max cos to the memory) / 2, averaged over the memory layers.</param>
/// <param name="PatchMaps">M = (M₀ + M_f) / 2 per patch.</param>
internal sealed record WinClipScores(float[] Scores, float[] ZeroShotScores, float[][] ZeroShotMaps, float[][] FewShotMaps, float[][] PatchMaps);

/// <summary>
/// WinCLIP+ (Jeong et al., CVPR 2023, "WinCLIP: Zero-/Few-Shot Anomaly Classification and Segmentation") on a CLIP
/// backbone, as built here:
/// <list type="bullet">
/// <item>Text anchors T⁺/T⁻: the mean encodings of WinCLIP's compositional prompt ensemble for
/// <see cref="WinClipOptions.ClassName"/> (<see cref="PromptEnsemble"/>, 7 normal and 4 anomalous states × 21 templates,
/// raw encodings averaged), L2-normalised.</item>
/// <item>Zero-shot image score s₀: the anomalous entry of softmax([cos(f, T⁺), cos(f, T⁻)] / τ) for the projected class
/// token f.</item>
/// <item>Zero-shot map M₀. <b>Simplification:</b> WinCLIP encodes each sliding window of patches through the image
/// tower with the other patches masked out; here a window's embedding is the mean of the projected final patch
/// tokens inside it (one image pass, no masking). Windows are the single patches (1×1) and the
/// <see cref="WinClipOptions.WindowSizes"/> squares (2×2 and 3×3), stride 1; each window's anomaly probability is
/// scored against T±, a patch's score at one scale is the harmonic mean of the windows containing it
/// (<see cref="HarmonicWindowMean"/>, WinCLIP's aggregation), and M₀ is the mean over the scales. Window sides larger
/// than the grid are skipped.</item>
/// <item>Few-shot map M_f (the "+"): the L2-normalised patch tokens of the k shots form a memory; a patch's score is
/// (1 − its largest cosine to the memory) / 2, i.e. d²/4 for the Euclidean distance d between unit vectors, in [0, 1]
/// (computed from the cosines directly rather than through <see cref="PatchCore.PatchMemory"/>, which gives the same
/// number and keeps <see cref="Saliency"/>'s gradient finite at d = 0). <b>Simplification:</b> WinCLIP+ keeps memories
/// of window embeddings at every scale; here the memory holds single patches only. By default its tokens are the
/// projected final patch tokens; with <see cref="WinClipOptions.MemoryLayers"/> one memory per listed transformer
/// block holds that block's residual-stream patch tokens (class token dropped) and the layers' maps are averaged,
/// as WinCLIP uses mid-layer tokens.</item>
/// <item>Combined map M = (M₀ + M_f) / 2 per patch; image score (s₀ + max M) / 2. <b>Simplification:</b> WinCLIP+ adds
/// the class score to the maximum of its few-shot map; the maximum of the combined map is used here, which also
/// carries the zero-shot windows. Scores are continuous and in [0, 1].</item>
/// <item>Anomaly maps: M upsampled to the input, smoothed with a Gaussian of σ = <see cref="WinClipOptions.MapSigma"/>
/// input pixels and placed on the image (<see cref="AnomalyMapBuilder"/>).</item>
/// <item>Threshold, not part of WinCLIP: chosen without real anomalies, as <see cref="PatchCoreClassifier"/> does —
/// the F1-optimal threshold between the leave-one-out scores of the shots (each against the memory of the others;
/// with one shot, its <see cref="NormalAugmentations"/> against its own memory) and Gaussian-noise synthetic anomalies
/// (<see cref="AnomalySynthesizers"/>) of each shot scored against the same memory.</item>
/// </list>
/// Needs an encoder with a text tower whose patch features share the text space (<see cref="ClipEncoder"/>, or a
/// wrapper of one that is an <see cref="ITextEncoder"/>); <see cref="WinClipOptions.MemoryLayers"/> needs a
/// <see cref="ClipEncoder"/> itself. Scoring is thread-safe.
/// </summary>
internal sealed class WinClipClassifier : IAnomalyClassifier, IEncodedScorer, IOnnxExportable
{
    /// <summary>The synthesis method of the calibration anomalies.</summary>
    public const string SynthesisMethod = "gaussian";

    // Window probabilities are floored before their reciprocals are summed (a softmax at τ = 0.07 never gets near it).
    private const double ProbabilityFloor = 1e-12;

    // Elements of one similarity block (queries × memory): 16 M floats, 64 MB.
    private const long BlockElements = 16L << 20;

    private readonly IImageEncoder encoder;
    private readonly bool ownsEncoder;
    private readonly int[]? layers;
    private readonly Tensor anchors;
    private readonly Tensor[] memories;
    private readonly Scorer scorer;
    private readonly float[] calibrationNormals;
    private readonly float[] calibrationAnomalies;

    private WinClipClassifier(IImageEncoder encoder, bool ownsEncoder, BackboneReference? backbone, WinClipOptions options, Tensor anchors,
        Tensor[] memories, IEnumerable<float> calibrationNormals, IEnumerable<float> calibrationAnomalies, int shots)
    {
        this.encoder = encoder;
        this.ownsEncoder = ownsEncoder;
        Backbone = backbone;
        Options = options;
        layers = SortedLayers(options);
        this.anchors = anchors;
        this.memories = memories;
        scorer = new Scorer(anchors, memories, options);
        this.calibrationNormals = [.. calibrationNormals];
        this.calibrationAnomalies = [.. calibrationAnomalies];
        Shots = shots;
        Threshold = ThresholdSelector.F1Optimal(this.calibrationNormals, this.calibrationAnomalies);
    }

    /// <summary>The options of the fit.</summary>
    public WinClipOptions Options { get; }

    /// <inheritdoc />
    public float Threshold { get; }

    /// <inheritdoc />
    public string BackboneName => encoder.Name;

    /// <summary>How the encoder can be re-created, when known (recorded by <see cref="Save(Stream)"/>).</summary>
    public BackboneReference? Backbone { get; }

    /// <summary>Always null: a CLIP backbone has one fixed input size.</summary>
    public int? Resolution => null;

    /// <summary>Both: the class tokens (for s₀) and the projected patch tokens (for the maps).</summary>
    public EncoderOutputs Needs => EncoderOutputs.Both;

    /// <summary>Normal images the memory was built from.</summary>
    public int Shots { get; }

    /// <summary>Patches in each memory (k × patches per image).</summary>
    public long MemoryPatches => memories[0].shape[0];

    /// <summary>Size of the memories in bytes (float32).</summary>
    public long MemoryBytes => memories.Sum(m => m.shape[0] * m.shape[1] * sizeof(float));

    /// <summary>
    /// Fits on <paramref name="normals"/> with the encoder borrowed (dispose it separately): encodes the prompts and
    /// the shots, builds the memory, then chooses the threshold.
    /// </summary>
    /// <exception cref="ArgumentException">No normal image (or a null one), or an option is out of range (the parameter names it).</exception>
    /// <exception cref="NotSupportedException">The encoder is not a CLIP backbone (no text tower, or patches outside the text space), or
    /// <see cref="WinClipOptions.MemoryLayers"/> is set for an encoder that is not a <see cref="ClipEncoder"/>.</exception>
    public static WinClipClassifier Fit(IImageEncoder encoder, IReadOnlyList<Image<Rgb24>> normals, WinClipOptions options,
        CancellationToken cancellationToken = default)
        => FitCore(encoder, ownsEncoder: false, backbone: null, normals, options, cancellationToken);

    /// <summary>
    /// Fits on <paramref name="encoder"/>; with a <paramref name="backbone"/> the model takes ownership of the encoder
    /// (even when the fit fails) and records the reference, without one it borrows it.
    /// </summary>
    internal static WinClipClassifier Fit(IImageEncoder encoder, BackboneReference? backbone, IReadOnlyList<Image<Rgb24>> normals,
        WinClipOptions options, CancellationToken cancellationToken)
    {
        try
        {
            return FitCore(encoder, ownsEncoder: backbone is not null, backbone, normals, options, cancellationToken);
        }
        catch
        {
            if (backbone is not null) encoder?.Dispose();
            throw;
        }
    }

    private static WinClipClassifier FitCore(IImageEncoder encoder, bool ownsEncoder, BackboneReference? backbone,
        IReadOnlyList<Image<Rgb24>> normals, WinClipOptions options, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(encoder);
        ArgumentNullException.ThrowIfNull(normals);
        ArgumentNullException.ThrowIfNull(options);
        if (normals.Count == 0) throw new ArgumentException("at least one normal image is required", nameof(normals));
        if (normals.Any(n => n is null)) throw new ArgumentException("a normal image is null", nameof(normals));
        options.Validate();
        var text = RequireClip(encoder, options);
        var layers = SortedLayers(options);

        using var scope = NewDisposeScope();
        var anchors = nn.functional.normalize(TextAnchors.FromPrompts(text, new PromptEnsemble(options.ClassName), normalizeBeforeAveraging: false), 2, 1);
        if (anchors.ndim != 2 || anchors.shape[0] != 2 || anchors.shape[1] != encoder.FeatureDim)
            throw new NotSupportedException(
                $"WinCLIP needs text features as wide as the image features; backbone '{encoder.Name}' gives [{string.Join(", ", anchors.shape)}] anchors for {encoder.FeatureDim}-d images.");
        using var shots = Encode(encoder, layers, normals, options.InferenceBatchSize, cancellationToken);
        var memories = shots.Sources.Select(s => nn.functional.normalize(s.Values, 2, 1).contiguous()).ToArray();
        var (normalScores, anomalyScores) = Calibrate(encoder, layers, anchors, normals, shots, options, cancellationToken);
        var model = new WinClipClassifier(encoder, ownsEncoder, backbone, options, anchors.DetachFromDisposeScope(),
            [.. memories.Select(m => m.DetachFromDisposeScope())], normalScores, anomalyScores, normals.Count);
        return model;
    }

    /// <inheritdoc />
    public float[] Score(IReadOnlyList<Image<Rgb24>> images, CancellationToken cancellationToken = default)
        => ScoreDetailed(images, cancellationToken).Scores;

    /// <summary>The scores and their parts (s₀, M₀, M_f, M) of <paramref name="images"/>, from one encoding pass.</summary>
    public WinClipScores ScoreDetailed(IReadOnlyList<Image<Rgb24>> images, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(images);
        if (images.Count == 0) return new WinClipScores([], [], [], [], []);
        using var encoded = Encode(encoder, layers, images, Options.InferenceBatchSize, cancellationToken);
        return scorer.Score(encoded.Global, encoded.Projected, encoded.Sources);
    }

    /// <summary>The anchors, memories and options for the ONNX export.</summary>
    ExportedModel IOnnxExportable.ForExport()
        => new([new WinClipPart(anchors, memories, layers, Options.ScoreTemperature, Options.WindowSizes, Threshold)],
            Threshold, AnomalyMethodOptions.NameOf(AnomalyMethod.WinClipPlus), BackboneName, encoder);

    /// <summary>Scores in [0, 1] are their own probability: the identity, clamped.</summary>
    public float ToProbability(float score) => Math.Clamp(score, 0f, 1f);

    /// <summary>
    /// Scores and, when <paramref name="withMaps"/>, anomaly maps at each image's own size (row-major; the combined
    /// patch map M upsampled and smoothed), from one encoding pass.
    /// </summary>
    public (float[] Scores, float[][] Maps) ScoreWithMaps(IReadOnlyList<Image<Rgb24>> images, bool withMaps, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(images);
        if (images.Count == 0) return ([], []);
        using var encoded = Encode(encoder, layers, images, Options.InferenceBatchSize, cancellationToken);
        var scored = scorer.Score(encoded.Global, encoded.Projected, encoded.Sources);
        var maps = withMaps
            ? [.. Enumerable.Range(0, images.Count).Select(i => AnomalyMapBuilder.Build(scored.PatchMaps[i], encoded.Projected.Grids[i], Options.MapSigma))]
            : Array.Empty<float[]>();
        return (scored.Scores, maps);
    }

    /// <summary>
    /// The scores of cached encoder outputs, equal to <see cref="Score"/> of the same images up to float rounding: the
    /// projected class tokens <paramref name="global"/> <c>[N, E]</c> (the encoder's pooled features) and the projected
    /// patch features of the same images in the same order, e.g. from one pass of
    /// <see cref="ImageEncoderExtensions.EncodeBatches"/> with <see cref="EncoderOutputs.Both"/>. The patch maps are M
    /// (before upsampling). Without gradients; the inputs are neither modified nor disposed.
    /// </summary>
    /// <exception cref="ArgumentException">An argument is missing, the shapes do not fit the encoder, or the counts differ.</exception>
    /// <exception cref="NotSupportedException">The memory uses hidden layers (<see cref="WinClipOptions.MemoryLayers"/>), which cached
    /// features do not hold: score the images instead.</exception>
    public PatchScores ScoreEncoded(Tensor? global, PatchFeatures? patches)
    {
        ArgumentNullException.ThrowIfNull(global);
        ArgumentNullException.ThrowIfNull(patches);
        FeatureShape.Require(global, encoder.FeatureDim);
        if (global.shape[0] != patches.Count)
            throw new ArgumentException($"{global.shape[0]} pooled features for {patches.Count} images of patches.", nameof(global));
        var scored = ScoreCached(global, patches);
        return new PatchScores(scored.Scores, scored.PatchMaps);
    }

    /// <summary>
    /// Patch maps of cached patch features without the class token: s₀ is taken as 0.5, so the image scores are
    /// (0.5 + max M) / 2 — ordered by the map alone and not equal to <see cref="Score"/> (the threshold was chosen on
    /// the full scores). The patch maps equal <see cref="ScoreEncoded"/>'s. Prefer <see cref="ScoreEncoded"/> when the
    /// pooled features are at hand.
    /// </summary>
    /// <exception cref="ArgumentException">The features do not have the encoder's patch width.</exception>
    /// <exception cref="NotSupportedException">The memory uses hidden layers (<see cref="WinClipOptions.MemoryLayers"/>).</exception>
    public PatchScores ScorePatches(PatchFeatures patches)
    {
        var scored = ScoreCached(null, patches);
        return new PatchScores(scored.Scores, scored.PatchMaps);
    }

    private WinClipScores ScoreCached(Tensor? global, PatchFeatures? patches)
    {
        ArgumentNullException.ThrowIfNull(patches);
        if (layers is not null)
            throw new NotSupportedException(
                $"This WinCLIP model's memory holds the tokens of blocks {string.Join(", ", layers)}, which cached patch features do not carry; score the images instead.");
        if (patches.Count > 0 && patches.Channels != encoder.PatchDim)
            throw new ArgumentException($"Patch features have {patches.Channels} channels; the encoder's have {encoder.PatchDim}.", nameof(patches));
        return scorer.Score(global, patches, [patches]);
    }

    /// <summary>The anomaly map of one image from its combined patch map, row-major at the image's size.</summary>
    public float[] AnomalyMap(Image<Rgb24> image, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(image);
        return ScoreWithMaps([image], withMaps: true, cancellationToken).Maps[0];
    }

    /// <summary>
    /// |∂score/∂pixel| averaged over the colour channels, placed on the image like <see cref="AnomalyMap"/>: which
    /// pixels the image score reacts to. Row-major at the image's size, non-negative.
    /// </summary>
    public float[] Saliency(Image<Rgb24> image, CancellationToken cancellationToken = default)
        => GradientSaliency.Of(encoder, image, pixels =>
        {
            Tensor global, projected;
            IReadOnlyList<Tensor> sources;
            int rows, columns;
            if (layers is null)
            {
                var encoded = encoder.Encode(pixels, EncoderOutputs.Both);
                global = encoded.Global!.select(0, 0);
                var grid = encoded.Patches!.select(0, 0);                          // [E, h, w]
                rows = (int)grid.shape[1];
                columns = (int)grid.shape[2];
                projected = grid.flatten(1).t();
                sources = [projected];
            }
            else
            {
                var clip = (ClipEncoder)encoder;
                var (pooled, patches, hidden) = clip.Model.visual.Tokens(pixels, pooled: true, patches: true, projectPatches: true, layers);
                global = pooled!.select(0, 0);
                projected = patches!.select(0, 0);
                long p = projected.shape[0];
                rows = columns = (int)Math.Round(Math.Sqrt(p));
                sources = [.. hidden.Select(h => h.select(0, 0).narrow(0, 1, p))];
            }
            return scorer.ScoreImage(global, projected, rows, columns, sources).Score;
        }, cancellationToken);

    /// <summary>
    /// WinCLIP's harmonic aggregation: given the scores of every stride-1 window of side <paramref name="windowSize"/>
    /// over a grid, <c>[N, h − s + 1, w − s + 1]</c> (window (r, c) covers rows r..r+s−1 and columns c..c+s−1), each
    /// patch's score <c>[N, h, w]</c> is the harmonic mean of the scores of the windows that contain it,
    /// n / Σ 1/aᵢ (scores floored at 1e−12). Differentiable.
    /// </summary>
    /// <exception cref="ArgumentException">The scores are not <c>[N, h', w']</c>, or the window side is below 1.</exception>
    public static Tensor HarmonicWindowMean(Tensor windowScores, int windowSize)
    {
        ArgumentNullException.ThrowIfNull(windowScores);
        ArgumentOutOfRangeException.ThrowIfLessThan(windowSize, 1);
        if (windowScores.ndim != 3 || windowScores.shape[1] < 1 || windowScores.shape[2] < 1)
            throw new ArgumentException($"Window scores must be [N, h', w']; got [{string.Join(", ", windowScores.shape)}].", nameof(windowScores));
        using var scope = NewDisposeScope();
        long s = windowSize, pad = s - 1;
        var reciprocals = windowScores.clamp_min(ProbabilityFloor).reciprocal().unsqueeze(1);   // [N, 1, h', w']
        var kernel = ones([1, 1, s, s], dtype: reciprocals.dtype, device: reciprocals.device);
        // Zero-padding by s − 1 and summing every s × s block visits, for each patch, exactly the windows that contain it.
        var sums = nn.functional.conv2d(nn.functional.pad(reciprocals, [pad, pad, pad, pad]), kernel);
        var counts = nn.functional.conv2d(nn.functional.pad(ones_like(reciprocals), [pad, pad, pad, pad]), kernel);
        return counts.div(sums).squeeze(1).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// Saves the model: a zip archive with <c>manifest.json</c> (format, encoder, embedding width, threshold, options,
    /// calibration scores and, when known, the backbone reference) and <c>winclip.safetensors</c> (the anchors
    /// [T⁺; T⁻] and the memory of each memory layer).
    /// </summary>
    public void Save(Stream output)
    {
        ArgumentNullException.ThrowIfNull(output);
        WinClipModelFile.Write(output, new WinClipManifest(WinClipModelFile.FormatName, WinClipModelFile.Version, BackboneName,
            anchors.shape[1], Threshold, Shots, Options, [.. calibrationNormals], [.. calibrationAnomalies], Backbone), anchors, memories, layers);
    }

    /// <summary>Saves the model to a file atomically (see <see cref="Save(Stream)"/>).</summary>
    public void Save(string path) => AtomicFile.Write(path, Save);

    /// <summary>Loads a model saved by <see cref="Save(Stream)"/> to run on <paramref name="encoder"/> (borrowed).</summary>
    /// <exception cref="IncompatibleModelException">The model was fitted with another encoder or embedding width.</exception>
    /// <exception cref="CheckpointFormatException">The stream is corrupt, incomplete, or of an unknown version.</exception>
    /// <exception cref="NotSupportedException">The model's memory uses hidden layers and the encoder is not a <see cref="ClipEncoder"/>.</exception>
    public static WinClipClassifier Load(Stream input, IImageEncoder encoder, string source = "model stream")
        => Load(input, encoder, owner: null, source);

    /// <summary>Loads on <paramref name="encoder"/>; with an <paramref name="owner"/> reference the model owns the encoder (when loading succeeds).</summary>
    internal static WinClipClassifier Load(Stream input, IImageEncoder encoder, BackboneReference? owner, string source)
    {
        ArgumentNullException.ThrowIfNull(encoder);
        var (manifest, anchors, memories) = WinClipModelFile.Read(input, source);
        return Create(manifest with { Backbone = owner ?? manifest.Backbone }, anchors, memories, encoder, ownsEncoder: owner is not null, source);
    }

    /// <summary>Releases the anchors and memories, and the encoder when the model owns it.</summary>
    public void Dispose()
    {
        anchors.Dispose();
        foreach (var m in memories) m.Dispose();
        if (ownsEncoder) encoder.Dispose();
    }

    private static WinClipClassifier Create(WinClipManifest manifest, TensorData anchors, TensorData[] memories, IImageEncoder encoder,
        bool ownsEncoder, string source)
    {
        if (manifest.Encoder != encoder.Name)
            throw new IncompatibleModelException(manifest.Encoder, encoder.Name, "the encoder names differ.");
        if (manifest.EmbedDim != encoder.FeatureDim || manifest.EmbedDim != encoder.PatchDim)
            throw new IncompatibleModelException(manifest.Encoder, encoder.Name,
                $"the model holds {manifest.EmbedDim}-d anchors but the encoder gives {encoder.FeatureDim}-d images and {encoder.PatchDim}-d patches.");
        var layers = SortedLayers(manifest.Options);
        long memoryWidth = manifest.EmbedDim;
        if (layers is not null)
        {
            if (encoder is not ClipEncoder clip)
                throw new NotSupportedException(
                    $"This WinCLIP model's memory holds the tokens of blocks {string.Join(", ", layers)}, which only a ClipEncoder gives; '{encoder.Name}' is a {encoder.GetType().Name}.");
            if (layers[^1] > clip.Model.Config.Vision.Layers)
                throw new CheckpointFormatException(source, $"its memory layers go up to block {layers[^1]} but the encoder has {clip.Model.Config.Vision.Layers}.");
            memoryWidth = clip.Model.Config.Vision.Width;
        }
        if (anchors.DType != ScalarType.Float32 || anchors.Shape.Length != 2 || anchors.Shape[0] != 2 || anchors.Shape[1] != manifest.EmbedDim)
            throw new CheckpointFormatException(source, $"its anchors are {anchors.DType} [{string.Join(", ", anchors.Shape)}] but must be Float32 [2, {manifest.EmbedDim}].");
        foreach (var memory in memories)
            if (memory.DType != ScalarType.Float32 || memory.Shape.Length != 2 || memory.Shape[0] < 1 || memory.Shape[1] != memoryWidth
                || memory.Shape[0] != memories[0].Shape[0])
                throw new CheckpointFormatException(source,
                    $"its memory is {memory.DType} [{string.Join(", ", memory.Shape)}] but must be Float32 [M, {memoryWidth}], one M for every layer.");
        using var scope = NewDisposeScope();
        var anchorTensor = anchors.ToTensor().contiguous();
        var memoryTensors = memories.Select(m => m.ToTensor().contiguous()).ToArray();
        return new WinClipClassifier(encoder, ownsEncoder, manifest.Backbone, manifest.Options, anchorTensor.DetachFromDisposeScope(),
            [.. memoryTensors.Select(m => m.DetachFromDisposeScope())], manifest.CalibrationNormals, manifest.CalibrationAnomalies, manifest.Shots);
    }

    // The text tower of a CLIP backbone, or NotSupportedException naming the backbone.
    private static ITextEncoder RequireClip(IImageEncoder encoder, WinClipOptions options)
    {
        if (encoder is not ITextEncoder text)
            throw new NotSupportedException(
                $"WinCLIP needs a CLIP backbone (an image tower with a text tower in the same space); '{encoder.Name}' has no text tower. " +
                "Use a CLIP backbone, or PatchCore for image-only backbones such as resnet18.");
        if (encoder.PatchDim != encoder.FeatureDim)
            throw new NotSupportedException(
                $"WinCLIP compares patch features with text features; backbone '{encoder.Name}' gives {encoder.PatchDim}-d patches but {encoder.FeatureDim}-d image and text features.");
        if (options.MemoryLayers is not null)
        {
            if (encoder is not ClipEncoder clip)
                throw new NotSupportedException(
                    $"WinClipOptions.MemoryLayers needs the hidden tokens of a ClipEncoder; backbone '{encoder.Name}' is a {encoder.GetType().Name}. " +
                    "Leave MemoryLayers null to use the projected patch tokens.");
            int blocks = clip.Model.Config.Vision.Layers;
            foreach (var layer in options.MemoryLayers)
                if (layer > blocks)
                    throw new ArgumentOutOfRangeException(nameof(WinClipOptions.MemoryLayers), layer,
                        $"MemoryLayers must lie between 1 and {blocks}, the blocks of '{encoder.Name}'.");
        }
        return text;
    }

    private static int[]? SortedLayers(WinClipOptions options) => options.MemoryLayers is { } l ? [.. l.Order()] : null;

    // Leave-one-out calibration: each shot and its synthetic anomalies against the memory of the other shots; with one
    // shot, its augmented variants and its anomalies against its own memory.
    private static (List<float> Normals, List<float> Anomalies) Calibrate(IImageEncoder encoder, int[]? layers, Tensor anchors,
        IReadOnlyList<Image<Rgb24>> images, Encoded shots, WinClipOptions options, CancellationToken cancellationToken)
    {
        var synthesizer = AnomalySynthesizers.Create(SynthesisMethod);
        var random = new Random(options.Seed);
        var normals = new List<float>();
        var anomalies = new List<float>();
        for (int i = 0; i < images.Count; i++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            using var scope = NewDisposeScope();
            bool alone = images.Count == 1;
            int[] kept = alone ? [0] : [.. Enumerable.Range(0, images.Count).Where(j => j != i)];
            var memories = new List<Tensor>();
            foreach (var source in shots.Sources)
            {
                using var part = source.Select(kept);
                memories.Add(nn.functional.normalize(part.Values, 2, 1));
            }
            var held = new Scorer(anchors, memories, options);
            var variants = alone ? NormalAugmentations.Create(images[i]) : [];
            var context = new SynthesisContext([.. images.Where((_, j) => j != i)]);
            var synthetic = Enumerable.Range(0, options.CalibrationAnomaliesPerNormal).Select(_ => synthesizer.Synthesize(images[i], random, context)).ToList();
            try
            {
                using (var heldOut = alone ? Encode(encoder, layers, variants, options.InferenceBatchSize, cancellationToken) : shots.Select([i]))
                    normals.AddRange(held.Score(heldOut.Global, heldOut.Projected, heldOut.Sources).Scores);
                using var anomalous = Encode(encoder, layers, [.. synthetic.Select(s => s.Image)], options.InferenceBatchSize, cancellationToken);
                anomalies.AddRange(held.Score(anomalous.Global, anomalous.Projected, anomalous.Sources).Scores);
            }
            finally
            {
                foreach (var v in variants) v.Dispose();
                foreach (var s in synthetic) s.Dispose();
            }
        }
        return (normals, anomalies);
    }

    // Class tokens, projected patch tokens and, with layers, the hidden patch tokens of each layer, without gradients.
    private static Encoded Encode(IImageEncoder encoder, int[]? layers, IReadOnlyList<Image<Rgb24>> images, int batchSize,
        CancellationToken cancellationToken)
    {
        if (layers is null)
        {
            var (global, patches) = encoder.EncodeBatches(images, batchSize, EncoderOutputs.Both, cancellationToken);
            return new Encoded(global!.DetachFromDisposeScope(), patches!, []);
        }
        var clip = (ClipEncoder)encoder;
        using var outer = NewDisposeScope();
        using var noGrad = no_grad();
        var globals = new List<Tensor>();
        var projected = new List<Tensor>();
        var hiddenParts = layers.Select(_ => new List<Tensor>()).ToArray();
        var grids = new List<PatchGrid>(images.Count);
        for (int start = 0; start < images.Count; start += batchSize)
        {
            cancellationToken.ThrowIfCancellationRequested();
            using var scope = NewDisposeScope();
            var batch = images.Skip(start).Take(batchSize).ToList();
            var (pooled, patches, hidden) = clip.Model.visual.Tokens(clip.Preprocess(batch), pooled: true, patches: true, projectPatches: true, layers);
            long p = patches!.shape[1];
            int g = (int)Math.Round(Math.Sqrt(p));
            globals.Add(pooled!.MoveToOuterDisposeScope());
            projected.Add(patches.reshape(-1, patches.shape[2]).MoveToOuterDisposeScope());
            for (int l = 0; l < layers.Length; l++)
                hiddenParts[l].Add(hidden[l].narrow(1, 1, p).reshape(-1, hidden[l].shape[2]).MoveToOuterDisposeScope());
            grids.AddRange(batch.Select(im => new PatchGrid(g, g, clip.Layout(im.Width, im.Height), im.Width, im.Height)));
        }
        var all = globals.Count == 0 ? zeros(0, clip.FeatureDim) : cat(globals, 0);
        var projectedFeatures = new PatchFeatures(projected.Count == 0 ? zeros(0, clip.PatchDim) : cat(projected, 0).contiguous(), grids);
        var hiddenFeatures = hiddenParts.Select(parts => new PatchFeatures(
            parts.Count == 0 ? zeros(0, clip.Model.Config.Vision.Width) : cat(parts, 0).contiguous(), grids)).ToArray();
        return new Encoded(all.DetachFromDisposeScope(), projectedFeatures, hiddenFeatures);
    }

    /// <summary>Encoded images: class tokens <c>[N, E]</c>, projected patches, and the hidden patches of each memory layer.</summary>
    private sealed class Encoded(Tensor global, PatchFeatures projected, PatchFeatures[] layers) : IDisposable
    {
        public Tensor Global { get; } = global;
        public PatchFeatures Projected { get; } = projected;

        /// <summary>The patches the memory compares: the hidden ones of each layer, or the projected ones.</summary>
        public IReadOnlyList<PatchFeatures> Sources => layers.Length > 0 ? layers : [Projected];

        public Encoded Select(IReadOnlyList<int> indices)
        {
            using var scope = NewDisposeScope();
            using var index = tensor(indices.Select(i => (long)i).ToArray());
            return new Encoded(Global.index_select(0, index).DetachFromDisposeScope(), Projected.Select(indices), [.. layers.Select(l => l.Select(indices))]);
        }

        public void Dispose()
        {
            Global.Dispose();
            Projected.Dispose();
            foreach (var l in layers) l.Dispose();
        }
    }

    /// <summary>The WinCLIP+ scoring math over fixed anchors (rows normalised) and memories (rows normalised).</summary>
    private sealed class Scorer(Tensor anchors, IReadOnlyList<Tensor> memories, WinClipOptions options)
    {
        /// <summary>Scores of every image, without gradients; a null <paramref name="global"/> stands s₀ at 0.5.</summary>
        public WinClipScores Score(Tensor? global, PatchFeatures projected, IReadOnlyList<PatchFeatures> sources)
        {
            int n = projected.Count;
            var scores = new float[n];
            var zeroShot = new float[n];
            var zeroMaps = new float[n][];
            var fewMaps = new float[n][];
            var maps = new float[n][];
            using var noGrad = no_grad();
            for (int i = 0; i < n; i++)
            {
                using var scope = NewDisposeScope();
                var grid = projected.Grids[i];
                var r = ScoreImage(global?.select(0, i), projected.Of(i), grid.Rows, grid.Columns, [.. sources.Select(s => s.Of(i))]);
                scores[i] = r.Score.item<float>();
                zeroShot[i] = r.ZeroShot.item<float>();
                zeroMaps[i] = r.ZeroShotMap.contiguous().data<float>().ToArray();
                fewMaps[i] = r.FewShotMap.contiguous().data<float>().ToArray();
                maps[i] = r.Map.contiguous().data<float>().ToArray();
            }
            return new WinClipScores(scores, zeroShot, zeroMaps, fewMaps, maps);
        }

        /// <summary>
        /// One image: its class token <c>[E]</c> (or null for s₀ = 0.5), its projected patches <c>[h·w, E]</c> and the
        /// patches the memories compare <c>[h·w, Cₗ]</c>. Differentiable; tensors in the caller's scope.
        /// </summary>
        public (Tensor Score, Tensor ZeroShot, Tensor ZeroShotMap, Tensor FewShotMap, Tensor Map) ScoreImage(Tensor? global, Tensor projected,
            int rows, int columns, IReadOnlyList<Tensor> sources)
        {
            var s0 = global is null ? tensor(0.5f) : AnomalyProbability(global.unsqueeze(0)).squeeze(0);
            var m0 = ZeroShotMap(projected, rows, columns);
            var mf = FewShotMap(sources);
            var map = m0.add(mf).div(2);
            var score = s0.add(map.max()).div(2);
            return (score, s0, m0, mf, map);
        }

        // softmax([cos(x, T⁺), cos(x, T⁻)] / τ)[anomalous] per row of x [K, E].
        private Tensor AnomalyProbability(Tensor features)
            => nn.functional.normalize(features, 2, 1).matmul(anchors.t()).div(options.ScoreTemperature).softmax(1).select(1, 1);

        // M₀: mean over the scales (1×1 and each window side that fits) of the harmonic aggregation of the window probabilities.
        private Tensor ZeroShotMap(Tensor projected, int rows, int columns)
        {
            long e = projected.shape[1];
            var grid = projected.t().reshape(1, e, rows, columns);
            var scales = new List<Tensor> { AnomalyProbability(projected) };
            foreach (var size in options.WindowSizes)
            {
                if (size > rows || size > columns) continue;
                var windows = nn.functional.avg_pool2d(grid, size, 1);                 // [1, E, h', w'] window means
                long h = windows.shape[2], w = windows.shape[3];
                var probabilities = AnomalyProbability(windows.flatten(2).select(0, 0).t()).reshape(1, h, w);
                scales.Add(HarmonicWindowMean(probabilities, size).reshape(-1));
            }
            return stack(scales, 0).mean([0]);
        }

        // M_f: (1 − max cos to the memory) / 2 per patch, averaged over the memories.
        private Tensor FewShotMap(IReadOnlyList<Tensor> sources)
        {
            var perLayer = new List<Tensor>(memories.Count);
            for (int l = 0; l < memories.Count; l++)
            {
                var queries = nn.functional.normalize(sources[l], 2, 1);
                var bank = memories[l];
                long q = queries.shape[0], chunk = Math.Max(1, BlockElements / bank.shape[0]);
                var parts = new List<Tensor>();
                for (long start = 0; start < q; start += chunk)
                    parts.Add(queries.narrow(0, start, Math.Min(chunk, q - start)).matmul(bank.t()).amax([1]));
                var best = parts.Count == 1 ? parts[0] : cat(parts, 0);
                perLayer.Add(best.neg().add(1).div(2).clamp(0, 1));
            }
            return perLayer.Count == 1 ? perLayer[0] : stack(perLayer, 0).mean([0]);
        }
    }
}

/// <summary>What a saved WinCLIP model records besides its tensors.</summary>
internal sealed record WinClipManifest(string Format, int FormatVersion, string Encoder, long EmbedDim, float Threshold, int Shots,
    WinClipOptions Options, float[] CalibrationNormals, float[] CalibrationAnomalies, BackboneReference? Backbone = null);

/// <summary>
/// The saved WinCLIP layout: <see cref="ModelArchive"/> with <c>winclip.safetensors</c> holding <c>anchors</c> [2, E]
/// (T⁺ and T⁻, normalised) and <c>memory</c> [M, E] (projected tokens) or <c>memory.layer{L}</c> [M, W] per memory layer.
/// </summary>
internal static class WinClipModelFile
{
    public const string FormatName = "fsac-winclip";
    public const int Version = 1;
    private const string TensorsEntry = "winclip.safetensors";
    private const string AnchorsKey = "anchors";

    private static JsonSerializerOptions Json => ModelArchive.ManifestJson;

    private static string[] MemoryKeys(int[]? layers) => layers is null ? ["memory"] : [.. layers.Select(l => $"memory.layer{l}")];

    public static void Write(Stream output, WinClipManifest manifest, Tensor anchors, IReadOnlyList<Tensor> memories, int[]? layers)
    {
        var tensors = new Dictionary<string, TensorData> { [AnchorsKey] = TensorData.FromTensor(anchors) };
        var keys = MemoryKeys(layers);
        for (int i = 0; i < keys.Length; i++) tensors[keys[i]] = TensorData.FromTensor(memories[i]);
        ModelArchive.Write(output, JsonSerializer.SerializeToUtf8Bytes(manifest, Json), TensorsEntry, tensors);
    }

    /// <exception cref="CheckpointFormatException">Not a complete, valid WinCLIP model of a known version.</exception>
    public static (WinClipManifest Manifest, TensorData Anchors, TensorData[] Memories) Read(Stream input, string source)
    {
        var (bytes, tensors) = ModelArchive.Read(input, source, TensorsEntry);
        WinClipManifest? manifest;
        try
        {
            manifest = JsonSerializer.Deserialize<WinClipManifest>(bytes, Json);
        }
        catch (JsonException e)
        {
            throw new CheckpointFormatException(source, $"its manifest is not valid: {e.Message}", e);
        }
        if (manifest is null || manifest.Format != FormatName || manifest.Options is null || string.IsNullOrEmpty(manifest.Encoder)
            || manifest.CalibrationNormals is not { Length: > 0 } || manifest.CalibrationAnomalies is not { Length: > 0 } || manifest.Shots < 1
            || manifest.EmbedDim < 1 || (manifest.Backbone is not null && string.IsNullOrWhiteSpace(manifest.Backbone.Spec)))
            throw new CheckpointFormatException(source, "its manifest is incomplete or not a WinCLIP manifest.");
        if (manifest.FormatVersion != Version)
            throw new CheckpointFormatException(source, $"format version {manifest.FormatVersion} is not supported (this library reads version {Version}).");
        try
        {
            manifest.Options.Validate();
        }
        catch (ArgumentException e)
        {
            throw new CheckpointFormatException(source, $"its options are invalid: {e.Message}", e);
        }
        var keys = MemoryKeys(manifest.Options.MemoryLayers?.Order().ToArray());
        if (!tensors.TryGetValue(AnchorsKey, out var anchors) || tensors.Count != keys.Length + 1 || keys.Any(k => !tensors.ContainsKey(k)))
            throw new CheckpointFormatException(source, $"its weights must hold exactly the tensors '{AnchorsKey}', {string.Join(", ", keys.Select(k => $"'{k}'"))}.");
        return (manifest, anchors, [.. keys.Select(k => tensors[k])]);
    }
}
