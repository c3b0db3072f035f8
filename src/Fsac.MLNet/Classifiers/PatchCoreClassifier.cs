using Fsac.MLNet.Checkpoints;
using Fsac.MLNet.Encoders;
using Fsac.MLNet.Export;
using Fsac.MLNet.Files;
using Fsac.MLNet.Fitting;
using Fsac.MLNet.Imaging;
using Fsac.MLNet.Maps;
using Fsac.MLNet.Native;
using Fsac.MLNet.PatchCore;
using Fsac.MLNet.Synthesis;
using System.Text.Json;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.PixelFormats;
using SixLabors.ImageSharp.Processing;
using TorchSharp;
using static TorchSharp.torch;

namespace Fsac.MLNet.Classifiers;

/// <summary>
/// Few-shot PatchCore: the memory bank holds every patch feature of the normal shots (and of their flipped or rotated
/// copies when asked), subsampled by greedy coreset selection when it exceeds <see cref="PatchCoreOptions.MemoryLimit"/>;
/// an image's score is the distance of its most distant patch to the nearest memory patch, and its anomaly map is the
/// patch distances, upsampled and smoothed (<see cref="AnomalyMapBuilder"/>). The decision threshold is chosen without
/// real anomalies: leave-one-out scores of the shots against the others' memory (augmented copies of the shot when
/// there is one shot) against synthetic anomalies scored the same way. Normal images can be added later
/// (<see cref="AddNormals"/>) without refitting.
/// </summary>
public sealed class PatchCoreClassifier : IAnomalyClassifier, IEncodedScorer, IOnnxExportable
{
    private readonly IImageEncoder baseEncoder;
    private readonly IImageEncoder encoder;
    private readonly bool ownsEncoder;
    private PatchMemory memory;
    private readonly List<float> calibrationNormals;
    private readonly List<float> calibrationAnomalies;

    private PatchCoreClassifier(IImageEncoder encoder, bool ownsEncoder, BackboneReference? backbone, PatchCoreOptions options, PatchMemory memory,
        IEnumerable<float> calibrationNormals, IEnumerable<float> calibrationAnomalies, int shots)
    {
        baseEncoder = encoder;
        this.encoder = options.Resolution is { } r ? encoder.WithResolution(r) : encoder;
        this.ownsEncoder = ownsEncoder;
        Backbone = backbone;
        Options = options;
        this.memory = memory;
        this.calibrationNormals = [.. calibrationNormals];
        this.calibrationAnomalies = [.. calibrationAnomalies];
        Shots = shots;
        Threshold = ThresholdSelector.F1Optimal(this.calibrationNormals, this.calibrationAnomalies);
    }

    /// <summary>The options of the fit.</summary>
    public PatchCoreOptions Options { get; }

    /// <inheritdoc />
    public float Threshold { get; private set; }

    /// <inheritdoc />
    public string BackboneName => baseEncoder.Name;

    /// <summary>How the encoder can be re-created, when known (recorded by <see cref="Save(Stream)"/>).</summary>
    public BackboneReference? Backbone { get; }

    /// <inheritdoc />
    public int? Resolution => Options.Resolution;

    /// <inheritdoc />
    public EncoderOutputs Needs => EncoderOutputs.Patches;

    /// <summary>Image and patch scores of <paramref name="patches"/> (<see cref="ScorePatches"/>); <paramref name="global"/> is not used.</summary>
    public PatchScores ScoreEncoded(torch.Tensor? global, PatchFeatures? patches)
        => ScorePatches(patches ?? throw new ArgumentNullException(nameof(patches)));

    /// <summary>The method name the model is saved under (<c>patchcore</c>, or <c>default</c> when it is the default method).</summary>
    internal string MethodName { get; set; } = "patchcore";

    /// <summary>Normal images the memory was built from (augmented copies not counted).</summary>
    public int Shots { get; private set; }

    /// <summary>Patches in the memory bank.</summary>
    public long MemoryPatches => memory.Count;

    /// <summary>Size of the memory bank in bytes (float32).</summary>
    public long MemoryBytes => memory.Bytes;

