using Fsac.MLNet.Metrics;

namespace Fsac.MLNet.Evaluation.Datasets;

/// <summary>One labelled image of a test set.</summary>
/// <param name="Path">Image file.</param>
/// <param name="IsAnomaly">True for a defective part.</param>
/// <param name="DefectType">Defect folder name (<c>good</c> for normal images, <c>anomaly</c> for the flat folder layout).</param>
/// <param name="MaskPath">
/// Ground-truth defect mask of an anomalous image (read with <see cref="AnomalyMasks.Load"/>), or null when the data
/// set has none for it. Normal images have no mask: every pixel is normal.
/// </param>
public sealed record LabelledImage(string Path, bool IsAnomaly, string DefectType, string? MaskPath = null);

/// <summary>
/// One category of an anomaly data set: the pool of normal images few-shot training draws from and the
/// labelled images it is evaluated on. For the plain folder layout the two pools are the same normal
/// folder; <see cref="FewShotSplit"/> keeps the drawn shots out of the test set.
/// </summary>
/// <param name="Name">Category name, e.g. <c>bottle</c> or <c>deeppcb/group12100</c>.</param>
/// <param name="NormalPool">Normal images shots are drawn from (sorted by path).</param>
/// <param name="Test">Labelled test images (sorted by path within each folder).</param>
public sealed record DatasetCategory(string Name, IReadOnlyList<string> NormalPool, IReadOnlyList<LabelledImage> Test)
{
    /// <summary>
    /// True when at least one anomalous test image has a <see cref="LabelledImage.MaskPath"/>, so pixel-level metrics
    /// (<see cref="PixelMetrics"/>) can be computed.
    /// </summary>
    public bool HasMasks => Test.Any(t => t.IsAnomaly && t.MaskPath is not null);
}
