using Fsac.MLNet.Classifiers;
using Fsac.MLNet.PatchCore;

namespace Fsac.MLNet.Evaluation;

/// <summary>A method compared by <see cref="EvaluationRunner"/>; <see cref="EvaluationMethods"/> gives the names used on the command line and in results.</summary>
public enum EvaluationMethod
{
    /// <summary><c>default</c>: what <c>FewShotAnomaly(...)</c>, <c>fsac fit</c> and <c>FewShotAnomalyClassifier.Fit</c> use when no method is named (<see cref="Fsac.MLNet.Classifiers.DefaultMethod"/>).</summary>
    Default,

    /// <summary><c>patchcore</c>: few-shot PatchCore with its own defaults (<see cref="PatchCore.PatchCoreOptions"/>).</summary>
    PatchCore,

    /// <summary><c>fsac</c>: CLIP-FSAC, two-stage training (the paper's method).</summary>
    Fsac,

    /// <summary><c>fsac-onestage</c>: CLIP-FSAC with stage 1 only (Table 1, "one-stage").</summary>
    FsacOneStage,

    /// <summary><c>fsac-joint</c>: both adapters trained together (Table 3 ablation).</summary>
    FsacJoint,

    /// <summary><c>fsac-noca</c>: two-stage CLIP-FSAC without the image-to-text cross-attention (Table 4 ablation).</summary>
    FsacNoCrossAttention,

    /// <summary><c>fsac-local</c>: CLIP-FSAC with local evidence, its global head fused with a head trained on masked synthetic patches.</summary>
    FsacLocal,

    /// <summary><c>fsac+patchcore</c>: the patch CLIP-FSAC head fused with the patch memory.</summary>
    FsacPatchCore,

    /// <summary><c>winclip+</c>: WinCLIP+, zero-shot window scores plus a few-shot patch memory; needs a CLIP backbone.</summary>
    WinClipPlus,

    /// <summary><c>knn</c>: 1 − the best cosine similarity to the shots on the same frozen features.</summary>
    Knn,

    /// <summary><c>zeroshot</c>: CLIP-AC with the prompt ensemble; needs a backbone with a text tower.</summary>
    ZeroShot,
}
