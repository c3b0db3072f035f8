using Fsac.MLNet.Checkpoints;
using System.IO.Compression;
using System.Text.Json;

namespace Fsac.MLNet.Classifiers;

/// <summary>
/// The container every saved model uses: a zip archive holding <c>manifest.json</c> (what the model is, written by
/// its own file class) and one safetensors entry with its tensors. Written and read in memory, without temp files;
/// entry sizes are checked before anything is inflated (<see cref="ZipEntryReader"/>).
/// </summary>
internal static class ModelArchive
{
    public const string ManifestEntry = "manifest.json";

    /// <summary>
    /// How deep a manifest's JSON may nest (manifests nest a few levels). System.Text.Json throws
    /// <see cref="JsonException"/> past it, so a hostile manifest cannot make the reader recurse deeper.
    /// </summary>
    public const int MaxJsonDepth = 32;

    /// <summary>How every model file's manifest is written and read: indented camelCase JSON, enums by name.</summary>
    public static readonly JsonSerializerOptions ManifestJson = new()
    {
        MaxDepth = MaxJsonDepth,
        WriteIndented = true,
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
        Converters = { new System.Text.Json.Serialization.JsonStringEnumConverter() },
    };

    /// <summary>The largest manifest accepted.</summary>
    public const long MaxManifestBytes = 16L << 20;

    /// <summary>The largest tensor entry accepted (a memory bank of 4 shots at 448 px with augmentations is about 0.2 GB).</summary>
    public const long MaxTensorBytes = 1L << 30;

    // Zip entries carry a time stamp; a fixed one makes two saves of the same model byte-identical.
    private static readonly DateTimeOffset EntryTime = new(2000, 1, 1, 0, 0, 0, TimeSpan.Zero);

    public static void Write(Stream output, byte[] manifest, string tensorsEntry, IReadOnlyDictionary<string, TensorData> tensors)
    {
        ArgumentNullException.ThrowIfNull(output);
        using var zip = new ZipArchive(output, ZipArchiveMode.Create, leaveOpen: true);
        var manifestEntry = zip.CreateEntry(ManifestEntry);
        manifestEntry.LastWriteTime = EntryTime;
        using (var entry = manifestEntry.Open())
            entry.Write(manifest);
        var tensorEntry = zip.CreateEntry(tensorsEntry);
        tensorEntry.LastWriteTime = EntryTime;
        using (var entry = tensorEntry.Open())
            SafeTensors.Write(entry, tensors);
    }

    /// <summary>Writes a manifest and whole byte entries (the saved parts of a composite model).</summary>
    public static void WriteParts(Stream output, byte[] manifest, IReadOnlyDictionary<string, byte[]> parts)
    {
        ArgumentNullException.ThrowIfNull(output);
        using var zip = new ZipArchive(output, ZipArchiveMode.Create, leaveOpen: true);
        foreach (var (name, bytes) in parts.Prepend(new KeyValuePair<string, byte[]>(ManifestEntry, manifest)))
        {
            var entry = zip.CreateEntry(name);
            entry.LastWriteTime = EntryTime;
            using var stream = entry.Open();
            stream.Write(bytes);
        }
    }

    /// <summary>The manifest and the named byte entries written by <see cref="WriteParts"/>.</summary>
    /// <exception cref="CheckpointFormatException">Not a model archive, an entry is missing or too large.</exception>
    public static (byte[] Manifest, Dictionary<string, byte[]> Parts) ReadParts(Stream input, string source, IEnumerable<string> names)
    {
        using var zip = Open(input, source);
        var manifest = ZipEntryReader.ReadAll(Entry(zip, ManifestEntry, source), MaxManifestBytes, source);
        var parts = names.ToDictionary(n => n, n => ZipEntryReader.ReadAll(Entry(zip, n, source), MaxTensorBytes, source));
        return (manifest, parts);
    }

    /// <summary>The manifest's <c>format</c> string, or null when it has none.</summary>
    /// <exception cref="CheckpointFormatException">Not a model archive.</exception>
    public static string? ReadFormat(Stream input, string source)
    {
        using var doc = ReadManifestDocument(input, source);
        return doc.RootElement.TryGetProperty("format", out var f) && f.ValueKind == JsonValueKind.String ? f.GetString() : null;
    }

    /// <summary>The manifest parsed as a JSON object (the caller disposes it).</summary>
    /// <exception cref="CheckpointFormatException">Not a model archive, or the manifest is not a JSON object.</exception>
    public static JsonDocument ReadManifestDocument(Stream input, string source)
    {
        JsonDocument doc;
        try
        {
            doc = JsonDocument.Parse(ReadManifest(input, source), new JsonDocumentOptions { MaxDepth = MaxJsonDepth });
        }
        catch (JsonException e)
        {
            throw new CheckpointFormatException(source, $"its manifest is not valid JSON: {e.Message}", e);
        }
        if (doc.RootElement.ValueKind == JsonValueKind.Object) return doc;
        doc.Dispose();
        throw new CheckpointFormatException(source, "its manifest is not a JSON object.");
    }

    /// <summary>The raw manifest bytes.</summary>
    /// <exception cref="CheckpointFormatException">Not a model archive, or the manifest is missing or too large.</exception>
    public static byte[] ReadManifest(Stream input, string source)
    {
        using var zip = Open(input, source);
        return ZipEntryReader.ReadAll(Entry(zip, ManifestEntry, source), MaxManifestBytes, source);
    }

    /// <summary>The manifest bytes and the tensors.</summary>
    /// <exception cref="CheckpointFormatException">Not a model archive, an entry is missing, too large or corrupt.</exception>
    public static (byte[] Manifest, Dictionary<string, TensorData> Tensors) Read(Stream input, string source, string tensorsEntry)
    {
        using var zip = Open(input, source);
        var manifest = ZipEntryReader.ReadAll(Entry(zip, ManifestEntry, source), MaxManifestBytes, source);
        var bytes = ZipEntryReader.ReadAll(Entry(zip, tensorsEntry, source), MaxTensorBytes, source);
        try
        {
            using var memory = new MemoryStream(bytes, writable: false);
            return (manifest, SafeTensors.Read(memory, source, out _));
        }
        catch (CheckpointFormatException e)
        {
            throw new CheckpointFormatException(source, $"its weights are corrupt ({e.Message}).", e);
        }
    }

    private static ZipArchive Open(Stream input, string source)
    {
        ArgumentNullException.ThrowIfNull(input);
        try
        {
            return new ZipArchive(input, ZipArchiveMode.Read, leaveOpen: true);
        }
        catch (InvalidDataException e)
        {
            throw new CheckpointFormatException(source, "not a saved Fsac.MLNet model (not a zip archive).", e);
        }
    }

    private static ZipArchiveEntry Entry(ZipArchive zip, string name, string source)
        => zip.GetEntry(name) ?? throw new CheckpointFormatException(source, $"not a saved Fsac.MLNet model: '{name}' is missing.");
}
