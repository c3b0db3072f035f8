namespace Fsac.MLNet.IO;

/// <summary>
/// A checkpoint's tensors do not fit the model: some are missing, unexpected or of the wrong shape.
/// The message lists them all (the usual cause is weights of another architecture).
/// </summary>
public sealed class CheckpointMismatchException : IOException
{
    /// <summary>Creates the exception.</summary>
    public CheckpointMismatchException(string source, IReadOnlyList<string> missing, IReadOnlyList<string> unexpected, IReadOnlyList<string> misShaped)
        : base(Describe(source, missing, unexpected, misShaped))
    {
        Missing = missing;
        Unexpected = unexpected;
        MisShaped = misShaped;
    }

    /// <summary>Names the model needs that the checkpoint lacks.</summary>
    public IReadOnlyList<string> Missing { get; }
    /// <summary>Names in the checkpoint the model does not have.</summary>
    public IReadOnlyList<string> Unexpected { get; }
    /// <summary>"name: checkpoint [..] vs model [..]" for tensors of the wrong shape.</summary>
    public IReadOnlyList<string> MisShaped { get; }

    private static string Describe(string source, IReadOnlyList<string> missing, IReadOnlyList<string> unexpected, IReadOnlyList<string> misShaped)
    {
        static string List(string label, IReadOnlyList<string> items)
            => items.Count == 0 ? "" : $" {label} ({items.Count}): {string.Join(", ", items.Take(10))}{(items.Count > 10 ? $", ... ({items.Count - 10} more)" : "")}.";
        return $"Checkpoint '{source}' does not match the model." +
               List("Missing", missing) + List("Unexpected", unexpected) + List("Wrong shape", misShaped) +
               " Check that the weights belong to the chosen architecture.";
    }
}
