using Fsac.MLNet.Checkpoints;
using Fsac.MLNet.Encoders;
using Fsac.MLNet.Fitting;
using Fsac.MLNet.Head;
using System.Text.Json;
using TorchSharp;

namespace Fsac.MLNet.Classifiers;

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
    /// <summary>2: the threshold is on AS's logit (the score); version 1 files store it on AS and are converted when read.</summary>
    public const int Version = 2;
    private const string WeightsEntry = "head.safetensors";

    private static JsonSerializerOptions Json => ModelArchive.ManifestJson;

    public static void Write(Stream output, FsacManifest manifest, IReadOnlyDictionary<string, torch.Tensor> tensors)
        => ModelArchive.Write(output, JsonSerializer.SerializeToUtf8Bytes(manifest, Json), WeightsEntry,
            tensors.ToDictionary(kv => kv.Key, kv => TensorData.FromTensor(kv.Value)));

    /// <exception cref="CheckpointFormatException">The stream is not a complete, valid model of a known version.</exception>
    public static (FsacManifest Manifest, Dictionary<string, TensorData> Tensors) Read(Stream input, string source)
    {
        var (manifest, tensors) = ModelArchive.Read(input, source, WeightsEntry);
        return (ParseManifest(manifest, source), tensors);
    }

    private static FsacManifest ParseManifest(byte[] json, string source)
    {
        FsacManifest? manifest;
        try
        {
            manifest = JsonSerializer.Deserialize<FsacManifest>(json, Json);
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
        if (manifest.FormatVersion is not (1 or Version))
            throw new CheckpointFormatException(source, $"format version {manifest.FormatVersion} is not supported (this library reads versions 1 and {Version}).");
        if (manifest.FormatVersion == 1)
        {
            // Version 1 stored the threshold on AS itself; the score is now its logit.
            double t = Math.Clamp(manifest.Threshold, 1e-7, 1 - 1e-7);
            manifest = manifest with { FormatVersion = Version, Threshold = (float)Math.Log(t / (1 - t)) };
        }
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
