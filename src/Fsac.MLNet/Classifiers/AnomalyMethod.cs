namespace Fsac.MLNet.Classifiers;

/// <summary>The few-shot methods a <see cref="FewShotAnomalyClassifier"/> can fit.</summary>
public enum AnomalyMethod
{
    /// <summary>The method that scored best on real images (<see cref="DefaultMethod"/>).</summary>
    Default,

    /// <summary>Few-shot PatchCore with the settings of <see cref="AnomalyMethodOptions.PatchCore"/>.</summary>
    PatchCore,

    /// <summary>The paper's CLIP-FSAC on one pooled feature per image, with <see cref="AnomalyMethodOptions.Fsac"/> (<see cref="FsacClassifier"/>).</summary>
    Fsac,

    /// <summary>
    /// CLIP-FSAC with local evidence: the paper's head on the pooled feature fused with the same head trained on patches,
    /// where the synthetic anomalies' masks label the patches (<see cref="FsacPatchClassifier"/>, <see cref="FusedClassifier"/>).
    /// </summary>
    FsacLocal,

    /// <summary>The patch CLIP-FSAC head fused with the patch memory of <see cref="AnomalyMethodOptions.PatchCore"/>, as WinCLIP+ fuses text and memory.</summary>
    FsacPatchCore,

    /// <summary>WinCLIP+ for CLIP backbones: zero-shot class and window scores against the prompt ensemble plus a few-shot patch memory (<see cref="WinClipClassifier"/>).</summary>
    WinClipPlus,
}
