using TorchSharp;

namespace Fsac.MLNet.Checkpoints.Pickle;

/// <summary>
/// The whitelist of Python globals a checkpoint pickle may name. Anything else (<c>os.system</c>,
/// <c>builtins.eval</c>, a model class) is refused before it could ever matter: nothing is executed,
/// the names only select one of a few fixed behaviours.
/// </summary>
internal static class PickleGlobals
{
    private static readonly Dictionary<string, object> Allowed = BuildAllowed();

    private static Dictionary<string, object> BuildAllowed()
    {
        var d = new Dictionary<string, object>(StringComparer.Ordinal)
        {
            ["collections.OrderedDict"] = PickleCallable.OrderedDict,
            ["torch._utils._rebuild_tensor_v2"] = PickleCallable.RebuildTensorV2,
            ["torch._utils._rebuild_parameter"] = PickleCallable.RebuildParameter,
        };
        (string Name, torch.ScalarType DType)[] storages =
        [
            ("FloatStorage", torch.ScalarType.Float32),
            ("HalfStorage", torch.ScalarType.Float16),
            ("BFloat16Storage", torch.ScalarType.BFloat16),
            ("DoubleStorage", torch.ScalarType.Float64),
            ("LongStorage", torch.ScalarType.Int64),
            ("IntStorage", torch.ScalarType.Int32),
            ("ShortStorage", torch.ScalarType.Int16),
            ("CharStorage", torch.ScalarType.Int8),
            ("ByteStorage", torch.ScalarType.Byte),
            ("BoolStorage", torch.ScalarType.Bool),
        ];
        foreach (var (name, dtype) in storages) d["torch." + name] = new TorchStorageType(name, dtype);
        return d;
    }

    /// <summary>
    /// The behaviour <c>module.name</c> stands for: a <see cref="PickleCallable"/> or a <see cref="TorchStorageType"/>.
    /// </summary>
    /// <exception cref="CheckpointFormatException">The global is not whitelisted.</exception>
    public static object Resolve(string module, string name, string source)
    {
        var qualified = module + "." + name;
        if (Allowed.TryGetValue(qualified, out var value)) return value;
        var hint = module.StartsWith("__torch__", StringComparison.Ordinal)
            ? " (a TorchScript class: the file is a TorchScript program, not a state dict)"
            : "";
        throw new CheckpointFormatException(source,
            $"refusing to load: the pickle references '{qualified}'{hint}, which is not one of the types a " +
            "state dict needs (collections.OrderedDict, torch._utils._rebuild_tensor_v2, torch.*Storage). " +
            "Nothing from the file was executed.");
    }
}