    /// <summary>
    /// Fits on <paramref name="normals"/> with the encoder borrowed (dispose it separately): encodes the shots and
    /// their augmented copies, builds the memory, then chooses the threshold.
    /// </summary>
    /// <exception cref="ArgumentException">No normal image (or a null one), or an option is out of range.</exception>
    /// <exception cref="NotSupportedException">A resolution was asked of an encoder with a fixed input.</exception>
    public static PatchCoreClassifier Fit(IImageEncoder encoder, IReadOnlyList<Image<Rgb24>> normals, PatchCoreOptions options,
        IAnomalySynthesizer? synthesizer = null, CancellationToken cancellationToken = default)
        => FitCore(encoder, ownsEncoder: false, backbone: null, normals, options, synthesizer, cancellationToken);

    /// <summary>
    /// Fits on <paramref name="encoder"/>; with a <paramref name="backbone"/> the model takes ownership of the encoder
    /// (even when the fit fails) and records the reference, without one it borrows it.
    /// </summary>
    internal static PatchCoreClassifier Fit(IImageEncoder encoder, BackboneReference? backbone, IReadOnlyList<Image<Rgb24>> normals,
        PatchCoreOptions options, CancellationToken cancellationToken)
        => FitCore(encoder, ownsEncoder: backbone is not null, backbone, normals, options, null, cancellationToken);

    private static PatchCoreClassifier FitCore(IImageEncoder encoder, bool ownsEncoder, BackboneReference? backbone,
        IReadOnlyList<Image<Rgb24>> normals, PatchCoreOptions options, IAnomalySynthesizer? synthesizer, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(encoder);
        ArgumentNullException.ThrowIfNull(normals);
        ArgumentNullException.ThrowIfNull(options);
        if (normals.Count == 0) throw new ArgumentException("at least one normal image is required", nameof(normals));
        if (normals.Any(n => n is null)) throw new ArgumentException("a normal image is null", nameof(normals));
        options.Validate();
        synthesizer ??= AnomalySynthesizers.Create(options.SynthesisMethod);
        var view = options.Resolution is { } r ? encoder.WithResolution(r) : encoder;
        var perShot = ExtractPatches(view, normals, options, cancellationToken);
        if (view != encoder) view.Dispose();
        PatchMemory? memory = null;
        try
        {
            (memory, var sources) = BuildMemoryBank(perShot, options, existing: null);
            var (normalScores, anomalyScores) = Calibrate(view, normals, perShot, memory, sources, hasExisting: false, options, synthesizer,
                new Random(options.Seed), cancellationToken);
            return new PatchCoreClassifier(encoder, ownsEncoder, backbone, options, memory, normalScores, anomalyScores, normals.Count);
        }
        catch
        {
            memory?.Dispose();
            throw;
        }
        finally
        {
            foreach (var p in perShot) p.Dispose();
            // A fit frees far more than it keeps (every shot's copies, the calibration images): give those pages back.
            NativeHeap.ReleaseFreePages();
        }
    }

    /// <summary>
    /// Adds normal images to the memory (subsampling it again if it grows past <see cref="PatchCoreOptions.MemoryLimit"/>)
    /// and re-chooses the threshold from the new images' leave-one-out scores together with the earlier ones. Without
    /// subsampling, fitting on A then adding B scores exactly as fitting on A and B at once. Not safe while another
    /// thread scores with this model.
    /// </summary>
    /// <exception cref="ArgumentException">No image, or a null one.</exception>
    public void AddNormals(IReadOnlyList<Image<Rgb24>> normals, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(normals);
        if (normals.Count == 0) throw new ArgumentException("at least one normal image is required", nameof(normals));
        if (normals.Any(n => n is null)) throw new ArgumentException("a normal image is null", nameof(normals));
        var synthesizer = AnomalySynthesizers.Create(Options.SynthesisMethod);
        var perShot = ExtractPatches(encoder, normals, Options, cancellationToken);
        PatchMemory? grown = null;
        try
        {
            (grown, var sources) = BuildMemoryBank(perShot, Options, memory);
            var (normalScores, anomalyScores) = Calibrate(encoder, normals, perShot, grown, sources, hasExisting: true, Options, synthesizer,
                new Random(unchecked(Options.Seed * 486187739 + Shots)), cancellationToken);
            memory.Dispose();
            memory = grown;
            grown = null;
            calibrationNormals.AddRange(normalScores);
            calibrationAnomalies.AddRange(anomalyScores);
            Threshold = ThresholdSelector.F1Optimal(calibrationNormals, calibrationAnomalies);
            Shots += normals.Count;
        }
        finally
        {
            grown?.Dispose();
            foreach (var p in perShot) p.Dispose();
        }
    }

