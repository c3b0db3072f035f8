using Fsac.MLNet.Classifiers;
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
public sealed class KnnBaseline : IAnomalyClassifier, IFeatureScorer
{
    private readonly IImageEncoder encoder;
    private readonly Tensor normalizedShots;
    private readonly int batchSize;

    private KnnBaseline(IImageEncoder encoder, Tensor normalizedShots, int batchSize)
    {
        this.encoder = encoder;
        this.normalizedShots = normalizedShots;
        this.batchSize = batchSize;
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

    /// <inheritdoc />
    public float[] Score(IReadOnlyList<Image<Rgb24>> images, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(images);
        if (images.Count == 0) return [];
        using var scope = NewDisposeScope();
        return ScoreFeatures(encoder.EncodeImages(images, batchSize, cancellationToken));
    }

    /// <inheritdoc />
    public int FeatureDim => encoder.FeatureDim;

    /// <summary>1 − the largest cosine similarity of each feature row <c>[N, C]</c> to the shots' features, without gradients.</summary>
    /// <exception cref="ArgumentException">The features are not <c>[N, C]</c>.</exception>
    public float[] ScoreFeatures(Tensor features)
    {
        FeatureShape.Require(features, encoder.FeatureDim);
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var nearest = nn.functional.normalize(features, 2, 1).matmul(normalizedShots.t()).amax([1]);
        return nearest.neg().add(1.0).data<float>().ToArray();
    }

    /// <summary>Releases the cached shot features (not the encoder).</summary>
    public void Dispose() => normalizedShots.Dispose();
}
