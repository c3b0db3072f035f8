namespace Fsac.MLNet.Evaluation.Datasets;

/// <summary>How an anomaly data set is laid out on disk.</summary>
public enum DatasetLayout
{
    /// <summary>MVTec AD: <c>&lt;cat&gt;/train/good</c>, <c>&lt;cat&gt;/test/good</c>, <c>&lt;cat&gt;/test/&lt;defect&gt;</c>, <c>&lt;cat&gt;/ground_truth</c>.</summary>
    MVTec,
    /// <summary>VisA after its 1-class split: <c>&lt;cat&gt;/train/good</c>, <c>&lt;cat&gt;/test/good</c>, <c>&lt;cat&gt;/test/bad</c>.</summary>
    VisA,
    /// <summary>Plain folders: <c>&lt;cat&gt;/normal</c> and <c>&lt;cat&gt;/anomaly</c>; categories may be nested.</summary>
    Folder,
}