    /// <inheritdoc />
    public float[] Score(IReadOnlyList<Image<Rgb24>> images, CancellationToken cancellationToken = default)
        => ScoreWithMaps(images, withMaps: false, cancellationToken).Scores;

    /// <summary>
    /// A distance mapped into (0, 1): a logistic centred on <see cref="Threshold"/> (0.5 there), with the spread of the
    /// calibration scores as its scale, so that it stays continuous and ordered like the distances.
    /// </summary>
    public float ToProbability(float score) => Calibration.Logistic(score, Threshold, calibrationNormals, calibrationAnomalies);

    /// <summary>
    /// Scores and, when <paramref name="withMaps"/>, anomaly maps at each image's own size (row-major, the patch
    /// distances upsampled and smoothed), from one encoding pass.
    /// </summary>
    public (float[] Scores, float[][] Maps) ScoreWithMaps(IReadOnlyList<Image<Rgb24>> images, bool withMaps, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(images);
        if (images.Count == 0) return ([], []);
        using var patches = encoder.EncodePatches(images, Options.InferenceBatchSize, cancellationToken);
        var scored = ScorePatches(patches);
        var maps = withMaps
            ? [.. Enumerable.Range(0, images.Count).Select(i => AnomalyMapBuilder.Build(scored.PatchMaps[i], patches.Grids[i], Options.MapSigma))]
            : Array.Empty<float[]>();
        return (scored.Scores, maps);
    }

    /// <summary>Image scores and patch distances of <paramref name="patches"/>, without gradients.</summary>
    /// <exception cref="ArgumentException">The features do not have the memory's width.</exception>
    public PatchScores ScorePatches(PatchFeatures patches)
    {
        ArgumentNullException.ThrowIfNull(patches);
        if (patches.Channels != memory.Channels && patches.Count > 0)
            throw new ArgumentException($"Patch features have {patches.Channels} channels; the memory holds {memory.Channels}.", nameof(patches));
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var scores = new float[patches.Count];
        var maps = new float[patches.Count][];
        if (patches.Count == 0) return new PatchScores(scores, maps);
        var distances = memory.NearestDistances(Prepare(patches.Values, Options));
        var all = distances.data<float>().ToArray();
        for (int i = 0; i < patches.Count; i++)
        {
            maps[i] = all.AsSpan(patches.Offset(i), patches.Grids[i].Count).ToArray();
            scores[i] = ScoreImage(distances.narrow(0, patches.Offset(i), patches.Grids[i].Count));
        }
        return new PatchScores(scores, maps);
    }

    /// <summary>The anomaly map of one image from its patch distances, row-major at the image's size.</summary>
    public float[] AnomalyMap(Image<Rgb24> image, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(image);
        return ScoreWithMaps([image], withMaps: true, cancellationToken).Maps[0];
    }

    /// <summary>
    /// |∂score/∂pixel| averaged over the colour channels, placed on the image like <see cref="AnomalyMap"/>:
    /// which pixels the most anomalous patch's distance reacts to. Row-major at the image's size, non-negative.
    /// </summary>
    public float[] Saliency(Image<Rgb24> image, CancellationToken cancellationToken = default)
        => GradientSaliency.Of(encoder, image, pixels =>
        {
            var grid = encoder.Encode(pixels, EncoderOutputs.Patches).Patches!;
            return memory.NearestDistances(Prepare(grid.select(0, 0).flatten(1).t(), Options)).max();
        }, cancellationToken);

