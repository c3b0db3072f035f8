using Fsac.MLNet.Export;
using Fsac.MLNet.Checkpoints;
using Fsac.MLNet.Encoders;
using Fsac.MLNet.Files;
using Fsac.MLNet.Fitting;
using Fsac.MLNet.Head;
using Fsac.MLNet.Imaging;
using Fsac.MLNet.Maps;
using Fsac.MLNet.Synthesis;
using System.Text.Json;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.PixelFormats;
using TorchSharp;
using static TorchSharp.torch;

namespace Fsac.MLNet.Classifiers;

/// <summary>
/// CLIP-FSAC trained on local evidence: the paper's head (image adapter, text adapter, cross-attention, fusion-text
/// contrastive loss, two stages; <see cref="FsacHead"/>, <see cref="HeadTrainer"/>) applied to patch features instead
/// of one pooled vector. The synthetic anomalies come with masks, so the patches they cover are the anomalous
/// examples and the shots' patches the normal ones. An image scores the largest patch logit
/// (<see cref="AnomalyScorer.Logit"/>, continuous where S⁻/(S⁻+S⁺) would round to 0 or 1), and the patch logits as
/// probabilities (<see cref="ToProbability"/>) form its anomaly map. Anchors come from the prompts when the patches share the text space (CLIP), else
/// they are prototypes (mean normal patch, mean anomalous patch).
/// </summary>
internal sealed class FsacPatchClassifier : IAnomalyClassifier, IEncodedScorer, IOnnxExportable
{
    /// <summary>Normal patches drawn per fit as the training batch (each paired with a synthetic anomalous patch per epoch).</summary>
    public const int TrainingPatches = 256;

    /// <summary>A patch counts as anomalous when the synthetic mask covers at least this share of it.</summary>
    public const double AnomalousCoverage = 0.5;

    private const string AnchorsKey = "anchors";
    private readonly IImageEncoder baseEncoder;
    private readonly IImageEncoder encoder;
    private readonly bool ownsEncoder;
    private readonly FsacHead head;
    private readonly Tensor anchors;
    private readonly Tensor psi;
    private readonly float[] calibrationNormals;
    private readonly float[] calibrationAnomalies;

    private FsacPatchClassifier(IImageEncoder encoder, bool ownsEncoder, BackboneReference? backbone, FsacOptions options, int? resolution,
        FsacHead head, Tensor anchors, TrainingHistory history, float[] calibrationNormals, float[] calibrationAnomalies)
    {
        baseEncoder = encoder;
        this.encoder = resolution is { } r ? encoder.WithResolution(r) : encoder;
        this.ownsEncoder = ownsEncoder;
        Backbone = backbone;
        Options = options;
        Resolution = resolution;
        this.head = head;
        using (var detached = anchors.detach())
            this.anchors = detached.clone().DetachFromDisposeScope();
        using (no_grad())
            psi = head.AdaptText(this.anchors).DetachFromDisposeScope();
        History = history;
        this.calibrationNormals = calibrationNormals;
        this.calibrationAnomalies = calibrationAnomalies;
        Threshold = ThresholdSelector.F1Optimal(calibrationNormals, calibrationAnomalies);
    }

    /// <summary>The CLIP-FSAC options of the fit.</summary>
    public FsacOptions Options { get; }

    /// <inheritdoc />
    public int? Resolution { get; }

    /// <inheritdoc />
    public EncoderOutputs Needs => EncoderOutputs.Patches;

    /// <summary>The training losses per stage and epoch.</summary>
    public TrainingHistory History { get; }

    /// <inheritdoc />
    public float Threshold { get; }

    /// <inheritdoc />
    public string BackboneName => baseEncoder.Name;

    /// <summary>How the encoder can be re-created, when known.</summary>
    public BackboneReference? Backbone { get; }

