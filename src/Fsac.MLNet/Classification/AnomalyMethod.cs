namespace Fsac.MLNet.Classification;

/// <summary>The few-shot methods a <see cref="FewShotAnomalyClassifier"/> can fit.</summary>
public enum AnomalyMethod
{
    /// <summary>The method that scored best on real images (<see cref="DefaultMethod"/>).</summary>
    Default,

    /// <summary>Few-shot PatchCore with the settings of <see cref="AnomalyMethodOptions.PatchCore"/>.</summary>
    PatchCore,

    /// <summary>The paper's CLIP-FSAC on one pooled feature per image, with <see cref="AnomalyMethodOptions.Fsac"/> (<see cref="FsacClassifier"/>).</summary>
    Fsac,
}