    /// <summary>
    /// Saves the model: a zip archive with <c>manifest.json</c> (format, encoder, threshold, options, calibration
    /// scores and, when known, the backbone reference) and <c>memory.safetensors</c> (the memory bank).
    /// </summary>
    public void Save(Stream output)
    {
        ArgumentNullException.ThrowIfNull(output);
        PatchCoreModelFile.Write(output, new PatchCoreManifest(PatchCoreModelFile.FormatName, PatchCoreModelFile.Version, BackboneName,
            memory.Channels, Threshold, Shots, Options, [.. calibrationNormals], [.. calibrationAnomalies], Backbone, MethodName), memory.Bank);
    }

    /// <summary>Saves the model to a file atomically (see <see cref="Save(Stream)"/>).</summary>
    public void Save(string path) => AtomicFile.Write(path, Save);

    /// <summary>
    /// Writes the model as one ONNX graph (<see cref="OnnxExport"/>): resized RGB pixels <c>[N, 3, H, W]</c> on the 0..255
    /// scale in, <c>score</c>, <c>is_anomaly</c> and the patch-grid <c>anomaly_map</c> out. H × W is the input layout
    /// of an <paramref name="imageWidth"/> × <paramref name="imageHeight"/> image (<see cref="ResNet18Encoder.Layout"/>:
    /// the aspect ratio decides it once the model sees whole images); neither given means a square image, so the
    /// encoder's square input (224 × 224 for the default).
    /// </summary>
    /// <exception cref="NotSupportedException">The encoder has no ONNX form (only ResNet18 and CLIP in float32 have one); the message names it.</exception>
    /// <exception cref="ArgumentException">Only one of the width and height is given.</exception>
    public void ExportOnnx(Stream output, int? imageWidth = null, int? imageHeight = null)
        => ExportOnnx(output, imageWidth, imageHeight, resizeInGraph: false);

    /// <summary>
    /// Writes the model as one ONNX graph as <see cref="ExportOnnx(Stream, int?, int?)"/> does; with
    /// <paramref name="resizeInGraph"/> the graph also resizes: its input <c>pixels</c> is then the decoded
    /// <paramref name="imageWidth"/> × <paramref name="imageHeight"/> image itself, float32 <c>[N, 3, imageHeight, imageWidth]</c>
    /// RGB on the 0..255 scale, and the graph (opset 18) starts with the encoder's own resize to its input layout
    /// (crop, ONNX <c>Resize</c> linear with antialiasing on half-pixel centres, centred cut, rounding to whole values),
    /// so that no resizer outside the graph (ML.NET's <c>ResizeImages</c>, SkiaSharp, OpenCV) changes the scores. The
    /// metadata records <c>fsac.resize_in_graph</c> = <c>true</c> and <c>fsac.image_width</c>/<c>fsac.image_height</c>.
    /// </summary>
    /// <exception cref="ArgumentException"><paramref name="resizeInGraph"/> without the image size, or only one of the width and height.</exception>
    /// <exception cref="NotSupportedException">The encoder has no ONNX form or no in-graph resize (only ResNet18 in float32 has both); the message names it.</exception>
    public void ExportOnnx(Stream output, int? imageWidth, int? imageHeight, bool resizeInGraph)
        => OnnxExport.Write(ForExport(), output, imageWidth, imageHeight, resizeInGraph);

    /// <inheritdoc />
    ExportedModel IOnnxExportable.ForExport() => ForExport();

    private ExportedModel ForExport()
        => new([new MemoryPart(memory, Options, Threshold, Calibration.ForExport(Threshold, calibrationNormals, calibrationAnomalies))],
            Threshold, MethodName, BackboneName, encoder);

    /// <summary>Writes the ONNX graph (see <see cref="ExportOnnx(Stream, int?, int?)"/>) to a file atomically.</summary>
    public void ExportOnnx(string path, int? imageWidth = null, int? imageHeight = null)
        => AtomicFile.Write(path, stream => ExportOnnx(stream, imageWidth, imageHeight));

    /// <summary>Writes the ONNX graph (see <see cref="ExportOnnx(Stream, int?, int?, bool)"/>) to a file atomically.</summary>
    public void ExportOnnx(string path, int? imageWidth, int? imageHeight, bool resizeInGraph)
        => AtomicFile.Write(path, stream => ExportOnnx(stream, imageWidth, imageHeight, resizeInGraph));

