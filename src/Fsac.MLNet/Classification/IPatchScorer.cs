using Fsac.MLNet.Encoders;

namespace Fsac.MLNet.Classification;

/// <summary>
/// Scores patch features that the classifier's own frozen encoder has produced, so that an evaluation can encode
/// every test image once and reuse the features for many fitted models (the local counterpart of
/// <see cref="IFeatureScorer"/>).
/// </summary>
public interface IPatchScorer
{
    /// <summary>The input resolution the patches must be encoded at (<see cref="IImageEncoder.WithResolution"/>); null for the encoder's own.</summary>
    int? Resolution { get; }

    /// <summary>Image and patch scores of <paramref name="patches"/>, without gradients; the features are neither modified nor disposed.</summary>
    /// <exception cref="ArgumentException">The features do not have the encoder's patch width.</exception>
    PatchScores ScorePatches(PatchFeatures patches);
}
