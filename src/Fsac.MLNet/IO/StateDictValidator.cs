namespace Fsac.MLNet.IO;

/// <summary>Checks a state dict against the names and shapes a model expects.</summary>
public static class StateDictValidator
{
    /// <summary>Throws <see cref="CheckpointMismatchException"/> listing every missing, unexpected or mis-shaped tensor.</summary>
    public static void Validate(IReadOnlyDictionary<string, long[]> expected, IReadOnlyDictionary<string, TensorData> actual, string source)
    {
        var missing = expected.Keys.Where(k => !actual.ContainsKey(k)).Order(StringComparer.Ordinal).ToList();
        var unexpected = actual.Keys.Where(k => !expected.ContainsKey(k)).Order(StringComparer.Ordinal).ToList();
        var misShaped = expected
            .Where(kv => actual.TryGetValue(kv.Key, out var t) && !t.Shape.SequenceEqual(kv.Value))
            .Select(kv => $"{kv.Key}: checkpoint [{string.Join(", ", actual[kv.Key].Shape)}] vs model [{string.Join(", ", kv.Value)}]")
            .Order(StringComparer.Ordinal).ToList();
        if (missing.Count + unexpected.Count + misShaped.Count > 0)
            throw new CheckpointMismatchException(source, missing, unexpected, misShaped);
    }
}