    /// <summary>Loads a model saved by <see cref="Save(Stream)"/> to run on <paramref name="encoder"/> (borrowed).</summary>
    /// <exception cref="IncompatibleModelException">The model was fitted with another encoder or patch width.</exception>
    /// <exception cref="CheckpointFormatException">The stream is corrupt, incomplete, or of an unknown version.</exception>
    public static PatchCoreClassifier Load(Stream input, IImageEncoder encoder, string source = "model stream")
        => Load(input, encoder, owner: null, source);

    /// <summary>Loads on <paramref name="encoder"/>; with an <paramref name="owner"/> reference the model owns the encoder (when loading succeeds).</summary>
    internal static PatchCoreClassifier Load(Stream input, IImageEncoder encoder, BackboneReference? owner, string source)
    {
        ArgumentNullException.ThrowIfNull(encoder);
        var (manifest, bank) = PatchCoreModelFile.Read(input, source);
        return Create(manifest with { Backbone = owner ?? manifest.Backbone }, bank, encoder, ownsEncoder: owner is not null, source);
    }

    /// <summary>Releases the memory, and the encoder when the model owns it.</summary>
    public void Dispose()
    {
        memory.Dispose();
        if (ownsEncoder) baseEncoder.Dispose();
    }

    private static PatchCoreClassifier Create(PatchCoreManifest manifest, TensorData bank, IImageEncoder encoder, bool ownsEncoder, string source)
    {
        if (manifest.Encoder != encoder.Name)
            throw new IncompatibleModelException(manifest.Encoder, encoder.Name, "the encoder names differ.");
        if (manifest.PatchDim != encoder.PatchDim)
            throw new IncompatibleModelException(manifest.Encoder, encoder.Name, $"the model holds {manifest.PatchDim}-d patches but the encoder gives {encoder.PatchDim}-d ones.");
        if (bank.DType != ScalarType.Float32 || bank.Shape.Length != 2 || bank.Shape[1] != manifest.PatchDim || bank.Shape[0] < 1)
            throw new CheckpointFormatException(source, $"its memory is {bank.DType} [{string.Join(", ", bank.Shape)}] but must be Float32 [M, {manifest.PatchDim}].");
        using var scope = NewDisposeScope();
        var memory = new PatchMemory(bank.ToTensor(), manifest.Options.Search);
        return new PatchCoreClassifier(encoder, ownsEncoder, manifest.Backbone, manifest.Options, memory,
            manifest.CalibrationNormals, manifest.CalibrationAnomalies, manifest.Shots) { MethodName = manifest.Method ?? "patchcore" };
    }

    // Step 1: the patch features of each shot and of its augmented copies, one PatchFeatures per shot.
    private static List<PatchFeatures> ExtractPatches(IImageEncoder encoder, IReadOnlyList<Image<Rgb24>> normals, PatchCoreOptions options,
        CancellationToken cancellationToken)
    {
        var result = new List<PatchFeatures>(normals.Count);
        try
        {
            foreach (var normal in normals)
            {
                var copies = Augment(normal, options.Augmentations);
                try
                {
                    result.Add(EncodeForMemory(encoder, [normal, .. copies], options, cancellationToken));
                }
                finally
                {
                    foreach (var c in copies) c.Dispose();
                }
            }
            return result;
        }
        catch
        {
            foreach (var p in result) p.Dispose();
            throw;
        }
    }

