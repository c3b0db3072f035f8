using Fsac.MLNet.Encoders;
using TorchSharp;

namespace Fsac.MLNet.Classifiers;

/// <summary>
/// Scores features that the classifier's own frozen encoder has already produced, so that an evaluation can encode
/// every test image once and reuse the features for many fitted models. For an image,
/// <c>ScoreFeatures(encoder.EncodeImages([image]))</c> equals <see cref="IImageScorer.Score"/> of that image up
/// to float rounding.
/// </summary>
internal interface IFeatureScorer
{
    /// <summary>Width C of the features <see cref="ScoreFeatures"/> expects (the encoder's <c>FeatureDim</c>).</summary>
    int FeatureDim { get; }

    /// <summary>
    /// One anomaly score per row of <paramref name="features"/> <c>[N, C]</c> (unnormalised encoder output, float32),
    /// higher is more anomalous; computed without gradients. The tensor is neither modified nor disposed.
    /// </summary>
    /// <exception cref="ArgumentException">The features are not <c>[N, C]</c>.</exception>
    float[] ScoreFeatures(torch.Tensor features);
}
