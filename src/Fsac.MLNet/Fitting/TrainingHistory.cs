namespace Fsac.MLNet.Fitting;

/// <summary>The loss of every epoch of a fit, stage by stage, in training order.</summary>
/// <param name="Stages">The stages that ran.</param>
public sealed record TrainingHistory(IReadOnlyList<StageHistory> Stages);

/// <summary>The per-epoch losses of one training stage.</summary>
/// <param name="Stage">The stage.</param>
/// <param name="Losses">One loss per epoch, in order.</param>
public sealed record StageHistory(TrainingStage Stage, IReadOnlyList<float> Losses);