    // Step 2: the memory bank, the existing one first, then every new patch, coreset-subsampled past the limit; with the
    // source of each kept row (-1 for the existing memory, else the index of the new image it came from).
    private static (PatchMemory Memory, int[] Sources) BuildMemoryBank(IReadOnlyList<PatchFeatures> perShot, PatchCoreOptions options, PatchMemory? existing)
    {
        using var scope = NewDisposeScope();
        var parts = new List<Tensor>();
        var sources = new List<int>();
        if (existing is not null)
        {
            parts.Add(existing.Bank);
            sources.AddRange(Enumerable.Repeat(-1, (int)existing.Count));
        }
        for (int j = 0; j < perShot.Count; j++)
        {
            parts.Add(perShot[j].Values);
            sources.AddRange(Enumerable.Repeat(j, (int)perShot[j].Values.shape[0]));
        }
        var all = cat(parts, 0);
        var kept = sources.ToArray();
        if (all.shape[0] > options.MemoryLimit)
        {
            var chosen = CoresetSampler.Select(all, options.MemoryLimit, options.Seed);
            using var index = tensor(chosen);
            all = all.index_select(0, index);
            kept = [.. chosen.Select(i => kept[i])];
        }
        return (new PatchMemory(all, options.Search), kept);
    }

    // Step 3: image score from patch distances.
    private float ScoreImage(Tensor patchDistances) => PatchScoring.ImageScore(patchDistances, Options.TopK);

    // Leave-one-out calibration scores: each new image and its synthetic anomalies against the memory without that
    // image's rows (the memory as built, so a subsampled memory is calibrated as subsampled). With a single image and no
    // earlier memory, its augmented variants stand in for held-out normals against its own memory.
    private static (List<float> Normals, List<float> Anomalies) Calibrate(IImageEncoder encoder, IReadOnlyList<Image<Rgb24>> images,
        IReadOnlyList<PatchFeatures> perShot, PatchMemory memory, int[] sources, bool hasExisting, PatchCoreOptions options,
        IAnomalySynthesizer synthesizer, Random random, CancellationToken cancellationToken)
    {
        var normals = new List<float>();
        var anomalies = new List<float>();
        bool alone = !hasExisting && images.Count == 1;
        for (int i = 0; i < images.Count; i++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            using var scope = NewDisposeScope();
            using var held = alone ? null : HeldOut(memory, sources, perShot, i, options);
            var against = held ?? memory;
            var variants = alone ? NormalAugmentations.Create(images[i]) : [];
            var context = new SynthesisContext([.. images.Where((_, j) => j != i)]);
            var synthetic = Enumerable.Range(0, options.CalibrationAnomaliesPerNormal).Select(_ => synthesizer.Synthesize(images[i], random, context)).ToList();
            try
            {
                if (alone)
                {
                    using var patches = EncodeForMemory(encoder, variants, options, cancellationToken);
                    normals.AddRange(ScoreAgainst(against, patches, options.TopK));
                }
                else
                {
                    normals.AddRange(ScoreAgainst(against, perShot[i], options.TopK, count: 1));
                }
                using var anomalyPatches = EncodeForMemory(encoder, [.. synthetic.Select(s => s.Image)], options, cancellationToken);
                anomalies.AddRange(ScoreAgainst(against, anomalyPatches, options.TopK));
            }
            finally
            {
                foreach (var v in variants) v.Dispose();
                foreach (var s in synthetic) s.Dispose();
            }
        }
        return (normals, anomalies);
    }

    // The memory's rows that did not come from new image i; should subsampling have kept none of the others' rows, the
    // others' patches themselves (or, with no other image, the whole memory).
    private static PatchMemory HeldOut(PatchMemory memory, int[] sources, IReadOnlyList<PatchFeatures> perShot, int i, PatchCoreOptions options)
    {
        using var scope = NewDisposeScope();
        var rows = Enumerable.Range(0, sources.Length).Where(r => sources[r] != i).Select(r => (long)r).ToArray();
        if (rows.Length > 0)
        {
            using var index = tensor(rows);
            return new PatchMemory(memory.Bank.index_select(0, index), options.Search);
        }
        var others = perShot.Where((_, j) => j != i).Select(p => p.Values).ToList();
        return new PatchMemory(others.Count > 0 ? cat(others, 0) : memory.Bank, options.Search);
    }

