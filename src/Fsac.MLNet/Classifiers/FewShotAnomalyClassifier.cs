using Fsac.MLNet.Checkpoints;
using Fsac.MLNet.Encoders;
using Fsac.MLNet.Export;
using Fsac.MLNet.Files;
using Fsac.MLNet.Fitting;
using Fsac.MLNet.Synthesis;
using Fsac.MLNet.Visualisation;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.PixelFormats;

namespace Fsac.MLNet.Classifiers;

/// <summary>
/// A fitted few-shot anomaly classifier, whichever method it was fitted with (<see cref="AnomalyMethod"/>): the
/// library's front door for C# programs and notebooks. <see cref="Fit(BackboneReference, IReadOnlyList{Image{Rgb24}}, AnomalyMethodOptions?, IProgress{TrainingProgress}?, CancellationToken)"/>
/// with no method named fits <see cref="DefaultMethod"/>; saved files record the method and load with <see cref="Load(string)"/>.
/// </summary>
public sealed class FewShotAnomalyClassifier : IAnomalyModel
{
    private readonly LifetimeGuard lifetime = new(nameof(FewShotAnomalyClassifier));

    private FewShotAnomalyClassifier(IAnomalyModel inner, AnomalyMethod method)
    {
        Inner = inner;
        Method = method;
    }

    /// <summary>The fitted method's own model (<see cref="PatchCoreClassifier"/> or <see cref="FsacClassifier"/>).</summary>
    public IAnomalyModel Inner { get; }

    /// <summary>The method it was fitted with (<see cref="AnomalyMethod.Default"/> stays recorded as such).</summary>
    public AnomalyMethod Method { get; }

    /// <inheritdoc />
    public string BackboneName => Inner.BackboneName;

    /// <summary>How the encoder can be re-created, when the model records it (fitted or loaded from a <see cref="BackboneReference"/>).</summary>
    public BackboneReference? Backbone => Inner switch
    {
        PatchCoreClassifier p => p.Backbone,
        FsacClassifier f => f.Backbone,
        FsacPatchClassifier f => f.Backbone,
        FusedClassifier f => f.Backbone,
        WinClipClassifier w => w.Backbone,
        _ => null,
    };

    /// <inheritdoc />
    public float Threshold => lifetime.Run(() => Inner.Threshold);

    /// <summary>
    /// The map values to draw as blue and red (<see cref="Visualisation.SaliencyOverlay"/>), the same for every image so that
    /// colours compare across images: for patch distances half the threshold to the threshold (red where a patch alone
    /// would reach the decision), for probability maps 0.25 to 0.75; null for gradient saliency, which has no scale.
    /// </summary>
    public (float Low, float High)? MapRange => Inner switch
    {
        PatchCoreClassifier p => (p.Threshold / 2, p.Threshold),
        FsacPatchClassifier => (0.25f, 0.75f),
        FusedClassifier f when f.Needs.HasFlag(EncoderOutputs.Patches) => (0.25f, 0.75f),
        WinClipClassifier w => (w.Threshold / 2, w.Threshold),
        _ => null,
    };

    /// <summary>Whether <see cref="AddNormals"/> can grow this model (memory methods can; the trained CLIP-FSAC head cannot).</summary>
    public bool CanAddNormals => Inner is PatchCoreClassifier;

    /// <summary>
    /// Creates the encoder <paramref name="backbone"/> names and fits the method of <paramref name="options"/> (the
    /// default method when null) on <paramref name="normals"/>. The model owns the encoder and records the reference,
    /// so its saved file loads with <see cref="Load(string)"/>.
    /// </summary>
    /// <exception cref="ArgumentException">The backbone, the images or an option is invalid.</exception>
    public static FewShotAnomalyClassifier Fit(BackboneReference backbone, IReadOnlyList<Image<Rgb24>> normals, AnomalyMethodOptions? options = null,
        IProgress<TrainingProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(backbone);
        options ??= new AnomalyMethodOptions();
        options.Validate();
        var encoder = backbone.Resolve();
        try
        {
            return FitCore(encoder, backbone, normals, options, progress, cancellationToken);
        }
        catch
        {
            encoder.Dispose();
            throw;
        }
    }

