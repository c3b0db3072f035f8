using Fsac.MLNet.Encoders;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.PixelFormats;
using TorchSharp;
using static TorchSharp.torch;

namespace Fsac.MLNet.Evaluation.Baselines;

/// <summary>
/// Few-shot nearest-neighbour baseline: the anomaly score of an image is 1 − the largest cosine similarity between
/// its feature and the normal shots' features (in [0, 2]). No training; works with any encoder.
/// </summary>
internal sealed class KnnBaseline : FeatureBaseline
{
    private KnnBaseline(IImageEncoder encoder, Tensor normalizedShots, int batchSize) : base(encoder, normalizedShots, batchSize)
    {
    }

    /// <summary>Encodes the normal shots (the encoder is borrowed, not owned).</summary>
    /// <exception cref="ArgumentException">No normal image was given.</exception>
    public static KnnBaseline Fit(IImageEncoder encoder, IReadOnlyList<Image<Rgb24>> normals, int batchSize = 16, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(encoder);
        ArgumentNullException.ThrowIfNull(normals);
        if (normals.Count == 0) throw new ArgumentException("at least one normal image is required", nameof(normals));
        using var scope = NewDisposeScope();
        var features = encoder.EncodeImages(normals, batchSize, cancellationToken);
        return new KnnBaseline(encoder, nn.functional.normalize(features, 2, 1).DetachFromDisposeScope(), batchSize);
    }

    /// <summary>1 − the largest cosine similarity of each feature row to the shots' features.</summary>
    private protected override Tensor ScoreFeatures(Tensor features, Tensor normalizedShots)
    {
        var nearest = nn.functional.normalize(features, 2, 1).matmul(normalizedShots.t()).amax([1]);
        return nearest.neg().add(1.0);
    }
}