    /// <summary>
    /// Fits on <paramref name="normals"/> with the encoder borrowed (or owned, with <paramref name="backbone"/>):
    /// encodes the shots' patches and those of <see cref="FsacOptions.AnomaliesPerNormal"/> synthetic anomalies per
    /// shot once, trains the head on them, and chooses the threshold on augmented shots against fresh anomalies.
    /// </summary>
    /// <exception cref="ArgumentException">No normal image (or a null one), or an option is out of range.</exception>
    public static FsacPatchClassifier Fit(IImageEncoder encoder, IReadOnlyList<Image<Rgb24>> normals, FsacOptions options,
        IAnomalySynthesizer synthesizer, int? resolution = null, BackboneReference? backbone = null, IProgress<TrainingProgress>? progress = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(encoder);
        ArgumentNullException.ThrowIfNull(normals);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(synthesizer);
        if (normals.Count == 0) throw new ArgumentException("at least one normal image is required", nameof(normals));
        if (normals.Any(n => n is null)) throw new ArgumentException("a normal image is null", nameof(normals));
        options.Validate();
        var view = resolution is { } r ? encoder.WithResolution(r) : encoder;
        var seeds = new Random(options.Seed);
        var synthesisRandom = new Random(seeds.Next());
        var samplingRandom = new Random(seeds.Next());
        var calibrationRandom = new Random(seeds.Next());

        using var scope = NewDisposeScope();
        using var shots = view.EncodePatches(normals, options.InferenceBatchSize, cancellationToken);
        var anomalous = AnomalousPatches(view, normals, synthesizer, options.AnomaliesPerNormal, synthesisRandom, options.InferenceBatchSize, cancellationToken);
        var normalRows = Sample(shots.Values, TrainingPatches, samplingRandom);
        var pool = PairAnomalies(anomalous, normalRows.shape[0], Math.Min(8, options.AnomaliesPerNormal), samplingRandom);
        var anchorsRaw = view is ITextEncoder text && view.PatchDim == view.FeatureDim
            ? TextAnchors.FromPrompts(text, new PromptEnsemble(options.ClassName, options.ExtraNormalPrompts, options.ExtraAnomalousPrompts), options.NormalizePromptsBeforeAveraging)
            : TextAnchors.FromPrototypes(shots.Values, anomalous);
        using var cache = new FeatureCache(normalRows, pool, anchorsRaw);
        var head = new FsacHead(view.PatchDim, options);
        try
        {
            var history = new HeadTrainer(options).Train(head, cache, samplingRandom, progress, cancellationToken);
            foreach (var p in head.parameters()) p.requires_grad = false;
            var (normalScores, anomalyScores) = Calibrate(head, cache.Anchors, view, normals, synthesizer, options, calibrationRandom, cancellationToken);
            if (view != encoder) view.Dispose();
            return new FsacPatchClassifier(encoder, backbone is not null, backbone, options, resolution, head, cache.Anchors, history, normalScores, anomalyScores);
        }
        catch
        {
            head.Dispose();
            throw;
        }
    }

    /// <inheritdoc />
    public float[] Score(IReadOnlyList<Image<Rgb24>> images, CancellationToken cancellationToken = default)
        => ScoreWithMaps(images, withMaps: false, cancellationToken).Scores;

    /// <inheritdoc />
    public (float[] Scores, float[][] Maps) ScoreWithMaps(IReadOnlyList<Image<Rgb24>> images, bool withMaps, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(images);
        if (images.Count == 0) return ([], []);
        using var patches = encoder.EncodePatches(images, Options.InferenceBatchSize, cancellationToken);
        var scored = ScoreEncoded(null, patches);
        var maps = withMaps
            ? [.. Enumerable.Range(0, images.Count).Select(i => AnomalyMapBuilder.Build(scored.PatchMaps[i]!, patches.Grids[i]))]
            : Array.Empty<float[]>();
        return (scored.Scores, maps);
    }

    /// <summary>Image scores (the largest patch logit) and per-patch probabilities (<see cref="ToProbability"/>) of <paramref name="patches"/>; <paramref name="global"/> is not used.</summary>
    public PatchScores ScoreEncoded(Tensor? global, PatchFeatures? patches)
    {
        ArgumentNullException.ThrowIfNull(patches);
        if (patches.Count > 0 && patches.Channels != head.FeatureDim)
            throw new ArgumentException($"Patch features have {patches.Channels} channels; the head takes {head.FeatureDim}.", nameof(patches));
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var scores = new float[patches.Count];
        var maps = new float[patches.Count][];
        if (patches.Count == 0) return new PatchScores(scores, maps);
        var all = PatchLogits(patches.Values).data<float>().ToArray();
        for (int i = 0; i < patches.Count; i++)
        {
            var span = all.AsSpan(patches.Offset(i), patches.Grids[i].Count);
            float max = float.NegativeInfinity;
            foreach (var v in span) max = Math.Max(max, v);
            scores[i] = max;
            maps[i] = [.. span.ToArray().Select(ToProbability)];
        }
        return new PatchScores(scores, maps);
    }

    /// <inheritdoc />
    public float[] AnomalyMap(Image<Rgb24> image, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(image);
        return ScoreWithMaps([image], withMaps: true, cancellationToken).Maps[0];
    }

    /// <summary>|∂score/∂pixel| averaged over colour channels, placed on the image. Row-major at the image's size.</summary>
    public float[] Saliency(Image<Rgb24> image, CancellationToken cancellationToken = default)
        => GradientSaliency.Of(encoder, image, pixels =>
        {
            var grid = encoder.Encode(pixels, EncoderOutputs.Patches).Patches!;
            return PatchLogits(grid.select(0, 0).flatten(1).t()).max();
        }, cancellationToken);

