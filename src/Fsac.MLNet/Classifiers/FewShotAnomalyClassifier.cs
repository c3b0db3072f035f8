using Fsac.MLNet.Checkpoints;
using Fsac.MLNet.Encoders;
using Fsac.MLNet.Export;
using Fsac.MLNet.Files;
using Fsac.MLNet.Fitting;
using Fsac.MLNet.Visualisation;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.PixelFormats;

namespace Fsac.MLNet.Classifiers;

/// <summary>
/// A fitted few-shot anomaly classifier, whichever method it was fitted with (<see cref="AnomalyMethod"/>): the
/// library's front door for C# programs and notebooks. This class scores; fitting is <see cref="MethodFitter"/>'s job
/// and reading saved files <see cref="ModelLoader"/>'s. <see cref="Fit(BackboneReference, IReadOnlyList{Image{Rgb24}}, AnomalyMethodOptions?, IProgress{TrainingProgress}?, CancellationToken)"/>
/// with no method named fits <see cref="DefaultMethod"/>; saved files record the method and load with <see cref="Load(string)"/>.
/// </summary>
public sealed class FewShotAnomalyClassifier : IAnomalyClassifier
{
    private readonly LifetimeGuard lifetime = new(nameof(FewShotAnomalyClassifier));

    private FewShotAnomalyClassifier(IAnomalyClassifier inner, AnomalyMethod method)
    {
        Inner = inner;
        Method = method;
    }

    /// <summary>The fitted method's own model (<see cref="PatchCoreClassifier"/> or <see cref="FsacClassifier"/>).</summary>
    public IAnomalyClassifier Inner { get; }

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
        var encoder = CreateEncoder(backbone);
        try
        {
            return new FewShotAnomalyClassifier(MethodFitter.Fit(encoder, backbone, normals, options, progress, cancellationToken), options.Method);
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
        return new FewShotAnomalyClassifier(MethodFitter.Fit(encoder, null, normals, options, progress, cancellationToken), options.Method);
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
            return new FewShotAnomalyClassifier(MethodFitter.Fit(encoder, backbone, normals, options, progress, cancellationToken), options.Method);
        }
        catch
        {
            encoder.Dispose();
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
    /// Writes the model, whatever its method, as one ONNX graph (<see cref="OnnxExport"/>): the encoder's resized RGB
    /// pixels in, <c>score</c>, <c>is_anomaly</c> and (except for <c>fsac</c>, whose maps are gradient saliency) the
    /// patch-grid <c>anomaly_map</c> out, for inputs of the layout of an <paramref name="imageWidth"/> ×
    /// <paramref name="imageHeight"/> image (a square one when neither is given).
    /// </summary>
    /// <exception cref="NotSupportedException">The method or its encoder has no ONNX form; the message names it.</exception>
    public void ExportOnnx(Stream output, int? imageWidth = null, int? imageHeight = null)
        => ExportOnnx(output, imageWidth, imageHeight, resizeInGraph: false);

    /// <summary>
    /// Writes the model as one ONNX graph as <see cref="ExportOnnx(Stream, int?, int?)"/> does;
    /// with <paramref name="resizeInGraph"/> (ResNet18 only) its input is the decoded <paramref name="imageWidth"/> × <paramref name="imageHeight"/>
    /// image, float32 <c>[N, 3, imageHeight, imageWidth]</c>, which the graph resizes as the library does.
    /// </summary>
    /// <exception cref="NotSupportedException">The method or its encoder has no ONNX form; the message names it.</exception>
    /// <exception cref="ArgumentException"><paramref name="resizeInGraph"/> without the image size.</exception>
    public void ExportOnnx(Stream output, int? imageWidth, int? imageHeight, bool resizeInGraph) => lifetime.Run(() =>
    {
        if (Inner is not IOnnxExportable exportable)
            throw new NotSupportedException($"A '{AnomalyMethodOptions.NameOf(Method)}' model has no ONNX export; every built-in method has one.");
        OnnxExport.Write(exportable.ForExport(), output, imageWidth, imageHeight, resizeInGraph);
        return 0;
    });

    /// <summary>Writes the ONNX graph (see <see cref="ExportOnnx(Stream, int?, int?)"/>) to a file atomically.</summary>
    public void ExportOnnx(string path, int? imageWidth = null, int? imageHeight = null)
        => AtomicFile.Write(path, stream => ExportOnnx(stream, imageWidth, imageHeight));

    /// <summary>Writes the ONNX graph (see <see cref="ExportOnnx(Stream, int?, int?, bool)"/>) to a file atomically.</summary>
    public void ExportOnnx(string path, int? imageWidth, int? imageHeight, bool resizeInGraph)
        => AtomicFile.Write(path, stream => ExportOnnx(stream, imageWidth, imageHeight, resizeInGraph));

    /// <summary>
    /// Writes a Triton Inference Server model repository entry for the ONNX graph of <see cref="ExportOnnx(Stream, int?, int?)"/>:
    /// <c>&lt;repository&gt;/&lt;name&gt;/1/model.onnx</c> and its <c>config.pbtxt</c> (<see cref="TritonRepository"/>).
    /// </summary>
    /// <returns>The model's folder in the repository.</returns>
    /// <exception cref="NotSupportedException">The method or its encoder has no ONNX form; the message names it.</exception>
    /// <exception cref="ArgumentException">The name is not a valid model name, or the batch size is below 1.</exception>
    public string ExportTriton(string repository, string name = "fsac", int? imageWidth = null, int? imageHeight = null, int maxBatchSize = 8)
        => ExportTriton(repository, name, imageWidth, imageHeight, resizeInGraph: false, maxBatchSize);

    /// <summary>
    /// Writes a Triton model repository entry as <see cref="ExportTriton(string, string, int?, int?, int)"/> does, for the
    /// graph of <see cref="ExportOnnx(Stream, int?, int?, bool)"/>: with <paramref name="resizeInGraph"/> the server
    /// takes the decoded images at their original size and the graph resizes them.
    /// </summary>
    /// <returns>The model's folder in the repository.</returns>
    /// <exception cref="NotSupportedException">The method or its encoder has no ONNX form; the message names it.</exception>
    /// <exception cref="ArgumentException">The name is not a valid model name, the batch size is below 1, or <paramref name="resizeInGraph"/> lacks the image size.</exception>
    public string ExportTriton(string repository, string name, int? imageWidth, int? imageHeight, bool resizeInGraph, int maxBatchSize = 8)
    {
        using var graph = new MemoryStream();
        ExportOnnx(graph, imageWidth, imageHeight, resizeInGraph);
        return TritonRepository.Write(repository, name, graph.ToArray(), maxBatchSize);
    }

    /// <summary>Loads a model file that records its backbone (any method), re-creating that encoder, which the model then owns.</summary>
    /// <exception cref="CheckpointFormatException">The file is corrupt, incomplete, or of an unknown format or version.</exception>
    /// <exception cref="InvalidOperationException">The model does not record its backbone.</exception>
    public static FewShotAnomalyClassifier Load(string path) => Load(path, CreateEncoder);

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
        return Create(ModelLoader.Load(file, null, null, createEncoder, path));
    }