    /// <summary>Fits on a borrowed <paramref name="encoder"/> (dispose it after the model); see the other overload.</summary>
    /// <exception cref="ArgumentException">The images or an option is invalid.</exception>
    public static FewShotAnomalyClassifier Fit(IImageEncoder encoder, IReadOnlyList<Image<Rgb24>> normals, AnomalyMethodOptions? options = null,
        IProgress<TrainingProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(encoder);
        options ??= new AnomalyMethodOptions();
        options.Validate();
        return FitCore(encoder, null, normals, options, progress, cancellationToken);
    }

    /// <summary>
    /// Fits on <paramref name="encoder"/>, an encoder created from <paramref name="backbone"/> (for example wrapped to
    /// report progress): the model takes ownership of it and records the reference, so its saved file loads with
    /// <see cref="Load(string)"/>. On failure the encoder is disposed.
    /// </summary>
    /// <exception cref="ArgumentException">The images or an option is invalid.</exception>
    public static FewShotAnomalyClassifier Fit(IImageEncoder encoder, BackboneReference backbone, IReadOnlyList<Image<Rgb24>> normals,
        AnomalyMethodOptions? options = null, IProgress<TrainingProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(encoder);
        ArgumentNullException.ThrowIfNull(backbone);
        try
        {
            options ??= new AnomalyMethodOptions();
            options.Validate();
            return FitCore(encoder, backbone, normals, options, progress, cancellationToken);
        }
        catch
        {
            encoder.Dispose();
            throw;
        }
    }

    // With a backbone reference the inner model owns the encoder; without, it borrows it.
    private static FewShotAnomalyClassifier FitCore(IImageEncoder encoder, BackboneReference? backbone, IReadOnlyList<Image<Rgb24>> normals,
        AnomalyMethodOptions options, IProgress<TrainingProgress>? progress, CancellationToken cancellationToken)
    {
        IAnomalyModel inner = options.Method switch
        {
            AnomalyMethod.Fsac => FitFsac(encoder, backbone, normals, options, progress, cancellationToken),
            AnomalyMethod.FsacLocal or AnomalyMethod.FsacPatchCore => FitFusion(encoder, backbone, normals, options, progress, cancellationToken),
            AnomalyMethod.WinClipPlus => WinClipClassifier.Fit(encoder, backbone, normals,
                options.WinClip with { ClassName = options.Fsac.ClassName, Seed = options.Seed, InferenceBatchSize = options.BatchSize }, cancellationToken),
            AnomalyMethod.PatchCore => PatchCoreClassifier.Fit(encoder, backbone, normals,
                options.PatchCore with { Seed = options.Seed, InferenceBatchSize = options.BatchSize }, cancellationToken),
            _ => FitDefault(encoder, backbone, normals, options, cancellationToken),
        };
        return new FewShotAnomalyClassifier(inner, options.Method);
    }

    private static FsacClassifier FitFsac(IImageEncoder encoder, BackboneReference? backbone, IReadOnlyList<Image<Rgb24>> normals,
        AnomalyMethodOptions options, IProgress<TrainingProgress>? progress, CancellationToken cancellationToken)
    {
        var fsac = options.Fsac with { Seed = options.Seed, InferenceBatchSize = options.BatchSize };
        var model = FsacClassifier.Fit(encoder, normals, fsac, AnomalySynthesizers.Create(fsac.SynthesisMethod), progress, cancellationToken);
        return backbone is null ? model : model.OwnEncoder(backbone);
    }

    private static PatchCoreClassifier FitDefault(IImageEncoder encoder, BackboneReference? backbone, IReadOnlyList<Image<Rgb24>> normals,
        AnomalyMethodOptions options, CancellationToken cancellationToken)
    {
        var model = PatchCoreClassifier.Fit(encoder, backbone, normals, DefaultMethod.For(encoder, options.Seed, options.BatchSize), cancellationToken);
        model.MethodName = AnomalyMethodOptions.NameOf(AnomalyMethod.Default);
        return model;
    }

