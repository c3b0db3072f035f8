using Fsac.MLNet.Export;
using Fsac.MLNet.Checkpoints;
using Fsac.MLNet.Encoders;
using Fsac.MLNet.Files;
using Fsac.MLNet.Fitting;
using Fsac.MLNet.Head;
using Fsac.MLNet.Maps;
using Fsac.MLNet.Synthesis;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.PixelFormats;
using TorchSharp;
using static TorchSharp.torch;

namespace Fsac.MLNet.Classifiers;

/// <summary>
/// A fitted CLIP-FSAC classifier: a frozen encoder, a trained <see cref="FsacHead"/>, its adapted anchors
/// [AT⁺; AT⁻] (computed once after training, never re-adapted per batch) and a decision threshold chosen without
/// real anomalies (<see cref="ThresholdSelector"/>). The encoder is borrowed, not owned: dispose it separately.
/// </summary>
public sealed class FsacClassifier : IAnomalyClassifier, IFeatureScorer, IOnnxExportable
{
    private const string AnchorsKey = "anchors";

    private readonly IImageEncoder encoder;
    private readonly FsacHead head;
    private readonly Tensor anchors;
    private readonly Tensor psi;

    private FsacClassifier(IImageEncoder encoder, bool ownsEncoder, BackboneReference? backbone, FsacHead head, Tensor anchors,
        FsacOptions options, float threshold, TrainingHistory history, string synthesizerName)
    {
        this.encoder = encoder;
        this.ownsEncoder = ownsEncoder;
        Backbone = backbone;
        this.head = head;
        using (var detached = anchors.detach())
            this.anchors = detached.clone().DetachFromDisposeScope();
        psi = AdaptAnchors(head, this.anchors).DetachFromDisposeScope();
        Options = options;
        Threshold = threshold;
        History = history;
        SynthesizerName = synthesizerName;
    }

    /// <summary>The options of the fit.</summary>
    public FsacOptions Options { get; }

    /// <summary>Decision threshold: an image whose score is at least this is predicted anomalous.</summary>
    public float Threshold { get; }

    /// <summary>The training losses of the fit, per stage and epoch.</summary>
    public TrainingHistory History { get; }

    /// <summary>Name of the anomaly synthesizer used in the fit.</summary>
    public string SynthesizerName { get; }

    /// <summary>The encoder the model runs on.</summary>
    public IImageEncoder Encoder => encoder;

    /// <inheritdoc />
    public string BackboneName => encoder.Name;

    /// <summary>
    /// How the encoder can be re-created, when known: given when fitting on an encoder the model owns, or read from a
    /// model file that records it. <see cref="Save(Stream)"/> writes it, so that the saved file loads without an encoder.
    /// </summary>
    public BackboneReference? Backbone { get; }

    /// <inheritdoc />
    public int FeatureDim => encoder.FeatureDim;

    private readonly bool ownsEncoder;

    /// <summary>
    /// Fits CLIP-FSAC on <paramref name="normals"/>: encodes the shots and a pool of synthetic anomalies once, trains
    /// the head on the cached features (<see cref="HeadTrainer"/>), then chooses the threshold. Deterministic: the
    /// same inputs and <see cref="FsacOptions.Seed"/> give the same model bit for bit on one machine.
    /// </summary>
    /// <param name="encoder">The frozen backbone; with a text tower (<see cref="ITextEncoder"/>) the anchors come from the prompt ensemble, otherwise from prototypes.</param>
    /// <param name="normals">The k normal shots, of any size.</param>
    /// <param name="options">Fit options, e.g. <see cref="FsacPreset.MVTec"/>.</param>
    /// <param name="synthesizer">Makes the synthetic anomalies (normally the one named by <see cref="FsacOptions.SynthesisMethod"/>).</param>
    /// <param name="progress">Receives one report per training epoch.</param>
    /// <param name="cancellationToken">Cancels the fit between batches and epochs.</param>
    /// <exception cref="ArgumentException">No normal image (or a null one) was given, or an option is out of range.</exception>
    public static FsacClassifier Fit(IImageEncoder encoder, IReadOnlyList<Image<Rgb24>> normals, FsacOptions options,
        IAnomalySynthesizer synthesizer, IProgress<TrainingProgress>? progress = null, CancellationToken cancellationToken = default)
        => FitCore(encoder, null, normals, options, synthesizer, null, progress, cancellationToken);

