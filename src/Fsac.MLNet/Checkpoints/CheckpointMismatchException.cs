namespace Fsac.MLNet.Checkpoints;

/// <summary>
/// A checkpoint was read but does not fit the model: tensors are missing, unexpected, or wrongly shaped.
/// The lists hold every offender; the message shows them, the longest lists shortened.
/// </summary>
public sealed class CheckpointMismatchException : IOException
{
    /// <summary>Creates the exception; <paramref name="message"/> describes the lists.</summary>
    public CheckpointMismatchException(string checkpoint, string message, IReadOnlyList<string> missing,
                                       IReadOnlyList<string> unexpected, IReadOnlyList<TensorShapeMismatch> wrongShapes)
        : base(message)
    {
        Checkpoint = checkpoint;
        Missing = missing;
        Unexpected = unexpected;
        WrongShapes = wrongShapes;
    }

    /// <summary>The checkpoint that was checked (a path or a description).</summary>
    public string Checkpoint { get; }

    /// <summary>Names the model needs that the checkpoint lacks.</summary>
    public IReadOnlyList<string> Missing { get; }

    /// <summary>Names the checkpoint has that the model does not know.</summary>
    public IReadOnlyList<string> Unexpected { get; }

    /// <summary>Tensors present under the right name with the wrong shape.</summary>
    public IReadOnlyList<TensorShapeMismatch> WrongShapes { get; }
}
