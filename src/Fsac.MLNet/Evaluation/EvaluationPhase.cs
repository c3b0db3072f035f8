namespace Fsac.MLNet.Evaluation;

/// <summary>What an <see cref="EvaluationProgress"/> report is about.</summary>
public enum EvaluationPhase
{
    /// <summary>A category's test images are being loaded and encoded; Done/Total count images.</summary>
    Encoding,

    /// <summary>A CLIP-FSAC fit is training; Done/Total count epochs over all its stages.</summary>
    Training,

    /// <summary>A run finished; the report carries its <see cref="EvaluationRecord"/>.</summary>
    RunCompleted,

    /// <summary>Saliency maps of the worst cases are being computed; Done/Total count images.</summary>
    Saliency,

    /// <summary>A remark for the reader (Detail), e.g. a skipped method.</summary>
    Note,
}
