namespace Fsac.MLNet.Evaluation;

/// <summary>The test scores of a diagnostic run after some epochs of training (the paper's Fig. 7); reporting only.</summary>
/// <param name="Epoch">Epochs trained over all stages (0 = before training).</param>
/// <param name="Auroc">I-AUROC of <paramref name="Scores"/>.</param>
/// <param name="Scores">One score per test image of the run, in the order of <see cref="RunDiagnostics.Labels"/>.</param>
public sealed record EpochCheckpoint(int Epoch, double Auroc, IReadOnlyList<float> Scores);
