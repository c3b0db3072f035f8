using System.IO.Compression;
using System.Text;
using Fsac.MLNet.IO.Pickle;

namespace Fsac.MLNet.IO;

/// <summary>
/// Reads PyTorch <c>torch.save</c> checkpoints (the zip format of torch 1.6 and later: <c>.bin</c>, <c>.pt</c>,
/// <c>.pth</c>) without executing anything. The archive's <c>data.pkl</c> goes through a restricted unpickler
/// that knows only the opcodes and globals of a state dict (<c>collections.OrderedDict</c>,
/// <c>torch._utils._rebuild_tensor_v2</c>, <c>torch.*Storage</c>); any other global, such as
/// <c>os.system</c>, is refused. Tensors are then read from the archive's <c>data/</c> records, honouring
/// storage offsets and strides.
/// </summary>
public static class TorchPickleReader
{
    private const long MaxPickleBytes = 256L * 1024 * 1024;

    /// <summary>
    /// Reads every tensor of a <c>torch.save</c> checkpoint. When the pickled object is a dict with a
    /// <c>state_dict</c> entry that is itself a dict (a training checkpoint with epoch, optimizer and so on),
    /// only that entry is read. Nested dicts give dotted names (<c>{"a": {"b": t}}</c> → <c>a.b</c>);
    /// values that are not tensors or dicts (numbers, strings, lists) are skipped.
    /// </summary>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    /// <exception cref="CheckpointFormatException">
    /// The file is not a readable <c>torch.save</c> zip (legacy format, TorchScript archive, corrupt), or its
    /// pickle references a global outside the whitelist, or a tensor lies outside its storage.
    /// </exception>
    public static Dictionary<string, TensorData> Read(string path)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"Checkpoint not found: '{path}'.", path);
        using var fs = File.OpenRead(path);
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
        throw new CheckpointFormatException(path, n == 0 ? "the file is empty." : "not a torch.save zip archive.");
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

        var pickle = ReadEntry(path, pickles[0], MaxPickleBytes);
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
        var order = Encoding.ASCII.GetString(ReadEntry(path, entry, 16)).Trim();
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
        foreach (var (key, value) in dict)
        {
            string name = key switch
            {
                string s => s,
                long l => l.ToString(System.Globalization.CultureInfo.InvariantCulture),
                _ => throw new CheckpointFormatException(path, $"a dict key is {RestrictedUnpickler.Describe(key)}; only str and int keys are read."),
            };
            switch (value)
            {
                case TorchTensorRef tensor: views.Add((prefix + name, tensor)); break;
                case OrderedDictionary<object, object?> child: Flatten(path, child, prefix + name + ".", views, visiting); break;
            }
        }
        visiting.Remove(dict);
    }

    private static Dictionary<string, TensorData> Materialize(string path, ZipArchive zip, string prefix,
                                                              List<(string Name, TorchTensorRef Tensor)> views, bool bigEndian)
    {
        var names = new HashSet<string>(StringComparer.Ordinal);
        foreach (var (name, _) in views)
            if (!names.Add(name)) throw new CheckpointFormatException(path, $"tensor name '{name}' occurs twice.");
        var tensors = new Dictionary<string, TensorData>(views.Count, StringComparer.Ordinal);

        // One storage at a time: each record is read once, however many tensors view it.
        foreach (var group in views.GroupBy(v => v.Tensor.Storage.Key, StringComparer.Ordinal))
        {
            var storage = group.First().Tensor.Storage;
            int elementSize = TensorData.ElementSize(storage.DType);
            var entry = zip.GetEntry(prefix + "data/" + storage.Key)
                        ?? throw new CheckpointFormatException(path, $"storage record 'data/{storage.Key}' is missing from the archive.");
            long bytes = checked(storage.ElementCount * elementSize);
            if (entry.Length != bytes)
                throw new CheckpointFormatException(path, $"storage '{storage.Key}' should hold {storage.ElementCount} elements of {storage.DType} ({bytes} bytes) but its record has {entry.Length} bytes.");
            var data = ReadEntry(path, entry, Array.MaxLength);
            if (bigEndian) ReverseElements(data, elementSize);
            foreach (var (name, view) in group)
            {
                CheckBounds(path, name, view);
                tensors[name] = new TensorData(storage.DType, view.Shape, StridedCopy.Materialize(data, elementSize, view.Offset, view.Shape, view.Stride));
            }
        }
        // Keep the pickle's order of names.
        return views.ToDictionary(v => v.Name, v => tensors[v.Name], StringComparer.Ordinal);
    }

    private static void CheckBounds(string path, string name, TorchTensorRef view)
    {
        string Describe() => $"tensor '{name}' (offset {view.Offset}, size [{string.Join(", ", view.Shape)}], stride [{string.Join(", ", view.Stride)}])";
        if (view.Offset < 0 || view.Shape.Any(d => d < 0) || view.Stride.Any(s => s < 0))
            throw new CheckpointFormatException(path, $"{Describe()} has a negative offset, size or stride.");
        try
        {
            long bytes = view.Shape.Aggregate((long)TensorData.ElementSize(view.Storage.DType), (a, b) => checked(a * b));
            if (bytes > Array.MaxLength)
                throw new CheckpointFormatException(path, $"{Describe()} has {bytes} bytes, more than one array can hold.");
            if (bytes == 0) return;
            long last = view.Offset;
            for (int d = 0; d < view.Shape.Length; d++) last = checked(last + (view.Shape[d] - 1) * view.Stride[d]);
            if (last >= view.Storage.ElementCount)
                throw new CheckpointFormatException(path, $"{Describe()} reaches element {last} of a storage of {view.Storage.ElementCount}.");
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

    private static byte[] ReadEntry(string path, ZipArchiveEntry entry, long maxBytes)
    {
        if (entry.Length > maxBytes)
            throw new CheckpointFormatException(path, $"record '{entry.FullName}' has {entry.Length} bytes, more than the {maxBytes} that are read.");
        var data = new byte[entry.Length];
        using var s = entry.Open();
        int n = s.ReadAtLeast(data, data.Length, throwOnEndOfStream: false);
        if (n != data.Length)
            throw new CheckpointFormatException(path, $"record '{entry.FullName}' is truncated: {n} of {data.Length} bytes.");
        return data;
    }
}
