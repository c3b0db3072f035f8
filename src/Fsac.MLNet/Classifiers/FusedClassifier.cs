using Fsac.MLNet.Export;
using Fsac.MLNet.Checkpoints;
using Fsac.MLNet.Encoders;
using Fsac.MLNet.Maps;
using System.Text.Json;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.PixelFormats;
using TorchSharp;
using static TorchSharp.torch;

namespace Fsac.MLNet.Classifiers;

/// <summary>
/// Several fitted models on one encoder, fused as WinCLIP+ fuses its text and memory scores: the image score is the
/// mean of the parts' probabilities (<see cref="IAnomalyClassifier.ToProbability"/>, each 0.5 or its own threshold's value
/// at its threshold), the threshold the mean of the parts' thresholds mapped the same way, and the anomaly map the
/// mean of the parts' local maps as probabilities. Used for CLIP-FSAC with local evidence (global head + patch head)
/// and for CLIP-FSAC fused with the patch memory.
/// </summary>
internal sealed class FusedClassifier : IAnomalyClassifier, IEncodedScorer, IOnnxExportable
{
    private readonly IImageEncoder encoder;
    private readonly bool ownsEncoder;
    private readonly IReadOnlyList<IAnomalyClassifier> parts;

    /// <summary>Fuses <paramref name="parts"/>, which were fitted on <paramref name="encoder"/> and borrow it; the fusion owns the parts, not the encoder.</summary>
    /// <exception cref="ArgumentException">Fewer than two parts, a part that cannot score cached features, or patch parts at different resolutions.</exception>
    public FusedClassifier(IImageEncoder encoder, IReadOnlyList<IAnomalyClassifier> parts, string methodName)
        : this(encoder, parts, methodName, backbone: null, ownsEncoder: false)
    {
    }

    /// <summary>As the public constructor; with <paramref name="ownsEncoder"/> disposing the fusion disposes the encoder too.</summary>
    internal FusedClassifier(IImageEncoder encoder, IReadOnlyList<IAnomalyClassifier> parts, string methodName, BackboneReference? backbone, bool ownsEncoder)
    {
        ArgumentNullException.ThrowIfNull(encoder);
        ArgumentNullException.ThrowIfNull(parts);
        if (parts.Count < 2) throw new ArgumentException("A fusion needs at least two parts.", nameof(parts));
        if (parts.Any(p => p is not (IEncodedScorer or IFeatureScorer)))
            throw new ArgumentException("Every part must score encoded features (IEncodedScorer or IFeatureScorer).", nameof(parts));
        var resolutions = parts.OfType<IEncodedScorer>().Where(p => p.Needs.HasFlag(EncoderOutputs.Patches)).Select(p => p.Resolution).Distinct().ToList();
        if (resolutions.Count > 1) throw new ArgumentException("The patch parts of a fusion must share one input resolution.", nameof(parts));
        this.encoder = encoder;
        this.parts = parts;
        this.ownsEncoder = ownsEncoder;
        Backbone = backbone;
        MethodName = methodName;
        Resolution = resolutions.Count == 1 ? resolutions[0] : null;
        Needs = parts.Aggregate((EncoderOutputs)0, (n, p) => n | (p is IEncodedScorer e ? e.Needs : EncoderOutputs.Global));
        Threshold = (float)parts.Average(p => p.ToProbability(p.Threshold));
    }

    /// <summary>The method the fusion stands for (e.g. <c>fsac-local</c>), recorded with the model.</summary>
    public string MethodName { get; }

    /// <summary>The fused models.</summary>
    public IReadOnlyList<IAnomalyClassifier> Parts => parts;

    /// <summary>How the encoder can be re-created, when known.</summary>
    public BackboneReference? Backbone { get; }

    /// <inheritdoc />
    public string BackboneName => encoder.Name;

    /// <inheritdoc />
    public float Threshold { get; }

    /// <inheritdoc />
    public int? Resolution { get; }

    /// <inheritdoc />
    public EncoderOutputs Needs { get; }

    /// <summary>Images encoded together when scoring images.</summary>
    public int BatchSize { get; init; } = 16;

