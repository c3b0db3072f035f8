using Fsac.MLNet.Checkpoints.Pickle;
using System.IO.Compression;
using System.Text;

namespace Fsac.MLNet.Checkpoints;

/// <summary>
/// Reads PyTorch <c>torch.save</c> checkpoints (the zip format of torch 1.6 and later: <c>.bin</c>, <c>.pt</c>,
/// <c>.pth</c>) without executing anything. The archive's <c>data.pkl</c> goes through a restricted unpickler
/// that knows only the opcodes and globals of a state dict (<c>collections.OrderedDict</c>,
/// <c>torch._utils._rebuild_tensor_v2</c>, <c>torch.*Storage</c>); any other global, such as
/// <c>os.system</c>, is refused. Tensors are then read from the archive's <c>data/</c> records, honouring
/// storage offsets and strides.
/// </summary>
internal static class TorchPickleReader
{
    private const long MaxPickleBytes = 256L * 1024 * 1024;

    /// <summary>
    /// How deep dicts may nest on the way to a tensor. A state dict nests a few levels; the bound keeps the
    /// recursive walk over them shallow whatever a hostile pickle nests (the unpickler itself does not recurse).
    /// </summary>
    private const int MaxDictDepth = 64;

    /// <summary>The longest dotted tensor name read (real ones are under 200 characters).</summary>
    private const int MaxNameLength = 4096;

    /// <summary>How many times over the tensors may view their storages' bytes, plus a slack for tiny checkpoints.</summary>
    private const long MaxViewFactor = 4, MaxViewSlackBytes = 1L << 20;

    /// <summary>
    /// Reads every tensor of a <c>torch.save</c> checkpoint. When the pickled object is a dict with a
    /// <c>state_dict</c> entry that is itself a dict (a training checkpoint with epoch, optimizer and so on),
    /// only that entry is read. Nested dicts give dotted names (<c>{"a": {"b": t}}</c> → <c>a.b</c>);
    /// values that are not tensors or dicts (numbers, strings, lists) are skipped.
    /// </summary>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    /// <exception cref="CheckpointFormatException">
    /// The path is a folder or not a regular file, or the file is not a readable <c>torch.save</c> zip (legacy format,
    /// TorchScript archive, corrupt), or its pickle references a global outside the whitelist, nests dicts deeper
    /// than 64 or names longer than 4096 characters, or a tensor or storage is larger than its record or than one
    /// array can hold, or the tensors add up to far more bytes than their storages (one view named over and over).
    /// </exception>
    public static Dictionary<string, TensorData> Read(string path)
    {
        using var fs = RegularFile.Open(path, "checkpoint");
        RejectNonZip(path, fs);
        ZipArchive zip;
        try { zip = new ZipArchive(fs, ZipArchiveMode.Read); }
        catch (InvalidDataException e) { throw new CheckpointFormatException(path, "not a readable torch.save zip archive.", e); }
        using (zip)
        {
            try { return ReadArchive(path, zip); }
            catch (InvalidDataException e) { throw new CheckpointFormatException(path, "the zip archive is corrupt.", e); }
        }
    }

    private static void RejectNonZip(string path, FileStream fs)
    {
        Span<byte> head = stackalloc byte[4];
        int n = fs.ReadAtLeast(head, 4, throwOnEndOfStream: false);
        fs.Position = 0;
        if (n == 4 && head.SequenceEqual("PK\u0003\u0004"u8)) return;
        if (n >= 2 && head[0] == 0x80 && head[1] <= 5)
            throw new CheckpointFormatException(path,
                "this is a legacy (pre-1.6, non-zip) torch.save file, which is not read. Re-save it with torch>=1.6 " +
                "(torch.save(torch.load(f), g)) or convert it to safetensors.");
        throw new CheckpointFormatException(path, "not a torch.save zip archive.");
    }