    // Image scores of the first count images of patches already prepared as the memory holds them.
    private static IEnumerable<float> ScoreAgainst(PatchMemory memory, PatchFeatures patches, int topK, int? count = null)
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        int n = count ?? patches.Count;
        var scores = new float[n];
        for (int i = 0; i < n; i++)
            scores[i] = PatchScoring.ImageScore(memory.NearestDistances(patches.Of(i)), topK);
        return scores;
    }

    // The patches of images as the memory holds them (unit length with Normalize).
    private static PatchFeatures EncodeForMemory(IImageEncoder encoder, IReadOnlyList<Image<Rgb24>> images, PatchCoreOptions options,
        CancellationToken cancellationToken)
    {
        var raw = encoder.EncodePatches(images, options.InferenceBatchSize, cancellationToken);
        if (!options.Normalize) return raw;
        using (raw)
        using (NewDisposeScope())
            return new PatchFeatures(Prepare(raw.Values, options), raw.Grids);
    }

    // Patch rows as the memory holds them: unit length with Normalize, else as encoded.
    private static Tensor Prepare(Tensor rows, PatchCoreOptions options) => options.Normalize ? nn.functional.normalize(rows, 2, 1) : rows;

    private static List<Image<Rgb24>> Augment(Image<Rgb24> image, PatchAugmentations augmentations)
    {
        var copies = new List<Image<Rgb24>>();
        if (augmentations.HasFlag(PatchAugmentations.HorizontalFlip)) copies.Add(image.Clone(c => c.Flip(FlipMode.Horizontal)));
        if (augmentations.HasFlag(PatchAugmentations.VerticalFlip)) copies.Add(image.Clone(c => c.Flip(FlipMode.Vertical)));
        if (augmentations.HasFlag(PatchAugmentations.Rotations))
            foreach (var rotation in new[] { RotateMode.Rotate90, RotateMode.Rotate180, RotateMode.Rotate270 })
                copies.Add(image.Clone(c => c.Rotate(rotation)));
        return copies;
    }
}

/// <summary>What a saved PatchCore model records besides its memory.</summary>
internal sealed record PatchCoreManifest(string Format, int FormatVersion, string Encoder, long PatchDim, float Threshold, int Shots,
    PatchCoreOptions Options, float[] CalibrationNormals, float[] CalibrationAnomalies, BackboneReference? Backbone = null, string? Method = null);

/// <summary>The saved PatchCore layout: <see cref="ModelArchive"/> with <c>memory.safetensors</c> holding <c>memory</c> [M, C].</summary>
internal static class PatchCoreModelFile
{
    public const string FormatName = "fsac-patchcore";
    public const int Version = 1;
    private const string MemoryEntry = "memory.safetensors";
    private const string MemoryKey = "memory";

    private static JsonSerializerOptions Json => ModelArchive.ManifestJson;

    public static void Write(Stream output, PatchCoreManifest manifest, Tensor bank)
        => ModelArchive.Write(output, JsonSerializer.SerializeToUtf8Bytes(manifest, Json), MemoryEntry,
            new Dictionary<string, TensorData> { [MemoryKey] = TensorData.FromTensor(bank) });

    /// <exception cref="CheckpointFormatException">Not a complete, valid PatchCore model of a known version.</exception>
    public static (PatchCoreManifest Manifest, TensorData Bank) Read(Stream input, string source)
    {
        var (bytes, tensors) = ModelArchive.Read(input, source, MemoryEntry);
        PatchCoreManifest? manifest;
        try
        {
            manifest = JsonSerializer.Deserialize<PatchCoreManifest>(bytes, Json);
        }
        catch (JsonException e)
        {
            throw new CheckpointFormatException(source, $"its manifest is not valid: {e.Message}", e);
        }
        if (manifest is null || manifest.Format != FormatName || manifest.Options is null || string.IsNullOrEmpty(manifest.Encoder)
            || manifest.CalibrationNormals is not { Length: > 0 } || manifest.CalibrationAnomalies is not { Length: > 0 } || manifest.Shots < 1
            || (manifest.Backbone is not null && string.IsNullOrWhiteSpace(manifest.Backbone.Spec)))
            throw new CheckpointFormatException(source, "its manifest is incomplete or not a PatchCore manifest.");
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
        if (!tensors.TryGetValue(MemoryKey, out var bank) || tensors.Count != 1)
            throw new CheckpointFormatException(source, $"its weights must hold exactly the tensor '{MemoryKey}'.");
        return (manifest, bank);
    }
}
