using TorchSharp;
using static TorchSharp.torch;

namespace Fsac.MLNet.Head;

/// <summary>
/// The fusion-text contrastive loss of CLIP-FSAC (Eq. 7–9). For a pair of a normal CF⁺ and its synthetic anomaly
/// CF⁻, with s the cosine similarity divided by a temperature t:
/// <code>
/// L_f2t = −log σ₊(s(CF⁺,AT⁺), s(CF⁺,AT⁻)) − log σ₊(s(CF⁻,AT⁻), s(CF⁻,AT⁺))
/// L_t2f = −log σ₊(s(CF⁺,AT⁺), s(CF⁻,AT⁺)) − log σ₊(s(CF⁻,AT⁻), s(CF⁺,AT⁻))
/// L_con = ½ (L_f2t + L_t2f)
/// </code>
/// where σ₊(u, v) = eᵘ / (eᵘ + eᵛ). The result is the mean of L_con over the pairs of the batch.
/// </summary>
internal static class FusionTextContrastiveLoss
{
    /// <summary>Computes the loss (a scalar tensor, differentiable).</summary>
    /// <param name="fusedNormal">CF⁺ of the normal images <c>[B, C]</c>.</param>
    /// <param name="fusedAnomalous">CF⁻ of their paired synthetic anomalies <c>[B, C]</c> (row i pairs with row i).</param>
    /// <param name="psi">Adapted anchors [AT⁺; AT⁻] <c>[2, C]</c>.</param>
    /// <param name="temperature">t; 1 reproduces Eq. 7–9 exactly.</param>
    public static Tensor Compute(Tensor fusedNormal, Tensor fusedAnomalous, Tensor psi, double temperature)
    {
        if (fusedNormal.shape.Length != 2 || !fusedNormal.shape.SequenceEqual(fusedAnomalous.shape))
            throw new ArgumentException($"Normal and anomalous features must both be [B, C]; got [{string.Join(", ", fusedNormal.shape)}] and [{string.Join(", ", fusedAnomalous.shape)}].");
        using var scope = NewDisposeScope();
        var normal = AnomalyScorer.CosineToAnchors(fusedNormal, psi).div(temperature);
        var anomalous = AnomalyScorer.CosineToAnchors(fusedAnomalous, psi).div(temperature);
        var a = normal.select(1, 0);     // s(CF⁺, AT⁺)
        var b = normal.select(1, 1);     // s(CF⁺, AT⁻)
        var d = anomalous.select(1, 0);  // s(CF⁻, AT⁺)
        var c = anomalous.select(1, 1);  // s(CF⁻, AT⁻)
        var fusionToText = LogSigma(a, b).add(LogSigma(c, d)).neg();
        var textToFusion = LogSigma(a, d).add(LogSigma(c, b)).neg();
        return fusionToText.add(textToFusion).mul(0.5).mean().MoveToOuterDisposeScope();
    }

    /// <summary>log(eᵘ / (eᵘ + eᵛ)), element-wise and numerically stable.</summary>
    private static Tensor LogSigma(Tensor u, Tensor v) => nn.functional.log_softmax(stack([u, v], 1), 1).select(1, 0);
}
