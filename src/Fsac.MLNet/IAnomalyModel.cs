using Fsac.MLNet.Classification;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.PixelFormats;

namespace Fsac.MLNet;

/// <summary>
/// A fitted few-shot anomaly classifier: scores images in [0, 1] (higher = more anomalous) and decides
/// with a threshold chosen at fit time (scores come from <see cref="IAnomalyClassifier.Score"/>, each depending
/// only on its own image, thread-safe). The ML.NET transformer wraps one of these.
/// </summary>
public interface IAnomalyModel : IAnomalyClassifier
{
    /// <summary>Identity of the frozen backbone the model was fitted on (name and weights checksum).</summary>
    string BackboneName { get; }

    /// <summary>Decision threshold on <see cref="IAnomalyClassifier.Score"/>: a score at or above it is predicted anomalous.</summary>
    float Threshold { get; }

    /// <summary>
    /// Saliency map of one image (|∂score/∂pixel| averaged over channels), row-major with the image's own
    /// width and height, non-negative. Thread-safe.
    /// </summary>
    float[] Saliency(Image<Rgb24> image, CancellationToken cancellationToken = default);

    /// <summary>Writes the model (not the backbone weights) to <paramref name="stream"/>.</summary>
    void Save(Stream stream);
}