    /// <inheritdoc />
    public float[] Score(IReadOnlyList<Image<Rgb24>> images, CancellationToken cancellationToken = default)
        => ScoreWithMaps(images, withMaps: false, cancellationToken).Scores;

    /// <inheritdoc />
    public (float[] Scores, float[][] Maps) ScoreWithMaps(IReadOnlyList<Image<Rgb24>> images, bool withMaps, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(images);
        if (images.Count == 0) return ([], []);
        using var scope = NewDisposeScope();
        var global = Needs.HasFlag(EncoderOutputs.Global) ? encoder.EncodeImages(images, BatchSize, cancellationToken) : null;
        var view = Resolution is { } r ? encoder.WithResolution(r) : encoder;
        using var patches = Needs.HasFlag(EncoderOutputs.Patches) ? view.EncodePatches(images, BatchSize, cancellationToken) : null;
        if (view != encoder) view.Dispose();
        var scored = ScoreEncoded(global, patches);
        float[][] maps = !withMaps ? [] : patches is null
            ? [.. images.Select(i => AnomalyMap(i, cancellationToken))]
            : [.. Enumerable.Range(0, images.Count).Select(i => AnomalyMapBuilder.Build(scored.PatchMaps[i], patches.Grids[i]))];
        return (scored.Scores, maps);
    }

    /// <summary>The mean of the parts' probabilities, and the mean of their local maps as probabilities.</summary>
    public PatchScores ScoreEncoded(Tensor? global, PatchFeatures? patches)
    {
        int n = global is not null ? (int)global.shape[0] : patches?.Count ?? throw new ArgumentException("No features were given.");
        var scores = new double[n];
        var maps = new float[n][];
        int mapped = 0;
        foreach (var part in parts)
        {
            float[] partScores;
            if (part is IEncodedScorer encoded)
            {
                var result = encoded.ScoreEncoded(global, patches);
                partScores = result.Scores;
                if (encoded.Needs.HasFlag(EncoderOutputs.Patches))
                {
                    mapped++;
                    for (int i = 0; i < n; i++)
                    {
                        var local = AsProbabilities(part, result.PatchMaps[i]);
                        if (maps[i] is null) maps[i] = local;
                        else for (int j = 0; j < local.Length; j++) maps[i][j] += local[j];
                    }
                }
            }
            else
            {
                partScores = ((IFeatureScorer)part).ScoreFeatures(global ?? throw new ArgumentException("This fusion needs pooled features.", nameof(global)));
            }
            for (int i = 0; i < n; i++) scores[i] += part.ToProbability(partScores[i]);
        }
        for (int i = 0; i < n; i++)
        {
            if (maps[i] is { } m) for (int j = 0; j < m.Length; j++) m[j] /= mapped;
            else maps[i] = [];
        }
        return new PatchScores([.. scores.Select(s => (float)(s / parts.Count))], maps);
    }

    /// <summary>The mean of the local parts' maps (as probabilities); gradient saliency when no part has local evidence.</summary>
    public float[] AnomalyMap(Image<Rgb24> image, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(image);
        if (!Needs.HasFlag(EncoderOutputs.Patches)) return Saliency(image, cancellationToken);
        return ScoreWithMaps([image], withMaps: true, cancellationToken).Maps[0];
    }

    /// <summary>The mean of the parts' gradient saliency maps.</summary>
    public float[] Saliency(Image<Rgb24> image, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(image);
        var sum = new float[image.Width * image.Height];
        foreach (var part in parts)
        {
            var map = part.Saliency(image, cancellationToken);
            for (int i = 0; i < sum.Length; i++) sum[i] += map[i] / parts.Count;
        }
        return sum;
    }

    /// <summary>
    /// Every part's export, fused on one input: the encoder of the patch parts (at the fusion's resolution), or the
    /// fusion's own when no part reads patches. A fusion with pooled parts has no resolution (fsac-local's patch head
    /// sees the backbone's own input), so one input gives every part its features.
    /// </summary>
    /// <exception cref="NotSupportedException">A part has no ONNX form; the message names it.</exception>
    ExportedModel IOnnxExportable.ForExport()
    {
        var exported = parts.Select(p => p is IOnnxExportable e ? e.ForExport()
            : throw new NotSupportedException($"The '{MethodName}' model's part {p.GetType().Name} has no ONNX export.")).ToList();
        var view = exported.FirstOrDefault(m => m.Parts.Any(p => p is MemoryPart or HeadPart { OnPatches: true }))?.Encoder ?? encoder;
        return new ExportedModel([.. exported.SelectMany(m => m.Parts)], Threshold, MethodName, BackboneName, view);
    }

