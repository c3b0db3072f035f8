namespace Fsac.MLNet.Fitting;

/// <summary>Reported after every training epoch.</summary>
/// <param name="Stage">The stage being trained.</param>
/// <param name="Epoch">The epoch just finished, from 1.</param>
/// <param name="Epochs">Epochs in this stage.</param>
/// <param name="Loss">The epoch's fusion-text contrastive loss.</param>
public readonly record struct TrainingProgress(TrainingStage Stage, int Epoch, int Epochs, float Loss);