    /// <summary>The head on every patch, ψ and τ for the ONNX export (a part of a fusion: it has no method of its own).</summary>
    ExportedModel IOnnxExportable.ForExport()
        => new([new HeadPart(head, psi, Options.ScoreTemperature, OnPatches: true, Threshold, Calibration.ForExport(Threshold, calibrationNormals, calibrationAnomalies))],
            Threshold, "fsac-patch-head", BackboneName, encoder);

    /// <summary>A logistic of the score centred on the threshold, with the calibration scores' spread as its scale.</summary>
    public float ToProbability(float score) => Calibration.Logistic(score, Threshold, calibrationNormals, calibrationAnomalies);

    /// <summary>Saves the model: manifest (format <c>fsac-patch-head</c>), head weights and raw anchors.</summary>
    public void Save(Stream output)
    {
        ArgumentNullException.ThrowIfNull(output);
        var tensors = head.state_dict().ToDictionary(kv => kv.Key, kv => TensorData.FromTensor(kv.Value));
        tensors[AnchorsKey] = TensorData.FromTensor(anchors);
        var manifest = new FsacPatchManifest(FormatName, Version, BackboneName, head.FeatureDim, Resolution, Threshold, Options, History,
            calibrationNormals, calibrationAnomalies, Backbone);
        ModelArchive.Write(output, JsonSerializer.SerializeToUtf8Bytes(manifest, Json), WeightsEntry, tensors);
    }

    /// <summary>Saves atomically to a file.</summary>
    public void Save(string path) => AtomicFile.Write(path, Save);

    /// <summary>Loads a model saved by <see cref="Save(Stream)"/> on <paramref name="encoder"/>; with <paramref name="owner"/> the model owns the encoder.</summary>
    /// <exception cref="CheckpointFormatException">The stream is corrupt, incomplete, or of an unknown version.</exception>
    /// <exception cref="IncompatibleModelException">The model was fitted on another encoder.</exception>
    public static FsacPatchClassifier Load(Stream input, IImageEncoder encoder, BackboneReference? owner = null, string source = "model stream")
    {
        ArgumentNullException.ThrowIfNull(encoder);
        var (bytes, data) = ModelArchive.Read(input, source, WeightsEntry);
        FsacPatchManifest? manifest;
        try
        {
            manifest = JsonSerializer.Deserialize<FsacPatchManifest>(bytes, Json);
        }
        catch (JsonException e)
        {
            throw new CheckpointFormatException(source, $"its manifest is not valid: {e.Message}", e);
        }
        if (manifest is null || manifest.Format != FormatName || manifest.Options is null || manifest.History?.Stages is null
            || manifest.CalibrationNormals is not { Length: > 0 } || manifest.CalibrationAnomalies is not { Length: > 0 } || string.IsNullOrEmpty(manifest.Encoder))
            throw new CheckpointFormatException(source, "its manifest is incomplete or not a patch CLIP-FSAC manifest.");
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
        if (manifest.Encoder != encoder.Name)
            throw new IncompatibleModelException(manifest.Encoder, encoder.Name, "the encoder names differ.");
        if (manifest.PatchDim != encoder.PatchDim)
            throw new IncompatibleModelException(manifest.Encoder, encoder.Name, $"the head takes {manifest.PatchDim}-d patches but the encoder gives {encoder.PatchDim}-d ones.");
        var head = FsacHeadFile.Load(data, manifest.PatchDim, manifest.Options, AnchorsKey, source, out var anchors);
        try
        {
            return new FsacPatchClassifier(encoder, owner is not null, owner ?? manifest.Backbone, manifest.Options, manifest.Resolution, head, anchors,
                manifest.History, manifest.CalibrationNormals, manifest.CalibrationAnomalies);
        }
        catch
        {
            head.Dispose();
            throw;
        }
        finally
        {
            anchors.Dispose();
        }
    }

    /// <summary>Releases the head and its tensors, and the encoder when the model owns it.</summary>
    public void Dispose()
    {
        head.Dispose();
        anchors.Dispose();
        psi.Dispose();
        if (ownsEncoder) baseEncoder.Dispose();
    }

    internal const string FormatName = "fsac-patch-head";
    private const int Version = 1;
    private const string WeightsEntry = "head.safetensors";

    private static JsonSerializerOptions Json => ModelArchive.ManifestJson;

    private Tensor PatchLogits(Tensor rows) => head.Logit(rows, psi, Options.ScoreTemperature);