    /// <summary>The fused score is already a probability.</summary>
    public float ToProbability(float score) => Math.Clamp(score, 0f, 1f);

    /// <summary>Saves the fusion: a manifest naming the method and the parts, and each part's own saved file.</summary>
    public void Save(Stream output)
    {
        ArgumentNullException.ThrowIfNull(output);
        var files = new Dictionary<string, byte[]>();
        for (int i = 0; i < parts.Count; i++)
        {
            using var memory = new MemoryStream();
            parts[i].Save(memory);
            files[PartEntry(i)] = memory.ToArray();
        }
        var manifest = new FusedManifest(FormatName, Version, encoder.Name, MethodName, parts.Count, Backbone);
        ModelArchive.WriteParts(output, JsonSerializer.SerializeToUtf8Bytes(manifest, Json), files);
    }

    /// <summary>Loads a fusion on <paramref name="encoder"/>, which the fusion owns when <paramref name="owner"/> is given.</summary>
    /// <exception cref="CheckpointFormatException">The stream is corrupt, incomplete, or of an unknown version.</exception>
    internal static FusedClassifier Load(Stream input, IImageEncoder encoder, BackboneReference? owner, string source)
    {
        var manifestBytes = ModelArchive.ReadManifest(input, source);
        FusedManifest? manifest;
        try
        {
            manifest = JsonSerializer.Deserialize<FusedManifest>(manifestBytes, Json);
        }
        catch (JsonException e)
        {
            throw new CheckpointFormatException(source, $"its manifest is not valid: {e.Message}", e);
        }
        if (manifest is null || manifest.Format != FormatName || manifest.Parts is < 2 or > 4 || string.IsNullOrWhiteSpace(manifest.Method))
            throw new CheckpointFormatException(source, "its manifest is incomplete or not a fusion manifest.");
        if (manifest.FormatVersion != Version)
            throw new CheckpointFormatException(source, $"format version {manifest.FormatVersion} is not supported (this library reads version {Version}).");
        if (manifest.Encoder != encoder.Name) throw new IncompatibleModelException(manifest.Encoder, encoder.Name, "the encoder names differ.");
        input.Position = 0;
        var (_, files) = ModelArchive.ReadParts(input, source, Enumerable.Range(0, manifest.Parts).Select(PartEntry));
        var loaded = new List<IAnomalyClassifier>();
        try
        {
            for (int i = 0; i < manifest.Parts; i++)
            {
                using var part = new MemoryStream(files[PartEntry(i)], writable: false);
                loaded.Add(ModelLoader.LoadPart(part, encoder, $"{source} ({PartEntry(i)})"));
            }
            return new FusedClassifier(encoder, loaded, manifest.Method, owner ?? manifest.Backbone, ownsEncoder: owner is not null);
        }
        catch
        {
            foreach (var part in loaded) part.Dispose();
            throw;
        }
    }

    /// <summary>Releases the parts, and the encoder when the fusion owns it.</summary>
    public void Dispose()
    {
        foreach (var part in parts) part.Dispose();
        if (ownsEncoder) encoder.Dispose();
    }

    internal const string FormatName = "fsac-fusion";
    private const int Version = 1;

    private static JsonSerializerOptions Json => ModelArchive.ManifestJson;

    private static string PartEntry(int index) => $"part{index}.fsac";

    // Patch distances become the memory's calibrated probabilities; the patch head's maps already are probabilities.
    private static float[] AsProbabilities(IAnomalyClassifier part, float[] patchMap)
        => part is PatchCoreClassifier ? [.. patchMap.Select(part.ToProbability)] : (float[])patchMap.Clone();
}

/// <summary>What a saved fusion records: the method it stands for and how many parts follow.</summary>
internal sealed record FusedManifest(string Format, int FormatVersion, string Encoder, string Method, int Parts, BackboneReference? Backbone = null);