    /// <summary>
    /// Fits on <paramref name="encoder"/>, created from <paramref name="owner"/>: the model owns the encoder from
    /// construction and records the reference, so its saved file loads without an encoder. When this throws the
    /// caller still owns the encoder.
    /// </summary>
    internal static FsacClassifier Fit(IImageEncoder encoder, BackboneReference owner, IReadOnlyList<Image<Rgb24>> normals, FsacOptions options,
        IAnomalySynthesizer synthesizer, IProgress<TrainingProgress>? progress, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(owner);
        return FitCore(encoder, owner, normals, options, synthesizer, null, progress, cancellationToken);
    }

    /// <summary>
    /// Fits as the other overload does and shows the head to <paramref name="checkpoint"/> before training and after
    /// every epoch (<see cref="TrainingCheckpoint"/>), e.g. to chart how test scores evolve. Observing changes nothing:
    /// the fitted model is the same as without the callback. For reporting only: choosing the number of epochs on the
    /// test images this way would leak the test set into the model.
    /// </summary>
    /// <param name="encoder">The frozen backbone.</param>
    /// <param name="normals">The k normal shots.</param>
    /// <param name="options">Fit options.</param>
    /// <param name="synthesizer">Makes the synthetic anomalies.</param>
    /// <param name="checkpoint">Called synchronously on the training thread; the checkpoint is valid only during the call.</param>
    /// <param name="progress">Receives one report per training epoch.</param>
    /// <param name="cancellationToken">Cancels the fit between batches and epochs.</param>
    /// <exception cref="ArgumentException">No normal image (or a null one) was given, or an option is out of range.</exception>
    public static FsacClassifier Fit(IImageEncoder encoder, IReadOnlyList<Image<Rgb24>> normals, FsacOptions options,
        IAnomalySynthesizer synthesizer, Action<TrainingCheckpoint> checkpoint, IProgress<TrainingProgress>? progress = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(checkpoint);
        return FitCore(encoder, null, normals, options, synthesizer, checkpoint, progress, cancellationToken);
    }

