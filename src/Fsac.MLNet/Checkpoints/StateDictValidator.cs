using System.Text;

namespace Fsac.MLNet.Checkpoints;

/// <summary>Checks a state dict against the names and shapes a model needs before any tensor is copied.</summary>
internal static class StateDictValidator
{
    /// <summary>How many entries of each list the exception message shows.</summary>
    public const int MaxListed = 20;

    /// <summary>
    /// Throws unless <paramref name="actual"/> has exactly the names of <paramref name="expectedShapes"/>, each with
    /// its shape. Every problem is collected before throwing.
    /// </summary>
    /// <param name="expectedShapes">Name → shape the model needs.</param>
    /// <param name="actual">The checkpoint's tensors.</param>
    /// <param name="source">The checkpoint's path or a description, for the message.</param>
    /// <exception cref="CheckpointMismatchException">Some tensors are missing, unexpected or wrongly shaped.</exception>
    public static void Validate(IReadOnlyDictionary<string, long[]> expectedShapes, IReadOnlyDictionary<string, TensorData> actual, string source)
    {
        var missing = expectedShapes.Keys.Where(k => !actual.ContainsKey(k)).Order(StringComparer.Ordinal).ToList();
        var unexpected = actual.Keys.Where(k => !expectedShapes.ContainsKey(k)).Order(StringComparer.Ordinal).ToList();
        var wrong = expectedShapes
            .Where(kv => actual.TryGetValue(kv.Key, out var t) && !t.Shape.AsSpan().SequenceEqual(kv.Value))
            .Select(kv => new TensorShapeMismatch(kv.Key, kv.Value, actual[kv.Key].Shape))
            .OrderBy(m => m.Name, StringComparer.Ordinal)
            .ToList();
        if (missing.Count + unexpected.Count + wrong.Count == 0) return;

        var sb = new StringBuilder();
        sb.Append($"'{source}' does not fit the model: {missing.Count} missing, {unexpected.Count} unexpected and {wrong.Count} wrongly shaped tensor(s).");
        AppendList(sb, "Missing (name [expected shape])", missing.Select(n => $"{n} {Shape(expectedShapes[n])}").ToList());
        AppendList(sb, "Unexpected (name [shape])", unexpected.Select(n => $"{n} {Shape(actual[n].Shape)}").ToList());
        AppendList(sb, "Wrong shape (name: expected -> found)", wrong.Select(m => $"{m.Name}: {Shape(m.Expected)} -> {Shape(m.Actual)}").ToList());
        throw new CheckpointMismatchException(source, sb.ToString(), missing, unexpected, wrong);
    }

    private static void AppendList(StringBuilder sb, string title, List<string> items)
    {
        if (items.Count == 0) return;
        sb.Append('\n').Append(title).Append(':');
        foreach (var item in items.Take(MaxListed)) sb.Append("\n  ").Append(item);
        if (items.Count > MaxListed) sb.Append($"\n  ... and {items.Count - MaxListed} more");
    }

    private static string Shape(long[] shape) => $"[{string.Join(", ", shape)}]";
}
