using Fsac.MLNet.Classifiers;
using Fsac.MLNet.Encoders;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.PixelFormats;
using static TorchSharp.torch;

namespace Fsac.MLNet.Evaluation.Baselines;

/// <summary>
/// The baselines' common part: the pooled features of a borrowed encoder, scored against one tensor the fit made
/// (<see cref="KnnBaseline"/>: the shots' features; <see cref="ZeroShotClassifier"/>: the prompt anchors).
/// </summary>
internal abstract class FeatureBaseline : IImageScorer, IFeatureScorer
{
    private readonly IImageEncoder encoder;
    private readonly Tensor fitted;
    private readonly int batchSize;

    private protected FeatureBaseline(IImageEncoder encoder, Tensor fitted, int batchSize)
    {
        this.encoder = encoder;
        this.fitted = fitted;
        this.batchSize = batchSize;
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

    /// <inheritdoc />
    public float[] ScoreFeatures(Tensor features)
    {
        FeatureShape.Require(features, encoder.FeatureDim);
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        return ScoreFeatures(features, fitted).data<float>().ToArray();
    }

    /// <summary>The scores <c>[N]</c> of checked features <c>[N, C]</c> against the fit's tensor, inside a dispose scope and without gradients.</summary>
    private protected abstract Tensor ScoreFeatures(Tensor features, Tensor fitted);

    /// <summary>Releases the fit's tensor (not the encoder).</summary>
    public void Dispose() => fitted.Dispose();
}
