using Fsac.MLNet.Checkpoints;
using Fsac.MLNet.Classifiers;
using System.IO.Compression;
using System.Text.Json;
using System.Text.Json.Serialization;
using Microsoft.ML;
using Microsoft.ML.Data;

namespace Fsac.MLNet.Pipeline;

/// <summary>
/// One zip archive holding a fitted pipeline: <c>manifest.json</c> lists the stages in order; a run of ML.NET
/// transformers is one stage, written by ML.NET's own <c>Model.Save</c> as a nested model file (the first stage,
/// possibly an empty chain, also carries the input schema); each FewShotAnomaly transformer is one stage with its
/// options and backbone name in the manifest and its model written by <see cref="IAnomalyClassifier.Save"/>.
/// Saving serializes every stage before the first byte of the archive is written, so a stage that cannot be saved
/// leaves the output untouched. Loading bounds every entry before inflating it (<see cref="ZipEntryReader"/>).
/// </summary>
internal static class PipelineArchive
{
    private const string Format = "Fsac.MLNet.FewShotAnomalyPipeline";
    private const int Version = 1;
    private const string ManifestEntry = "manifest.json";

    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web)
    {
        MaxDepth = ModelArchive.MaxJsonDepth,
        WriteIndented = true,
        Converters = { new JsonStringEnumConverter() },
    };

    /// <param name="Entry">The archive entry with the stage's content.</param>
    /// <param name="BackboneName">A FewShotAnomaly stage's <see cref="IAnomalyClassifier.BackboneName"/>.</param>
    /// <param name="Options">A FewShotAnomaly stage's options; null for an ML.NET stage.</param>
    private sealed record Stage(string Entry, string? BackboneName = null, FewShotAnomalyOptions? Options = null);

    private sealed record Manifest(string Format, int Version, List<Stage> Stages);

    /// <summary>Writes the archive; <paramref name="tempFolder"/> is the temp folder of <paramref name="catalog"/>'s context.</summary>
    /// <exception cref="ObjectDisposedException">A FewShotAnomaly transformer of the pipeline was disposed.</exception>
    /// <exception cref="IOException">ML.NET's temp folder cannot be created or written.</exception>
    public static void Save(ModelOperationsCatalog catalog, string tempFolder, ITransformer model, DataViewSchema inputSchema,
        Stream stream)
    {
        MLNetTempFolder.Ensure(tempFolder);
        var stages = new List<(Stage Stage, MemoryStream Content)>();
        try
        {
            foreach (var (group, i) in Split(Flatten(model)).Select((g, i) => (g, i)))
            {
                if (group is [FewShotAnomalyTransformer fewShot])
                {
                    var (backbone, content) = fewShot.SaveModel();
                    stages.Add((new Stage($"stages/{i}-fewshot.bin", backbone, fewShot.Options), content));
                }
                else
                {
                    var content = new MemoryStream();
                    stages.Add((new Stage($"stages/{i}-mlnet.zip"), content));
                    catalog.Save(new TransformerChain<ITransformer>(group.ToArray()), i == 0 ? inputSchema : null, content);
                }
            }
            using var zip = new ZipArchive(stream, ZipArchiveMode.Create, leaveOpen: true);
            foreach (var (stage, content) in stages)
            {
                var level = stage.Options is null ? CompressionLevel.NoCompression : CompressionLevel.Optimal;
                using var entry = zip.CreateEntry(stage.Entry, level).Open();
                content.WriteTo(entry);
            }
            using var manifest = zip.CreateEntry(ManifestEntry).Open();
            JsonSerializer.Serialize(manifest, new Manifest(Format, Version, stages.Select(s => s.Stage).ToList()), Json);
        }
        finally
        {
            foreach (var (_, content) in stages) content.Dispose();
        }
    }

    /// <summary>Reads an archive; <paramref name="tempFolder"/> is the temp folder of <paramref name="catalog"/>'s context.</summary>
    /// <exception cref="InvalidDataException">Not a pipeline archive, or an entry is missing, too large or corrupt.</exception>
    /// <exception cref="IOException">ML.NET's temp folder cannot be created or written.</exception>
    public static TransformerChain<ITransformer> Load(ModelOperationsCatalog catalog, string tempFolder, Stream stream,
        string source, IBackboneResolver? resolver, out DataViewSchema inputSchema)
    {
        MLNetTempFolder.Ensure(tempFolder);
        using var zip = Open(stream, source);
        var manifest = ReadManifest(zip, source);
        var transformers = new List<ITransformer>();
        DataViewSchema? schema = null;
        try
        {
            foreach (var (stage, i) in manifest.Stages.Select((s, i) => (s, i)))
            {
                var entry = zip.GetEntry(stage.Entry) ?? throw NotAPipeline(source, $"entry '{stage.Entry}' is missing");
                using var content = new MemoryStream(ReadEntry(entry, Array.MaxLength, source), writable: false);
                if (stage.Options is null)
                {
                    transformers.AddRange(Flatten(catalog.Load(content, out var stageSchema)));
                    if (i == 0) schema = stageSchema;
                }
                else
                {
                    transformers.Add(LoadFewShot(stage, stage.Options, content, resolver ?? BuiltInBackboneResolver.Instance));
                }
            }
        }
        catch
        {
            foreach (var loaded in transformers.OfType<FewShotAnomalyTransformer>()) loaded.Dispose();
            throw;
        }
        inputSchema = schema ?? throw NotAPipeline(source, "its first stage has no input schema");
        return new TransformerChain<ITransformer>(transformers.ToArray());
    }

    private static FewShotAnomalyTransformer LoadFewShot(Stage stage, FewShotAnomalyOptions options, Stream content,
        IBackboneResolver resolver)
    {
        IAnomalyClassifier model;
        try
        {
            model = resolver.CreateFactory(options).Load(content);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            throw new InvalidOperationException(
                $"The saved pipeline's FewShotAnomaly model was fitted on backbone '{stage.BackboneName}' " +
                $"(configured as '{options.Backbone}'), which cannot be loaded here: {e.Message} " +
                "Pass a backbone resolver that provides it to LoadWithFewShotAnomaly.", e);
        }
        if (model.BackboneName == stage.BackboneName) return new FewShotAnomalyTransformer(model, options);
        model.Dispose();
        throw new InvalidOperationException(
            $"The saved FewShotAnomaly model was fitted on backbone '{stage.BackboneName}', but the resolver loaded " +
            $"it on '{model.BackboneName}': the backbone's weights differ from those the model was fitted on.");
    }

    /// <summary>The transformers of a model in order, nested chains opened.</summary>
    private static IEnumerable<ITransformer> Flatten(ITransformer model) =>
        model is IEnumerable<ITransformer> chain ? chain.SelectMany(Flatten) : [model];

    /// <summary>Runs of ML.NET transformers and single FewShotAnomaly transformers; the first is always a run (maybe empty).</summary>
    private static List<List<ITransformer>> Split(IEnumerable<ITransformer> transformers)
    {
        var groups = new List<List<ITransformer>> { new() };
        foreach (var transformer in transformers)
        {
            if (transformer is FewShotAnomalyTransformer) groups.Add([transformer]);
            else if (groups[^1] is [FewShotAnomalyTransformer]) groups.Add([transformer]);
            else groups[^1].Add(transformer);
        }
        return groups;
    }

    private static ZipArchive Open(Stream stream, string source)
    {
        try
        {
            return new ZipArchive(stream, ZipArchiveMode.Read, leaveOpen: true);
        }
        catch (InvalidDataException e)
        {
            throw NotAPipeline(source, e.Message, e);
        }
    }

    private static byte[] ReadEntry(ZipArchiveEntry entry, long cap, string source)
    {
        try
        {
            return ZipEntryReader.ReadAll(entry, cap, source);
        }
        catch (CheckpointFormatException e)
        {
            throw NotAPipeline(source, e.Message, e);
        }
    }

    private static Manifest ReadManifest(ZipArchive zip, string source)
    {
        var entry = zip.GetEntry(ManifestEntry)
            ?? throw NotAPipeline(source, "it has no manifest.json (files from mlContext.Model.Save load with mlContext.Model.Load)");
        Manifest? manifest;
        try
        {
            manifest = JsonSerializer.Deserialize<Manifest>(ReadEntry(entry, ModelArchive.MaxManifestBytes, source), Json);
        }
        catch (JsonException e)
        {
            throw NotAPipeline(source, $"its manifest is not valid JSON ({e.Message})", e);
        }
        if (manifest is not { Format: Format, Stages.Count: > 0 })
            throw NotAPipeline(source, $"its manifest is not a {Format} manifest");
        if (manifest.Stages.Any(stage => stage?.Entry is null))
            throw NotAPipeline(source, "a stage of its manifest names no entry");
        if (manifest.Version > Version)
            throw NotAPipeline(source, $"it was written by a newer Fsac.MLNet (format version {manifest.Version}; this one reads {Version})");
        return manifest;
    }

    private static InvalidDataException NotAPipeline(string source, string why, Exception? inner = null) =>
        new($"'{source}' is not a pipeline saved by SaveWithFewShotAnomaly: {why}.", inner);
}