    // Both parts borrow the encoder; the fusion owns it when a backbone reference is given.
    private static FusedClassifier FitFusion(IImageEncoder encoder, BackboneReference? backbone, IReadOnlyList<Image<Rgb24>> normals,
        AnomalyMethodOptions options, IProgress<TrainingProgress>? progress, CancellationToken cancellationToken)
    {
        var fsac = options.Fsac with { Seed = options.Seed, InferenceBatchSize = options.BatchSize };
        var patchCore = options.PatchCore with { Seed = options.Seed, InferenceBatchSize = options.BatchSize };
        var parts = new List<IAnomalyModel>();
        try
        {
            // The patch head sees the input the memory sees, so the two maps align.
            int? resolution = options.Method == AnomalyMethod.FsacPatchCore ? patchCore.Resolution : null;
            parts.Add(FsacPatchClassifier.Fit(encoder, normals, fsac, AnomalySynthesizers.Create(fsac.SynthesisMethod), resolution, null, progress, cancellationToken));
            parts.Add(options.Method == AnomalyMethod.FsacLocal
                ? FsacClassifier.Fit(encoder, normals, fsac, AnomalySynthesizers.Create(fsac.SynthesisMethod), progress, cancellationToken)
                : PatchCoreClassifier.Fit(encoder, normals, patchCore, cancellationToken: cancellationToken));
            return new FusedClassifier(encoder, parts, options.MethodName, backbone, ownsEncoder: backbone is not null) { BatchSize = options.BatchSize };
        }
        catch
        {
            foreach (var part in parts) part.Dispose();
            throw;
        }
    }

    /// <inheritdoc />
    public float[] Score(IReadOnlyList<Image<Rgb24>> images, CancellationToken cancellationToken = default)
        => lifetime.Run(() => Inner.Score(images, cancellationToken));

    /// <inheritdoc />
    public (float[] Scores, float[][] Maps) ScoreWithMaps(IReadOnlyList<Image<Rgb24>> images, bool withMaps, CancellationToken cancellationToken = default)
        => lifetime.Run(() => Inner.ScoreWithMaps(images, withMaps, cancellationToken));

    /// <inheritdoc />
    public float[] AnomalyMap(Image<Rgb24> image, CancellationToken cancellationToken = default)
        => lifetime.Run(() => Inner.AnomalyMap(image, cancellationToken));

    /// <inheritdoc />
    public float[] Saliency(Image<Rgb24> image, CancellationToken cancellationToken = default)
        => lifetime.Run(() => Inner.Saliency(image, cancellationToken));

    /// <inheritdoc />
    public float ToProbability(float score) => lifetime.Run(() => Inner.ToProbability(score));

    /// <summary>
    /// Adds normal images to a memory method's model without refitting (<see cref="PatchCoreClassifier.AddNormals"/>):
    /// the memory grows and the threshold is chosen again. Not safe while another thread scores with this model.
    /// </summary>
    /// <exception cref="NotSupportedException">The model is a trained CLIP-FSAC head (<see cref="CanAddNormals"/> is false): refit it.</exception>
    public void AddNormals(IReadOnlyList<Image<Rgb24>> normals, CancellationToken cancellationToken = default)
    {
        if (Inner is not PatchCoreClassifier memory)
            throw new NotSupportedException($"A '{AnomalyMethodOptions.NameOf(Method)}' model cannot add normal images: its head was trained on the shots. Fit it again on all the normal images.");
        lifetime.Run(() =>
        {
            memory.AddNormals(normals, cancellationToken);
            return 0;
        });
    }

    /// <inheritdoc />
    public void Save(Stream stream) => lifetime.Run(() =>
    {
        Inner.Save(stream);
        return 0;
    });

    /// <summary>Saves the model to a file atomically: a temp file beside <paramref name="path"/>, then a rename.</summary>
    public void Save(string path) => AtomicFile.Write(path, Save);

    /// <summary>
    /// Writes a PatchCore model (the default method included) as one ONNX graph
    /// (<see cref="PatchCoreClassifier.ExportOnnx(Stream, int?, int?)"/>), for inputs of the layout of an
    /// <paramref name="imageWidth"/> × <paramref name="imageHeight"/> image (a square one when neither is given).
    /// </summary>
    /// <exception cref="NotSupportedException">The method or its encoder has no ONNX form; the message names it.</exception>
    public void ExportOnnx(Stream output, int? imageWidth = null, int? imageHeight = null) => lifetime.Run(() =>
    {
        if (Inner is not PatchCoreClassifier memory)
            throw new NotSupportedException($"A '{AnomalyMethodOptions.NameOf(Method)}' model has no ONNX export; only PatchCore models (the default method included) have one.");
        memory.ExportOnnx(output, imageWidth, imageHeight);
        return 0;
    });