    // The patches of the synthetic anomalies that their masks cover (at least AnomalousCoverage of the cell); where an
    // anomaly covers no cell that much, its best-covered cell stands in, so every anomaly contributes.
    private static Tensor AnomalousPatches(IImageEncoder encoder, IReadOnlyList<Image<Rgb24>> normals, IAnomalySynthesizer synthesizer,
        int perNormal, Random random, int batchSize, CancellationToken cancellationToken)
    {
        using var scope = NewDisposeScope();
        var rows = new List<Tensor>();
        for (int i = 0; i < normals.Count; i++)
        {
            var context = new SynthesisContext([.. normals.Where((_, j) => j != i)]);
            var anomalies = new List<SyntheticAnomaly>(perNormal);
            try
            {
                for (int j = 0; j < perNormal; j++)
                {
                    cancellationToken.ThrowIfCancellationRequested();
                    anomalies.Add(synthesizer.Synthesize(normals[i], random, context));
                }
                using var patches = encoder.EncodePatches([.. anomalies.Select(a => a.Image)], batchSize, cancellationToken);
                for (int a = 0; a < anomalies.Count; a++)
                {
                    var coverage = MaskCoverage.OfGrid(anomalies[a].Mask, patches.Grids[a]);
                    var chosen = Enumerable.Range(0, coverage.Length).Where(c => coverage[c] >= AnomalousCoverage).Select(c => (long)c).ToArray();
                    if (chosen.Length == 0 && coverage.Max() > 0) chosen = [Array.IndexOf(coverage, coverage.Max())];
                    if (chosen.Length == 0) continue;
                    using var index = tensor(chosen);
                    rows.Add(patches.Of(a).index_select(0, index).MoveToOuterDisposeScope());
                }
            }
            finally
            {
                foreach (var a in anomalies) a.Dispose();
            }
        }
        if (rows.Count == 0) throw new InvalidOperationException("The synthetic anomalies cover no patch; use another synthesis method.");
        return cat(rows, 0).MoveToOuterDisposeScope();
    }

    private static Tensor Sample(Tensor rows, int count, Random random)
    {
        long n = rows.shape[0];
        if (n <= count) return rows.alias();
        var picked = new HashSet<long>();
        while (picked.Count < count) picked.Add(random.NextInt64(n));
        using var index = tensor(picked.Order().ToArray());
        return rows.index_select(0, index);
    }

    // Pool [N, M, C]: for every normal row, M anomalous patches drawn with replacement.
    private static Tensor PairAnomalies(Tensor anomalous, long normals, int perRow, Random random)
    {
        var index = new long[normals * perRow];
        for (int i = 0; i < index.Length; i++) index[i] = random.NextInt64(anomalous.shape[0]);
        using var t = tensor(index);
        return anomalous.index_select(0, t).reshape(normals, perRow, anomalous.shape[1]);
    }

    private static (float[] Normals, float[] Anomalies) Calibrate(FsacHead head, Tensor anchors, IImageEncoder encoder, IReadOnlyList<Image<Rgb24>> normals,
        IAnomalySynthesizer synthesizer, FsacOptions options, Random random, CancellationToken cancellationToken)
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var psi = head.AdaptText(anchors);
        var variants = normals.SelectMany(NormalAugmentations.Create).ToList();
        var synthetic = new List<SyntheticAnomaly>();
        try
        {
            for (int i = 0; i < normals.Count; i++)
            {
                var context = new SynthesisContext([.. normals.Where((_, j) => j != i)]);
                for (int j = 0; j < options.CalibrationAnomaliesPerNormal; j++) synthetic.Add(synthesizer.Synthesize(normals[i], random, context));
            }
            return (MaxLogits(head, psi, encoder, variants, options, cancellationToken),
                MaxLogits(head, psi, encoder, [.. synthetic.Select(s => s.Image)], options, cancellationToken));
        }
        finally
        {
            foreach (var v in variants) v.Dispose();
            foreach (var s in synthetic) s.Dispose();
        }
    }

    private static float[] MaxLogits(FsacHead head, Tensor psi, IImageEncoder encoder, IReadOnlyList<Image<Rgb24>> images, FsacOptions options,
        CancellationToken cancellationToken)
    {
        using var patches = encoder.EncodePatches(images, options.InferenceBatchSize, cancellationToken);
        using var scope = NewDisposeScope();
        var logits = head.Logit(patches.Values, psi, options.ScoreTemperature);
        return [.. Enumerable.Range(0, patches.Count).Select(i => logits.narrow(0, patches.Offset(i), patches.Grids[i].Count).max().item<float>())];
    }
}

/// <summary>What a saved patch CLIP-FSAC model records besides its weights.</summary>
internal sealed record FsacPatchManifest(string Format, int FormatVersion, string Encoder, long PatchDim, int? Resolution, float Threshold,
    FsacOptions Options, TrainingHistory History, float[] CalibrationNormals, float[] CalibrationAnomalies, BackboneReference? Backbone = null);
