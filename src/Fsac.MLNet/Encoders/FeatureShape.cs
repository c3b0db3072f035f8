using Fsac.MLNet.Classifiers;
using TorchSharp;

namespace Fsac.MLNet.Encoders;

/// <summary>Argument check shared by the <see cref="IFeatureScorer"/> implementations.</summary>
internal static class FeatureShape
{
    /// <summary>Throws unless <paramref name="features"/> is <c>[N, featureDim]</c>.</summary>
    public static void Require(torch.Tensor features, long featureDim)
    {
        ArgumentNullException.ThrowIfNull(features);
        if (features.ndim != 2 || features.shape[1] != featureDim)
            throw new ArgumentException(
                $"Features must be [N, {featureDim}]; got [{string.Join(", ", features.shape)}].", nameof(features));
    }
}