    /// <summary>Writes the ONNX graph (see <see cref="ExportOnnx(Stream, int?, int?)"/>) to a file atomically.</summary>
    public void ExportOnnx(string path, int? imageWidth = null, int? imageHeight = null)
        => AtomicFile.Write(path, stream => ExportOnnx(stream, imageWidth, imageHeight));

    /// <summary>
    /// Writes a Triton Inference Server model repository entry for the ONNX graph of <see cref="ExportOnnx(Stream, int?, int?)"/>:
    /// <c>&lt;repository&gt;/&lt;name&gt;/1/model.onnx</c> and its <c>config.pbtxt</c> (<see cref="TritonRepository"/>).
    /// </summary>
    /// <returns>The model's folder in the repository.</returns>
    /// <exception cref="NotSupportedException">The method or its encoder has no ONNX form; the message names it.</exception>
    /// <exception cref="ArgumentException">The name is not a valid model name, or the batch size is below 1.</exception>
    public string ExportTriton(string repository, string name = "fsac", int? imageWidth = null, int? imageHeight = null, int maxBatchSize = 8)
    {
        using var graph = new MemoryStream();
        ExportOnnx(graph, imageWidth, imageHeight);
        return TritonRepository.Write(repository, name, graph.ToArray(), maxBatchSize);
    }

    /// <summary>Loads a model file that records its backbone (any method), re-creating that encoder, which the model then owns.</summary>
    /// <exception cref="CheckpointFormatException">The file is corrupt, incomplete, or of an unknown format or version.</exception>
    /// <exception cref="InvalidOperationException">The model does not record its backbone.</exception>
    public static FewShotAnomalyClassifier Load(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        using var file = ModelFiles.OpenRegular(path);
        return Load(file, null, path);
    }

    /// <summary>
    /// Loads a model file that records its backbone, creating that encoder with <paramref name="createEncoder"/> (for
    /// example with a CLIP vocabulary kept elsewhere); the model owns the encoder and keeps the recorded reference.
    /// </summary>
    /// <exception cref="CheckpointFormatException">The file is corrupt, incomplete, or of an unknown format or version.</exception>
    /// <exception cref="InvalidOperationException">The model does not record its backbone.</exception>
    public static FewShotAnomalyClassifier Load(string path, Func<BackboneReference, IImageEncoder> createEncoder)
    {
        ArgumentNullException.ThrowIfNull(path);
        ArgumentNullException.ThrowIfNull(createEncoder);
        using var file = ModelFiles.OpenRegular(path);
        var recorded = RecordedBackbone(file, path);
        file.Position = 0;
        var encoder = createEncoder(recorded);
        try
        {
            return LoadCore(file, encoder, recorded, path);
        }
        catch
        {
            encoder.Dispose();
            throw;
        }
    }

    /// <summary>Loads a model saved by <see cref="Save(Stream)"/>, on <paramref name="encoder"/> (borrowed) or, when null, on the backbone it records.</summary>
    /// <exception cref="CheckpointFormatException">The stream is corrupt, incomplete, or of an unknown format or version.</exception>
    /// <exception cref="IncompatibleModelException">The model was fitted on another encoder.</exception>
    public static FewShotAnomalyClassifier Load(Stream input, IImageEncoder? encoder = null, string source = "model stream")
        => LoadCore(input, encoder, owner: null, source);

    /// <summary>Loads on <paramref name="encoder"/>, which the model then owns, recording <paramref name="backbone"/> as its origin.</summary>
    internal static FewShotAnomalyClassifier Load(Stream input, IImageEncoder encoder, BackboneReference backbone, string source = "model stream")
        => LoadCore(input, encoder, backbone, source);

