using SixLabors.ImageSharp;
using SixLabors.ImageSharp.PixelFormats;

namespace Fsac.MLNet.Classifiers;

/// <summary>An image-level anomaly scorer: CLIP-FSAC and its baselines share this shape so they can be evaluated alike.</summary>
public interface IImageScorer : IDisposable
{
    /// <summary>One anomaly score per image (higher is more anomalous); each score depends on its own image only.</summary>
    float[] Score(IReadOnlyList<Image<Rgb24>> images, CancellationToken cancellationToken = default);
}
