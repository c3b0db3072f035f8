using Fsac.MLNet.Encoders;
using TorchSharp;

namespace Fsac.MLNet.Classifiers;

/// <summary>
/// Scores features that the classifier's own frozen encoder has already produced, so that an evaluation can encode
/// every test image once and reuse the features for many fitted models. The local counterpart of
/// <see cref="IFeatureScorer"/>: it may read the pooled features, the patch grids or both (<see cref="Needs"/>).
/// </summary>
internal interface IEncodedScorer
{
    /// <summary>The input resolution the patches must be encoded at (<see cref="IImageEncoder.WithResolution"/>); null for the encoder's own.</summary>
    int? Resolution { get; }

    /// <summary>The features <see cref="ScoreEncoded"/> reads.</summary>
    EncoderOutputs Needs { get; }

    /// <summary>
    /// Image scores and per-image patch scores (row-major over each grid; the local evidence behind the maps) of
    /// pooled features <c>[N, D]</c> and/or patch features of the same N images, as <see cref="Needs"/> says, without
    /// gradients. Neither argument is modified or disposed.
    /// </summary>
    /// <exception cref="ArgumentException">A needed argument is missing or has the wrong width.</exception>
    PatchScores ScoreEncoded(torch.Tensor? global, PatchFeatures? patches);
}