    private static FewShotAnomalyClassifier LoadCore(Stream input, IImageEncoder? encoder, BackboneReference? owner, string source)
    {
        ArgumentNullException.ThrowIfNull(input);
        using var buffered = ModelFiles.Buffer(input, source);
        var format = ModelArchive.ReadFormat(buffered, source);
        buffered.Position = 0;
        if (format == FsacModelFile.FormatName)
            return new FewShotAnomalyClassifier(encoder is null
                ? FsacClassifier.LoadWithBackbone(buffered, source)
                : owner is null ? FsacClassifier.Load(buffered, encoder, source) : FsacClassifier.Load(buffered, encoder, source).OwnEncoder(owner),
                AnomalyMethod.Fsac);
        if (format is not (PatchCoreModelFile.FormatName or FsacPatchClassifier.FormatName or FusedClassifier.FormatName or WinClipModelFile.FormatName))
            throw new CheckpointFormatException(source, $"not a saved Fsac.MLNet model: unknown format '{format}'.");
        if (encoder is not null) return new FewShotAnomalyClassifier(LoadOn(format, buffered, encoder, owner, source), MethodOf(buffered, format, source));
        // No encoder given: re-create the one the model records, which the model then owns.
        var recorded = RecordedBackbone(buffered, source);
        buffered.Position = 0;
        var created = recorded.Resolve();
        try
        {
            return new FewShotAnomalyClassifier(LoadOn(format, buffered, created, recorded, source), MethodOf(buffered, format, source));
        }
        catch
        {
            created.Dispose();
            throw;
        }
    }

    /// <summary>Loads one part of a fusion on a borrowed encoder.</summary>
    internal static IAnomalyModel LoadPart(Stream input, IImageEncoder encoder, string source)
    {
        var format = ModelArchive.ReadFormat(input, source);
        input.Position = 0;
        return format == FsacModelFile.FormatName ? FsacClassifier.Load(input, encoder, source) : LoadOn(format, input, encoder, null, source);
    }

    private static IAnomalyModel LoadOn(string? format, Stream input, IImageEncoder encoder, BackboneReference? owner, string source) => format switch
    {
        PatchCoreModelFile.FormatName => PatchCoreClassifier.Load(input, encoder, owner, source),
        FsacPatchClassifier.FormatName => FsacPatchClassifier.Load(input, encoder, owner, source),
        FusedClassifier.FormatName => FusedClassifier.Load(input, encoder, owner, source),
        WinClipModelFile.FormatName => WinClipClassifier.Load(input, encoder, owner, source),
        _ => throw new CheckpointFormatException(source, $"not a saved Fsac.MLNet model: unknown format '{format}'."),
    };

    // The method a file records ("method" in fusions and memory models), else the one its format implies.
    private static AnomalyMethod MethodOf(Stream input, string? format, string source)
    {
        if (format == WinClipModelFile.FormatName) return AnomalyMethod.WinClipPlus;
        input.Position = 0;
        using var doc = ModelArchive.ReadManifestDocument(input, source);
        var name = doc.RootElement.TryGetProperty("method", out var m) && m.ValueKind == System.Text.Json.JsonValueKind.String ? m.GetString() : null;
        var implied = format == PatchCoreModelFile.FormatName ? AnomalyMethod.PatchCore : AnomalyMethod.FsacLocal;
        return Enum.GetValues<AnomalyMethod>().FirstOrDefault(a => AnomalyMethodOptions.NameOf(a) == name, implied);
    }

    private static BackboneReference RecordedBackbone(Stream input, string source)
    {
        using var doc = ModelArchive.ReadManifestDocument(input, source);
        if (doc.RootElement.TryGetProperty("backbone", out var b) && b.ValueKind == System.Text.Json.JsonValueKind.Object
            && b.TryGetProperty("spec", out var spec) && spec.ValueKind == System.Text.Json.JsonValueKind.String && !string.IsNullOrWhiteSpace(spec.GetString()))
        {
            var precision = b.TryGetProperty("precision", out var p) && p.ValueKind == System.Text.Json.JsonValueKind.String
                && Enum.TryParse<EncoderPrecision>(p.GetString(), out var parsed) ? parsed : EncoderPrecision.Float32;
            return new BackboneReference(spec.GetString()!, precision);
        }
        throw new InvalidOperationException($"'{source}' does not record the backbone it was fitted on; load it with an encoder.");
    }

    /// <summary>
    /// Releases the model (and the encoder it owns) once the calls running on other threads have finished; later calls
    /// throw <see cref="ObjectDisposedException"/>. Calling it again does nothing.
    /// </summary>
    public void Dispose() => lifetime.Dispose(Inner.Dispose);
}
