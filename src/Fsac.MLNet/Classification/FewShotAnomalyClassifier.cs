using Fsac.MLNet.Encoders;
using Fsac.MLNet.IO;
using Fsac.MLNet.Synthesis;
using Fsac.MLNet.Training;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.PixelFormats;

namespace Fsac.MLNet.Classification;

/// <summary>
/// A fitted few-shot anomaly classifier, whichever method it was fitted with (<see cref="AnomalyMethod"/>): the
/// library's front door for C# programs and notebooks. <see cref="Fit(BackboneReference, IReadOnlyList{Image{Rgb24}}, AnomalyMethodOptions?, IProgress{TrainingProgress}?, CancellationToken)"/>
/// with no method named fits <see cref="DefaultMethod"/>; saved files record the method and load with <see cref="Load(string)"/>.
/// </summary>
public sealed class FewShotAnomalyClassifier : IAnomalyModel
{
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
        _ => null,
    };

    /// <inheritdoc />
    public float Threshold => Inner.Threshold;

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
            AnomalyMethod.PatchCore => PatchCoreClassifier.Fit(encoder, backbone, normals,
                options.PatchCore with { Seed = options.Seed, InferenceBatchSize = options.BatchSize }, cancellationToken),
            _ => PatchCoreClassifier.Fit(encoder, backbone, normals, DefaultMethod.For(encoder, options.Seed, options.BatchSize), cancellationToken),
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

    /// <inheritdoc />
    public float[] Score(IReadOnlyList<Image<Rgb24>> images, CancellationToken cancellationToken = default) => Inner.Score(images, cancellationToken);

    /// <inheritdoc />
    public (float[] Scores, float[][] Maps) ScoreWithMaps(IReadOnlyList<Image<Rgb24>> images, bool withMaps, CancellationToken cancellationToken = default)
        => Inner.ScoreWithMaps(images, withMaps, cancellationToken);

    /// <inheritdoc />
    public float[] AnomalyMap(Image<Rgb24> image, CancellationToken cancellationToken = default) => Inner.AnomalyMap(image, cancellationToken);

    /// <inheritdoc />
    public float[] Saliency(Image<Rgb24> image, CancellationToken cancellationToken = default) => Inner.Saliency(image, cancellationToken);

    /// <inheritdoc />
    public float ToProbability(float score) => Inner.ToProbability(score);

    /// <summary>
    /// Adds normal images to a memory method's model without refitting (<see cref="PatchCoreClassifier.AddNormals"/>):
    /// the memory grows and the threshold is chosen again. Not safe while another thread scores with this model.
    /// </summary>
    /// <exception cref="NotSupportedException">The model is a trained CLIP-FSAC head (<see cref="CanAddNormals"/> is false): refit it.</exception>
    public void AddNormals(IReadOnlyList<Image<Rgb24>> normals, CancellationToken cancellationToken = default)
    {
        if (Inner is not PatchCoreClassifier memory)
            throw new NotSupportedException($"A '{AnomalyMethodOptions.NameOf(Method)}' model cannot add normal images: its head was trained on the shots. Fit it again on all the normal images.");
        memory.AddNormals(normals, cancellationToken);
    }

    /// <inheritdoc />
    public void Save(Stream stream) => Inner.Save(stream);

    /// <summary>Saves the model to a file atomically: a temp file beside <paramref name="path"/>, then a rename.</summary>
    public void Save(string path) => AtomicFile.Write(path, Inner.Save);

    /// <summary>Loads a model file that records its backbone (any method), re-creating that encoder, which the model then owns.</summary>
    /// <exception cref="CheckpointFormatException">The file is corrupt, incomplete, or of an unknown format or version.</exception>
    /// <exception cref="InvalidOperationException">The model does not record its backbone.</exception>
    public static FewShotAnomalyClassifier Load(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        using var file = ModelFiles.OpenRegular(path);
        return Load(file, null, path);
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
        return format switch
        {
            PatchCoreModelFile.FormatName => new FewShotAnomalyClassifier(encoder is null
                ? PatchCoreClassifier.Load(buffered, source)
                : PatchCoreClassifier.Load(buffered, encoder, owner, source), AnomalyMethod.PatchCore),
            FsacModelFile.FormatName => new FewShotAnomalyClassifier(encoder is null
                ? FsacClassifier.LoadWithBackbone(buffered, source)
                : owner is null ? FsacClassifier.Load(buffered, encoder, source) : FsacClassifier.Load(buffered, encoder, source).OwnEncoder(owner),
                AnomalyMethod.Fsac),
            _ => throw new CheckpointFormatException(source, $"not a saved Fsac.MLNet model: unknown format '{format}'."),
        };
    }

    /// <summary>Releases the model (and the encoder it owns).</summary>
    public void Dispose() => Inner.Dispose();
}