    private static Dictionary<string, TensorData> ReadArchive(string path, ZipArchive zip)
    {
        var pickles = zip.Entries.Where(e => e.FullName.EndsWith("/data.pkl", StringComparison.Ordinal)
                                             && e.FullName.IndexOf('/') == e.FullName.Length - "/data.pkl".Length).ToList();
        if (pickles.Count != 1)
            throw new CheckpointFormatException(path, pickles.Count == 0
                ? "the zip archive has no '<name>/data.pkl' record: it is not a torch.save checkpoint."
                : "the zip archive has several '<name>/data.pkl' records.");
        string prefix = pickles[0].FullName[..^"data.pkl".Length];
        if (zip.GetEntry(prefix + "constants.pkl") is not null || zip.Entries.Any(e => e.FullName.StartsWith(prefix + "code/", StringComparison.Ordinal)))
            throw new CheckpointFormatException(path,
                "this is a TorchScript archive (such as OpenAI's original CLIP .pt releases): a compiled program, not a " +
                "state dict, so it is not read. Convert it once with PyTorch: " +
                "torch.save(torch.jit.load(f, map_location='cpu').state_dict(), 'weights.bin'), or use the OpenCLIP " +
                "copy of the weights on the Hugging Face hub (timm/vit_*_clip_224.openai).");
        bool bigEndian = ReadByteOrder(path, zip, prefix);

        var pickle = ZipEntryReader.ReadAll(pickles[0], MaxPickleBytes, path);
        var storages = new Dictionary<string, TorchStorageRef>(StringComparer.Ordinal);
        var root = RestrictedUnpickler.Load(pickle, path, pid => LoadStorage(path, pid, storages));

        if (root is not OrderedDictionary<object, object?> dict)
            throw new CheckpointFormatException(path, $"the checkpoint holds {RestrictedUnpickler.Describe(root)}, not a dict of tensors.");
        if (dict.TryGetValue("state_dict", out var inner) && inner is OrderedDictionary<object, object?> stateDict)
            dict = stateDict;

        var views = new List<(string Name, TorchTensorRef Tensor)>();
        Flatten(path, dict, "", views, []);
        return Materialize(path, zip, prefix, views, bigEndian);
    }

    private static bool ReadByteOrder(string path, ZipArchive zip, string prefix)
    {
        var entry = zip.GetEntry(prefix + "byteorder");
        if (entry is null) return false;
        var order = Encoding.ASCII.GetString(ZipEntryReader.ReadAll(entry, 16, path)).Trim();
        return order switch
        {
            "little" => false,
            "big" => true,
            _ => throw new CheckpointFormatException(path, $"unknown byte order '{order}'."),
        };
    }

    private static object LoadStorage(string path, object? pid, Dictionary<string, TorchStorageRef> storages)
    {
        // ('storage', torch.FloatStorage, key, location, numel)
        if (pid is not object?[] { Length: 5 } t || t[0] is not "storage" || t[1] is not TorchStorageType type
            || t[2] is not string key || t[3] is not string || t[4] is not long count || count < 0)
            throw new CheckpointFormatException(path, "pickle: a persistent id is not a ('storage', type, key, location, size) tuple.");
        if (count > Array.MaxLength / TensorData.ElementSize(type.DType))
            throw new CheckpointFormatException(path, $"storage '{key}' declares {count} elements of {type.DType}, more than one array can hold.");
        var storage = new TorchStorageRef(key, type.DType, count);
        if (storages.TryGetValue(key, out var known))
        {
            if (known != storage)
                throw new CheckpointFormatException(path, $"storage '{key}' is described inconsistently ({known} and {storage}).");
            return known;
        }
        storages[key] = storage;
        return storage;
    }

    private static void Flatten(string path, OrderedDictionary<object, object?> dict, string prefix,
                                List<(string, TorchTensorRef)> views, HashSet<object> visiting)
    {
        if (!visiting.Add(dict)) throw new CheckpointFormatException(path, "the checkpoint's dicts contain themselves.");
        if (visiting.Count > MaxDictDepth)
            throw new CheckpointFormatException(path, $"the checkpoint's dicts nest more than {MaxDictDepth} deep (under '{prefix}').");
        foreach (var (key, value) in dict)
        {
            if (value is not (TorchTensorRef or OrderedDictionary<object, object?>)) continue;
            string name = key switch
            {
                string s => s,
                long l => l.ToString(System.Globalization.CultureInfo.InvariantCulture),
                _ => throw new CheckpointFormatException(path, $"a dict key is {RestrictedUnpickler.Describe(key)}; only str and int keys are read."),
            };
            // Checked before the name is built: a memoized long key reused at every level would otherwise build huge names.
            if (prefix.Length + name.Length > MaxNameLength)
                throw new CheckpointFormatException(path, $"a tensor name under '{prefix[..Math.Min(prefix.Length, 80)]}' is longer than {MaxNameLength} characters.");
            if (value is TorchTensorRef tensor) views.Add((prefix + name, tensor));
            else Flatten(path, (OrderedDictionary<object, object?>)value, prefix + name + ".", views, visiting);
        }
        visiting.Remove(dict);
    }

