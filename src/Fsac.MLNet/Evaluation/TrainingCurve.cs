using Fsac.MLNet.Fitting;

namespace Fsac.MLNet.Evaluation;

/// <summary>How one CLIP-FSAC fit of a diagnostic run evolved: test scores at checkpoints and the training losses.</summary>
/// <param name="Method">The CLIP-FSAC variant.</param>
/// <param name="Checkpoints">Test scores before training and every few epochs (empty when checkpoints are off).</param>
/// <param name="History">The per-epoch training losses.</param>
public sealed record TrainingCurve(string Method, IReadOnlyList<EpochCheckpoint> Checkpoints, TrainingHistory History);
