using SixLabors.ImageSharp;
using SixLabors.ImageSharp.PixelFormats;

namespace Fsac.MLNet.Classifiers;

/// <summary>
/// A fitted few-shot anomaly classifier: scores images (higher = more anomalous; in [0, 1] or a distance, see
/// <see cref="ToProbability"/>) and decides
/// with a threshold chosen at fit time (scores come from <see cref="IImageScorer.Score"/>, each depending
/// only on its own image, thread-safe). The ML.NET transformer wraps one of these.
/// </summary>
public interface IAnomalyClassifier : IImageScorer
{
    /// <summary>Identity of the frozen backbone the model was fitted on (name and weights checksum).</summary>
    string BackboneName { get; }

    /// <summary>Decision threshold on <see cref="IImageScorer.Score"/>: a score at or above it is predicted anomalous.</summary>
    float Threshold { get; }

    /// <summary>
    /// Scores and, when <paramref name="withMaps"/>, anomaly maps (row-major at each image's own size, non-negative,
    /// higher where the evidence of a defect is) from one encoding pass where the method allows. Thread-safe.
    /// </summary>
    (float[] Scores, float[][] Maps) ScoreWithMaps(IReadOnlyList<Image<Rgb24>> images, bool withMaps, CancellationToken cancellationToken = default);

    /// <summary>
    /// The anomaly map of one image: the local evidence of patch methods, placed on the image; gradient saliency for
    /// methods that see only a pooled vector. Row-major at the image's own size, non-negative. Thread-safe.
    /// </summary>
    float[] AnomalyMap(Image<Rgb24> image, CancellationToken cancellationToken = default);

    /// <summary>
    /// Gradient saliency map of one image (|∂score/∂pixel| averaged over channels), row-major with the image's own
    /// width and height, non-negative. Thread-safe.
    /// </summary>
    float[] Saliency(Image<Rgb24> image, CancellationToken cancellationToken = default);

    /// <summary>
    /// The score as a number in [0, 1] for the <c>Probability</c> column, ordered like the scores (0.5 at the threshold
    /// for methods whose scores are distances). The default clamps, for methods whose scores are already in [0, 1].
    /// </summary>
    float ToProbability(float score) => Math.Clamp(score, 0f, 1f);

    /// <summary>Writes the model (not the backbone weights) to <paramref name="stream"/>.</summary>
    void Save(Stream stream);
}
