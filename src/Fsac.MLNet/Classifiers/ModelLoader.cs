using Fsac.MLNet.Checkpoints;
using Fsac.MLNet.Encoders;
using System.Text.Json;

namespace Fsac.MLNet.Classifiers;

/// <summary>
/// Reads a saved model of any method: the persistence side of <see cref="FewShotAnomalyClassifier"/>. The format
/// recorded in the file picks the method's reader; the encoder is given, or created from the backbone the file
/// records by the function the caller passes.
/// </summary>
internal static class ModelLoader
{
    /// <summary>
    /// Loads a model and the method it records. On <paramref name="encoder"/> when given: borrowed without
    /// <paramref name="owner"/>, owned from construction with it. Without an encoder, <paramref name="createEncoder"/>
    /// makes the one the file records, which the model then owns.
    /// </summary>
    /// <exception cref="CheckpointFormatException">The stream is corrupt, incomplete, or of an unknown format or version.</exception>
    /// <exception cref="InvalidOperationException">No encoder was given and the model does not record its backbone.</exception>
    public static (IAnomalyClassifier Model, AnomalyMethod Method) Load(Stream input, IImageEncoder? encoder, BackboneReference? owner,
        Func<BackboneReference, IImageEncoder> createEncoder, string source)
    {
        ArgumentNullException.ThrowIfNull(input);
        using var buffered = ModelFiles.Buffer(input, source);
        var format = ModelArchive.ReadFormat(buffered, source);
        if (format is not (FsacModelFile.FormatName or PatchCoreModelFile.FormatName or FsacPatchClassifier.FormatName
            or FusedClassifier.FormatName or WinClipModelFile.FormatName))
            throw new CheckpointFormatException(source, $"not a saved Fsac.MLNet model: unknown format '{format}'.");
        if (encoder is not null) return (LoadOn(format, buffered, encoder, owner, source), MethodOf(buffered, format, source));
        var recorded = RecordedBackbone(buffered, source);
        var created = createEncoder(recorded);
        try
        {
            return (LoadOn(format, buffered, created, recorded, source), MethodOf(buffered, format, source));
        }
        catch
        {
            created.Dispose();
            throw;
        }
    }

    /// <summary>The backbone a model file records.</summary>
    /// <exception cref="InvalidOperationException">The model does not record it.</exception>
    public static BackboneReference RecordedBackbone(Stream input, string source)
    {
        input.Position = 0;
        using var doc = ModelArchive.ReadManifestDocument(input, source);
        input.Position = 0;
        if (doc.RootElement.TryGetProperty("backbone", out var b) && b.ValueKind == JsonValueKind.Object
            && b.TryGetProperty("spec", out var spec) && spec.ValueKind == JsonValueKind.String && !string.IsNullOrWhiteSpace(spec.GetString()))
        {
            var precision = b.TryGetProperty("precision", out var p) && p.ValueKind == JsonValueKind.String
                && Enum.TryParse<EncoderPrecision>(p.GetString(), out var parsed) ? parsed : EncoderPrecision.Float32;
            // Files written before the engine was recorded run on Auto.
            var engine = b.TryGetProperty("engine", out var en) && en.ValueKind == JsonValueKind.String
                && Enum.TryParse<EncoderEngine>(en.GetString(), out var named) ? named : EncoderEngine.Auto;
            return new BackboneReference(spec.GetString()!, precision) { Engine = engine };
        }
        var encoder = doc.RootElement.TryGetProperty("encoder", out var e) && e.ValueKind == JsonValueKind.String ? $" (encoder '{e.GetString()}')" : "";
        throw new InvalidOperationException($"'{source}' does not record the backbone it was fitted on{encoder}; load it with an encoder.");
    }

    /// <summary>Loads one part of a fusion on a borrowed encoder.</summary>
    public static IAnomalyClassifier LoadPart(Stream input, IImageEncoder encoder, string source)
        => LoadOn(ModelArchive.ReadFormat(input, source), input, encoder, null, source);

    private static IAnomalyClassifier LoadOn(string? format, Stream input, IImageEncoder encoder, BackboneReference? owner, string source)
    {
        input.Position = 0;
        return format switch
        {
            FsacModelFile.FormatName => FsacClassifier.Load(input, encoder, owner, source),
            PatchCoreModelFile.FormatName => PatchCoreClassifier.Load(input, encoder, owner, source),
            FsacPatchClassifier.FormatName => FsacPatchClassifier.Load(input, encoder, owner, source),
            FusedClassifier.FormatName => FusedClassifier.Load(input, encoder, owner, source),
            WinClipModelFile.FormatName => WinClipClassifier.Load(input, encoder, owner, source),
            _ => throw new CheckpointFormatException(source, $"not a saved Fsac.MLNet model: unknown format '{format}'."),
        };
    }

    // The method a file records ("method" in fusions and memory models), else the one its format implies.
    private static AnomalyMethod MethodOf(Stream input, string? format, string source)
    {
        if (format == FsacModelFile.FormatName) return AnomalyMethod.Fsac;
        if (format == WinClipModelFile.FormatName) return AnomalyMethod.WinClipPlus;
        input.Position = 0;
        using var doc = ModelArchive.ReadManifestDocument(input, source);
        var name = doc.RootElement.TryGetProperty("method", out var m) && m.ValueKind == JsonValueKind.String ? m.GetString() : null;
        var implied = format == PatchCoreModelFile.FormatName ? AnomalyMethod.PatchCore : AnomalyMethod.FsacLocal;
        return Enum.GetValues<AnomalyMethod>().FirstOrDefault(a => AnomalyMethodOptions.NameOf(a) == name, implied);
    }
}
