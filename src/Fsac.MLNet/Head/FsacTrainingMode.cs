namespace Fsac.MLNet.Head;

/// <summary>How the two adapters are trained (CLIP-FSAC §3.4 and the ablations of Tables 1 and 3).</summary>
public enum FsacTrainingMode
{
    /// <summary>The paper's method: stage 1 trains the image adapter and the cross-attention, stage 2 freezes them and trains the text adapter.</summary>
    TwoStage,

    /// <summary>Stage 1 only; the text adapter keeps its initial weights (Table 1, "one-stage").</summary>
    OneStage,

    /// <summary>Both adapters and the cross-attention trained together, each side at its own learning rate (Table 3, "joint").</summary>
    Joint,
}
