namespace Fsac.MLNet.Checkpoints;

/// <summary>
/// Reads a CLIP checkpoint into a state dict under OpenCLIP's tensor names, whatever its format:
/// safetensors or <c>torch.save</c> zip (told apart by content, not by extension), OpenCLIP or Hugging Face
/// transformers naming, optionally wrapped in a training checkpoint's <c>state_dict</c> or saved from a
/// <c>DataParallel</c> model (<c>module.</c> prefix). Nothing in the file is executed.
/// </summary>
internal static class CheckpointReader
{
    private const string ModulePrefix = "module.";

    /// <summary>
    /// Reads the state dict of the checkpoint at <paramref name="path"/> (a file, or a directory resolved by
    /// <see cref="FindWeights"/>), normalised to OpenCLIP's names: the <c>state_dict</c> entry of a training
    /// checkpoint is unwrapped, a <c>module.</c> prefix carried by every name is stripped, and a Hugging Face
    /// <c>CLIPModel</c> layout is renamed (q/k/v concatenated, projections transposed, <c>position_ids</c> dropped).
    /// A safetensors file's tensors are read only when used (<see cref="SafeTensors.ReadDeferred"/>).
    /// </summary>
    /// <exception cref="FileNotFoundException">The file does not exist, or the directory holds no weights file.</exception>
    /// <exception cref="CheckpointFormatException">
    /// The file is empty or not a regular file (a FIFO, a device), is not a readable checkpoint, or is refused by the
    /// restricted unpickler.
    /// </exception>
    public static Dictionary<string, TensorData> ReadStateDict(string path)
    {
        if (Directory.Exists(path)) path = FindWeights(path);
        var tensors = Sniff(path) switch
        {
            Format.SafeTensors => SafeTensors.ReadDeferred(path),
            _ => TorchPickleReader.Read(path),
        };
        if (tensors.Count > 0 && tensors.Keys.All(k => k.StartsWith(ModulePrefix, StringComparison.Ordinal)))
            tensors = tensors.ToDictionary(kv => kv.Key[ModulePrefix.Length..], kv => kv.Value, StringComparer.Ordinal);
        return HuggingFaceClipLayout.Matches(tensors.Keys) ? HuggingFaceClipLayout.ToOpenClip(tensors, path) : tensors;
    }

    /// <summary>
    /// The weights file of a model directory, by preference: <c>open_clip_model.safetensors</c>, another
    /// <c>*.safetensors</c> (<c>model.safetensors</c> first), <c>open_clip_pytorch_model.bin</c>, then
    /// <c>pytorch_model.bin</c> or a <c>*.pt</c>/<c>*.pth</c> file.
    /// </summary>
    /// <exception cref="DirectoryNotFoundException">The directory does not exist.</exception>
    /// <exception cref="FileNotFoundException">No candidate file is there; the message lists what was looked for.</exception>
    /// <exception cref="IOException">Several files of the same preference are there (say which by passing its path).</exception>
    public static string FindWeights(string directory)
    {
        if (!Directory.Exists(directory)) throw new DirectoryNotFoundException($"Model directory not found: '{directory}'.");
        var files = Directory.GetFiles(directory).Select(Path.GetFileName).OfType<string>().Order(StringComparer.Ordinal).ToList();
        bool HasExtension(string f, params string[] extensions) => extensions.Any(e => f.EndsWith(e, StringComparison.OrdinalIgnoreCase));
        (string Preferred, Func<string, bool> Matches)[] tiers =
        [
            ("open_clip_model.safetensors", _ => false),
            ("model.safetensors", f => HasExtension(f, ".safetensors")),
            ("open_clip_pytorch_model.bin", _ => false),
            ("pytorch_model.bin", f => HasExtension(f, ".pt", ".pth")),
        ];
        foreach (var (preferred, matches) in tiers)
        {
            if (files.Contains(preferred, StringComparer.Ordinal)) return Path.Combine(directory, preferred);
            var candidates = files.Where(matches).ToList();
            if (candidates.Count == 1) return Path.Combine(directory, candidates[0]);
            if (candidates.Count > 1)
                throw new IOException($"'{directory}' holds several weights files ({string.Join(", ", candidates)}); pass the path of the one to read.");
        }
        throw new FileNotFoundException(
            $"No weights file in '{directory}': looked for open_clip_model.safetensors, *.safetensors, " +
            "open_clip_pytorch_model.bin, pytorch_model.bin, *.pt and *.pth.");
    }

    private enum Format { SafeTensors, Torch }

    private static Format Sniff(string path)
    {
        Span<byte> head = stackalloc byte[9];
        int n;
        using (var fs = RegularFile.Open(path, "checkpoint")) n = fs.ReadAtLeast(head, head.Length, throwOnEndOfStream: false);
        if (n >= 4 && head[..4].SequenceEqual("PK\u0003\u0004"u8)) return Format.Torch;
        // safetensors: an 8-byte little-endian header length (any first byte), then the JSON header.
        if (n == head.Length && head[8] == (byte)'{') return Format.SafeTensors;
        if (head[0] == 0x80) return Format.Torch; // a pickle: the legacy torch.save format, which TorchPickleReader explains
        throw new CheckpointFormatException(path, "neither a safetensors file nor a torch.save checkpoint.");
    }
}
