using System.IO.Compression;
using System.Text.Json;
using System.Text.Json.Serialization;
using Fsac.MLNet.Encoders;
using Fsac.MLNet.IO;
using Fsac.MLNet.Model;
using Fsac.MLNet.Training;
using TorchSharp;

namespace Fsac.MLNet.Classification;

/// <summary>What a saved CLIP-FSAC model records besides its tensors.</summary>
/// <param name="Format">Always <see cref="FsacModelFile.FormatName"/>.</param>
/// <param name="FormatVersion">Layout version, <see cref="FsacModelFile.Version"/> when written by this library.</param>
/// <param name="Encoder">Name of the encoder the head was fitted on.</param>
/// <param name="FeatureDim">Width of that encoder's features.</param>
/// <param name="Threshold">The decision threshold.</param>
/// <param name="Synthesizer">Name of the anomaly synthesizer used in the fit.</param>
/// <param name="Options">The fit options.</param>
/// <param name="History">The training losses.</param>
/// <param name="Backbone">How to re-create the encoder, when the model knows it (absent in models saved without it).</param>
internal sealed record FsacManifest(string Format, int FormatVersion, string Encoder, long FeatureDim, float Threshold,
    string Synthesizer, FsacOptions Options, TrainingHistory History, BackboneReference? Backbone = null);

/// <summary>
/// The saved-model layout: a zip archive holding <c>manifest.json</c> (<see cref="FsacManifest"/>) and
/// <c>head.safetensors</c> (the head's state dict plus the raw anchors under <c>anchors</c>).
/// </summary>
internal static class FsacModelFile
{
    public const string FormatName = "fsac-head";
    public const int Version = 1;
    private const string ManifestEntry = "manifest.json";
    private const string WeightsEntry = "head.safetensors";

    private static readonly JsonSerializerOptions Json = new()
    {
        WriteIndented = true,
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
        Converters = { new JsonStringEnumConverter() },
    };

    public static void Write(Stream output, FsacManifest manifest, IReadOnlyDictionary<string, torch.Tensor> tensors)
    {
        var temp = Path.GetTempFileName();
        try
        {
            SafeTensors.Write(temp, tensors);
            using var zip = new ZipArchive(output, ZipArchiveMode.Create, leaveOpen: true);
            using (var entry = zip.CreateEntry(ManifestEntry).Open())
                JsonSerializer.Serialize(entry, manifest, Json);
            using (var entry = zip.CreateEntry(WeightsEntry).Open())
            using (var weights = File.OpenRead(temp))
                weights.CopyTo(entry);
        }
        finally
        {
            File.Delete(temp);
        }
    }

    /// <exception cref="CheckpointFormatException">The stream is not a complete, valid model of a known version.</exception>
    public static (FsacManifest Manifest, Dictionary<string, TensorData> Tensors) Read(Stream input, string source)
    {
        var temp = Path.GetTempFileName();
        try
        {
            FsacManifest manifest;
            using (var zip = OpenArchive(input, source))
            {
                manifest = ReadManifest(Entry(zip, ManifestEntry, source), source);
                using var entry = Entry(zip, WeightsEntry, source).Open();
                using var file = File.Create(temp);
                entry.CopyTo(file);
            }
            try
            {
                return (manifest, SafeTensors.Read(temp));
            }
            catch (CheckpointFormatException e)
            {
                throw new CheckpointFormatException(source, $"its weights are corrupt ({e.Message}).", e);
            }
        }
        catch (InvalidDataException e)
        {
            throw new CheckpointFormatException(source, $"the model archive is corrupt: {e.Message}", e);
        }
        finally
        {
            File.Delete(temp);
        }
    }

    private static ZipArchive OpenArchive(Stream input, string source)
    {
        try
        {
            return new ZipArchive(input, ZipArchiveMode.Read, leaveOpen: true);
        }
        catch (InvalidDataException e)
        {
            throw new CheckpointFormatException(source, "not a saved CLIP-FSAC model (not a zip archive).", e);
        }
    }

    private static ZipArchiveEntry Entry(ZipArchive zip, string name, string source)
        => zip.GetEntry(name) ?? throw new CheckpointFormatException(source, $"not a saved CLIP-FSAC model: '{name}' is missing.");

    private static FsacManifest ReadManifest(ZipArchiveEntry entry, string source)
    {
        FsacManifest? manifest;
        try
        {
            using var stream = entry.Open();
            manifest = JsonSerializer.Deserialize<FsacManifest>(stream, Json);
        }
        catch (JsonException e)
        {
            throw new CheckpointFormatException(source, $"its manifest is not valid: {e.Message}", e);
        }
        if (manifest is null || manifest.Format != FormatName || manifest.Options is null
            || manifest.History?.Stages is null || manifest.History.Stages.Any(s => s?.Losses is null)
            || string.IsNullOrEmpty(manifest.Encoder) || manifest.Synthesizer is null
            || (manifest.Backbone is not null && string.IsNullOrWhiteSpace(manifest.Backbone.Spec)))
            throw new CheckpointFormatException(source, "its manifest is incomplete or not a CLIP-FSAC manifest.");
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
        return manifest;
    }
}