    // With an owner the model owns the encoder and records the reference; without, it borrows the encoder.
    private static FsacClassifier FitCore(IImageEncoder encoder, BackboneReference? owner, IReadOnlyList<Image<Rgb24>> normals, FsacOptions options,
        IAnomalySynthesizer synthesizer, Action<TrainingCheckpoint>? checkpoint, IProgress<TrainingProgress>? progress,
        CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(encoder);
        ArgumentNullException.ThrowIfNull(normals);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(synthesizer);
        if (normals.Count == 0) throw new ArgumentException("at least one normal image is required", nameof(normals));
        if (normals.Any(n => n is null)) throw new ArgumentException("a normal image is null", nameof(normals));
        options.Validate();

        var seeds = new Random(options.Seed);
        var synthesisRandom = new Random(seeds.Next());
        var samplingRandom = new Random(seeds.Next());
        var calibrationRandom = new Random(seeds.Next());

        using var cache = FeatureCache.Build(encoder, normals, synthesizer, options, synthesisRandom, cancellationToken);
        var head = new FsacHead(encoder.FeatureDim, options);
        try
        {
            var trainer = new HeadTrainer(options);
            var history = checkpoint is null
                ? trainer.Train(head, cache, samplingRandom, progress, cancellationToken)
                : trainer.Train(head, cache, samplingRandom, checkpoint, progress, cancellationToken);
            float threshold;
            using (var psi = AdaptAnchors(head, cache.Anchors))
                threshold = ThresholdSelector.Calibrate(head, psi, encoder, normals, synthesizer, options, calibrationRandom, cancellationToken);
            return new FsacClassifier(encoder, owner is not null, owner, head, cache.Anchors, options, threshold, history, synthesizer.Name);
        }
        catch
        {
            head.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Fits with the synthesizer that <paramref name="synthesizerFactory"/> returns for
    /// <see cref="FsacOptions.SynthesisMethod"/>; see the other overload.
    /// </summary>
    public static FsacClassifier Fit(IImageEncoder encoder, IReadOnlyList<Image<Rgb24>> normals, FsacOptions options,
        Func<string, IAnomalySynthesizer> synthesizerFactory, IProgress<TrainingProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(synthesizerFactory);
        return Fit(encoder, normals, options, synthesizerFactory(options.SynthesisMethod), progress, cancellationToken);
    }

    /// <summary>
    /// Anomaly scores, batched internally, without gradients: the logit of AS (Eq. 12), AS = sigmoid(score) =
    /// <see cref="ToProbability"/>. The ranking and every decision are those of AS; unlike AS, which rounds to 1 in float32
    /// once s(CF, AT⁻) − s(CF, AT⁺) exceeds about 1.2 at τ = 0.07, the logit stays continuous, so thresholds can be moved.
    /// </summary>
    public float[] Score(IReadOnlyList<Image<Rgb24>> images, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(images);
        if (images.Count == 0) return [];
        using var scope = NewDisposeScope();
        return ScoreFeatures(encoder.EncodeImages(images, Options.InferenceBatchSize, cancellationToken));
    }

    /// <summary>Anomaly scores (the logit of AS, Eq. 12; see <see cref="Score"/>) of features <c>[N, C]</c> from <see cref="Encoder"/>, without gradients.</summary>
    /// <exception cref="ArgumentException">The features are not <c>[N, C]</c>.</exception>
    public float[] ScoreFeatures(Tensor features)
    {
        FeatureShape.Require(features, encoder.FeatureDim);
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        return head.Logit(features, psi, Options.ScoreTemperature).data<float>().ToArray();
    }

    /// <summary>Scores and, when asked, gradient saliency maps (<see cref="Saliency"/>): global CLIP-FSAC has no local evidence of its own.</summary>
    public (float[] Scores, float[][] Maps) ScoreWithMaps(IReadOnlyList<Image<Rgb24>> images, bool withMaps, CancellationToken cancellationToken = default)
    {
        var scores = Score(images, cancellationToken);
        return (scores, withMaps ? [.. images.Select(i => Saliency(i, cancellationToken))] : []);
    }

    /// <summary>The head on the pooled feature, ψ and τ for the ONNX export; its probability is AS, the sigmoid of the score.</summary>
    ExportedModel IOnnxExportable.ForExport()
        => new([new HeadPart(head, psi, Options.ScoreTemperature, OnPatches: false, Threshold, new Logistic(0f, 1d))],
            Threshold, AnomalyMethodOptions.NameOf(AnomalyMethod.Fsac), BackboneName, encoder);

    /// <summary>AS itself, S⁻/(S⁻+S⁺) in [0, 1]: the sigmoid of the score.</summary>
    public float ToProbability(float score) => (float)(1 / (1 + Math.Exp(-score)));

    /// <summary>The gradient saliency map (<see cref="Saliency"/>).</summary>
    public float[] AnomalyMap(Image<Rgb24> image, CancellationToken cancellationToken = default) => Saliency(image, cancellationToken);

    /// <summary>True for each image whose score is at least <see cref="Threshold"/>.</summary>
    public bool[] Predict(IReadOnlyList<Image<Rgb24>> images, CancellationToken cancellationToken = default)
        => [.. Score(images, cancellationToken).Select(s => s >= Threshold)];

    /// <summary>
    /// The saliency map of §3.5: |∂AS/∂x| over the preprocessed input up to one positive factor per image (the gradient
    /// of AS's logit, which does not vanish where AS saturates), averaged over the colour channels and placed on the
    /// image through the encoder's layout (<see cref="GradientSaliency"/>), so a centre crop's margin scores 0.
    /// Returned row-major (<c>[y * width + x]</c>), non-negative.
    /// </summary>
    public float[] Saliency(Image<Rgb24> image, CancellationToken cancellationToken = default)
        // ∂AS/∂x = AS·(1 − AS)·∂logit/∂x: the same map up to one factor per image, which underflows to 0 where AS
        // rounds to 0 or 1, so the gradient is taken of the logit.
        => GradientSaliency.Of(encoder, image, pixels => head.Logit(encoder.EncodeImage(pixels), psi, Options.ScoreTemperature), cancellationToken);

    /// <summary>
    /// Saves the model: a zip archive with <c>manifest.json</c> (format version, encoder name, feature width,
    /// threshold, synthesizer, options, losses and, when known, the <see cref="Backbone"/> reference) and
    /// <c>head.safetensors</c> (head weights and raw anchors T±).
    /// </summary>
    public void Save(Stream output)
    {
        ArgumentNullException.ThrowIfNull(output);
        var tensors = new Dictionary<string, Tensor>(head.state_dict()) { [AnchorsKey] = anchors };
        var manifest = new FsacManifest(FsacModelFile.FormatName, FsacModelFile.Version, encoder.Name, encoder.FeatureDim,
            Threshold, SynthesizerName, Options, History, Backbone);
        FsacModelFile.Write(output, manifest, tensors);
    }

    /// <summary>Saves the model to a file atomically (see <see cref="Save(Stream)"/>).</summary>
    public void Save(string path) => AtomicFile.Write(path, Save);

    /// <summary>Loads a model saved by <see cref="Save(Stream)"/> to run on <paramref name="encoder"/> (borrowed).</summary>
    /// <exception cref="IncompatibleModelException">The model was fitted with another encoder or feature width.</exception>
    /// <exception cref="CheckpointFormatException">The stream is corrupt, incomplete, or of an unknown version.</exception>
    public static FsacClassifier Load(Stream input, IImageEncoder encoder) => Load(input, encoder, null, "model stream");

    /// <summary>Loads a model saved by <see cref="Save(string)"/> (see <see cref="Load(Stream, IImageEncoder)"/>).</summary>
    public static FsacClassifier Load(string path, IImageEncoder encoder)
    {
        using var file = ModelFiles.OpenRegular(path);
        return Load(file, encoder, null, path);
    }

    /// <summary>Releases the head and its tensors, and the encoder when the model owns it.</summary>
    public void Dispose()
    {
        if (ownsEncoder) encoder.Dispose();
        head.Dispose();
        anchors.Dispose();
        psi.Dispose();
    }

    /// <summary>
    /// Loads on <paramref name="encoder"/>: borrowed when <paramref name="owner"/> is null (the file's recorded backbone
    /// is kept), else owned from the start, with <paramref name="owner"/> recorded as its origin.
    /// </summary>
    internal static FsacClassifier Load(Stream input, IImageEncoder encoder, BackboneReference? owner, string source)
    {
        ArgumentNullException.ThrowIfNull(input);
        ArgumentNullException.ThrowIfNull(encoder);
        var (manifest, data) = FsacModelFile.Read(input, source);
        return Create(manifest, data, encoder, owner, source);
    }

    private static FsacClassifier Create(FsacManifest manifest, Dictionary<string, TensorData> data, IImageEncoder encoder, BackboneReference? owner, string source)
    {
        if (manifest.Encoder != encoder.Name)
            throw new IncompatibleModelException(manifest.Encoder, encoder.Name, "the encoder names differ.");
        if (manifest.FeatureDim != encoder.FeatureDim)
            throw new IncompatibleModelException(manifest.Encoder, encoder.Name, $"the model expects {manifest.FeatureDim}-d features but the encoder gives {encoder.FeatureDim}-d ones.");

        var head = FsacHeadFile.Load(data, encoder.FeatureDim, manifest.Options, AnchorsKey, source, out var anchors);
        try
        {
            return new FsacClassifier(encoder, owner is not null, owner ?? manifest.Backbone, head, anchors, manifest.Options, manifest.Threshold, manifest.History, manifest.Synthesizer);
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

    /// <summary>The adapted anchors ψ = [AT⁺; AT⁻] of a trained head, computed once without gradients.</summary>
    private static Tensor AdaptAnchors(FsacHead head, Tensor anchors)
    {
        using var noGrad = no_grad();
        return head.AdaptText(anchors);
    }
}