    /// <summary>Loads a model saved by <see cref="Save(Stream)"/>, on <paramref name="encoder"/> (borrowed) or, when null, on the backbone it records.</summary>
    /// <exception cref="CheckpointFormatException">The stream is corrupt, incomplete, or of an unknown format or version.</exception>
    /// <exception cref="IncompatibleModelException">The model was fitted on another encoder.</exception>
    public static FewShotAnomalyClassifier Load(Stream input, IImageEncoder? encoder = null, string source = "model stream")
        => Create(ModelLoader.Load(input, encoder, null, CreateEncoder, source));

    /// <summary>Loads on <paramref name="encoder"/>, which the model then owns, recording <paramref name="backbone"/> as its origin.</summary>
    internal static FewShotAnomalyClassifier Load(Stream input, IImageEncoder encoder, BackboneReference backbone, string source = "model stream")
        => Create(ModelLoader.Load(input, encoder, backbone, CreateEncoder, source));

    private static FewShotAnomalyClassifier Create((IAnomalyClassifier Model, AnomalyMethod Method) loaded) => new(loaded.Model, loaded.Method);

    // The one place where a backbone reference becomes an encoder, for the overloads that are not handed one.
    private static IImageEncoder CreateEncoder(BackboneReference backbone) => backbone.CreateEncoder();

    /// <summary>
    /// Releases the model (and the encoder it owns) once the calls running on other threads have finished; later calls
    /// throw <see cref="ObjectDisposedException"/>. Calling it again does nothing.
    /// </summary>
    public void Dispose() => lifetime.Dispose(Inner.Dispose);
}
