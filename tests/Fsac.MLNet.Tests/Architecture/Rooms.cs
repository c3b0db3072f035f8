namespace Fsac.MLNet.Tests.Architecture;

/// <summary>
/// The library's rooms in dependency order, lowest first: a room may use the rooms before it and none after it.
/// Each room is one or more namespaces (a namespace belongs to the room of its longest listed prefix).
/// </summary>
internal static class Rooms
{
    /// <summary>The rooms, lowest first, each with the namespaces it holds and what else it may use.</summary>
    public static IReadOnlyList<Room> Ordered { get; } =
    [
        new("native runtime", ["Fsac.MLNet.Native"], ["TorchSharp"]),
        new("files", ["Fsac.MLNet.Files"], []),
        new("checkpoint formats", ["Fsac.MLNet.Checkpoints"], ["TorchSharp", "Google.Protobuf"]),
        new("imaging", ["Fsac.MLNet.Imaging"], ["TorchSharp", "SixLabors.ImageSharp"]),
        new("synthesis", ["Fsac.MLNet.Synthesis"], ["SixLabors.ImageSharp"]),
        new("CLIP port", ["Fsac.MLNet.Encoders.Clip"], ["TorchSharp", "Microsoft.ML.Tokenizers"]),
        new("ResNet port", ["Fsac.MLNet.Encoders.ResNet"], ["TorchSharp"]),
        new("encoder graphs", ["Fsac.MLNet.Encoders.Onnx"], ["TorchSharp", "Google.Protobuf"]),
        new("encoders", ["Fsac.MLNet.Encoders"], ["TorchSharp", "SixLabors.ImageSharp", "Microsoft.ML.DnnImageFeaturizer.ResNet18", "Microsoft.ML.OnnxRuntime"]),
        new("CLIP-FSAC head", ["Fsac.MLNet.Head"], ["TorchSharp"]),
        new("patch memory", ["Fsac.MLNet.PatchCore"], ["TorchSharp"]),
        new("anomaly maps", ["Fsac.MLNet.Maps"], ["TorchSharp", "SixLabors.ImageSharp"]),
        new("metrics", ["Fsac.MLNet.Metrics"], []),
        new("fitting", ["Fsac.MLNet.Fitting"], ["TorchSharp", "SixLabors.ImageSharp"]),
        new("ONNX export", ["Fsac.MLNet.Export"], ["TorchSharp", "Google.Protobuf"]),
        new("classifiers", ["Fsac.MLNet.Classifiers"], ["TorchSharp", "SixLabors.ImageSharp"]),
        new("visualisation", ["Fsac.MLNet.Visualisation"], ["SixLabors.ImageSharp"]),
        new("evaluation datasets", ["Fsac.MLNet.Evaluation.Datasets"], ["SixLabors.ImageSharp"]),
        new("baselines", ["Fsac.MLNet.Evaluation.Baselines"], ["TorchSharp", "SixLabors.ImageSharp"]),
        new("evaluation", ["Fsac.MLNet.Evaluation"], ["TorchSharp", "SixLabors.ImageSharp"]),
        new("ML.NET integration", ["Fsac.MLNet.Pipeline", "Fsac.MLNet", "Microsoft.ML"],
            ["SixLabors.ImageSharp", "Microsoft.ML.Core", "Microsoft.ML.Data", "Microsoft.ML.DataView", "Microsoft.ML.ImageAnalytics",
                "Microsoft.ML.Transforms"]),
    ];

    /// <summary>The room a namespace belongs to (its longest listed prefix), or null when none lists it.</summary>
    public static Room? Of(string ns)
        => Ordered.SelectMany(room => room.Namespaces.Select(prefix => (room, prefix)))
            .Where(p => ns == p.prefix || ns.StartsWith(p.prefix + ".", StringComparison.Ordinal))
            .OrderByDescending(p => p.prefix.Length).Select(p => p.room).FirstOrDefault();

    /// <summary>The namespace edges that point up (from a room to a later one), as "A -> B (Type -> Type, ...)".</summary>
    public static IReadOnlyList<string> UpwardEdges(IReadOnlyDictionary<(string From, string To), IReadOnlySet<string>> edges)
    {
        var violations = new List<string>();
        foreach (var ((from, to), pairs) in edges.OrderBy(e => e.Key.From).ThenBy(e => e.Key.To))
        {
            Room? a = Of(from), b = Of(to);
            if (a is null || b is null || a == b) continue;
            if (Index(b) > Index(a))
                violations.Add($"{from} ({a.Name}) -> {to} ({b.Name}): {string.Join(", ", pairs.Order().Take(4))}");
        }
        return violations;
    }

    private static int Index(Room room) => Ordered.ToList().IndexOf(room);
}

/// <summary>A room: its name, its namespaces (prefixes), and the non-system assemblies it may use.</summary>
internal sealed record Room(string Name, IReadOnlyList<string> Namespaces, IReadOnlyList<string> Assemblies);
