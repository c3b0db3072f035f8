namespace Fsac.MLNet.Fitting;

/// <summary>Which parameters a training stage updates.</summary>
public enum TrainingStage
{
    /// <summary>Stage 1: the image adapter and the cross-attention (Adam at the image learning rate); the text adapter is frozen.</summary>
    ImageSide,

    /// <summary>Stage 2: the text adapter (Adam at the text learning rate); the image adapter and cross-attention are frozen.</summary>
    TextSide,

    /// <summary>Everything at once, each side with its own optimizer and learning rate (the joint-training ablation).</summary>
    Joint,
}