    private static Dictionary<string, TensorData> Materialize(string path, ZipArchive zip, string prefix,
                                                              List<(string Name, TorchTensorRef Tensor)> views, bool bigEndian)
    {
        var names = new HashSet<string>(StringComparer.Ordinal);
        foreach (var (name, _) in views)
            if (!names.Add(name)) throw new CheckpointFormatException(path, $"tensor name '{name}' occurs twice.");
        CheckTotal(path, views);
        var tensors = new Dictionary<string, TensorData>(views.Count, StringComparer.Ordinal);

        // One storage at a time: each record is read once, however many tensors view it.
        foreach (var group in views.GroupBy(v => v.Tensor.Storage.Key, StringComparer.Ordinal))
        {
            var storage = group.First().Tensor.Storage;
            int elementSize = TensorData.ElementSize(storage.DType);
            var entry = zip.GetEntry(prefix + "data/" + storage.Key)
                        ?? throw new CheckpointFormatException(path, $"storage record 'data/{storage.Key}' is missing from the archive.");
            long bytes = storage.ElementCount * elementSize;
            if (entry.Length != bytes)
                throw new CheckpointFormatException(path, $"storage '{storage.Key}' should hold {storage.ElementCount} elements of {storage.DType} ({bytes} bytes) but its record has {entry.Length} bytes.");
            var data = ZipEntryReader.ReadAll(entry, bytes, path);
            if (bigEndian) ReverseElements(data, elementSize);
            foreach (var (name, view) in group)
                tensors[name] = new TensorData(storage.DType, view.Shape, StridedCopy.Materialize(data, elementSize, view.Offset, view.Shape, view.Stride));
        }
        // Keep the pickle's order of names.
        return views.ToDictionary(v => v.Name, v => tensors[v.Name], StringComparer.Ordinal);
    }

    // Tensors may share a storage (tied weights, slices of one buffer), but a pickle can name one large view a
    // million times through its memo: the views may add up to a few times their storages, not more.
    private static void CheckTotal(string path, List<(string Name, TorchTensorRef Tensor)> views)
    {
        long viewed = 0;
        foreach (var (name, view) in views) viewed += CheckBounds(path, name, view);
        long stored = views.Select(v => v.Tensor.Storage).Distinct()
                           .Sum(s => s.ElementCount * TensorData.ElementSize(s.DType));
        if (viewed > MaxViewFactor * stored + MaxViewSlackBytes)
            throw new CheckpointFormatException(path,
                $"the tensors add up to {viewed} bytes but their storages hold {stored}: the pickle names the same data more often than a state dict does.");
    }

    /// <summary>The view's size in bytes, once it is known to lie inside its storage.</summary>
    private static long CheckBounds(string path, string name, TorchTensorRef view)
    {
        string Describe() => $"tensor '{name}' (offset {view.Offset}, size [{string.Join(", ", view.Shape)}], stride [{string.Join(", ", view.Stride)}])";
        if (view.Offset < 0 || view.Shape.Any(d => d < 0) || view.Stride.Any(s => s < 0))
            throw new CheckpointFormatException(path, $"{Describe()} has a negative offset, size or stride.");
        try
        {
            long bytes = view.Shape.Aggregate((long)TensorData.ElementSize(view.Storage.DType), (a, b) => checked(a * b));
            if (bytes > Array.MaxLength)
                throw new CheckpointFormatException(path, $"{Describe()} has {bytes} bytes, more than one array can hold.");
            if (bytes == 0) return 0;
            long last = view.Offset;
            for (int d = 0; d < view.Shape.Length; d++) last = checked(last + (view.Shape[d] - 1) * view.Stride[d]);
            if (last >= view.Storage.ElementCount)
                throw new CheckpointFormatException(path, $"{Describe()} reaches element {last} of a storage of {view.Storage.ElementCount}.");
            return bytes;
        }
        catch (OverflowException e)
        {
            throw new CheckpointFormatException(path, $"{Describe()} is too large.", e);
        }
    }

    private static void ReverseElements(byte[] data, int elementSize)
    {
        if (elementSize == 1) return;
        for (int i = 0; i + elementSize <= data.Length; i += elementSize) data.AsSpan(i, elementSize).Reverse();
    }
}
