namespace Fsac.MLNet.Checkpoints;

/// <summary>A tensor a checkpoint has under the expected name but with another shape.</summary>
/// <param name="Name">The tensor's name.</param>
/// <param name="Expected">The shape the model needs.</param>
/// <param name="Actual">The shape the checkpoint has.</param>
public sealed record TensorShapeMismatch(string Name, long[] Expected, long[] Actual);
