using TorchSharp;
using static TorchSharp.torch;

namespace Fsac.MLNet.Head;

/// <summary>The anomaly score of CLIP-FSAC §3.5 (Eq. 10–12), computed row by row.</summary>
internal static class AnomalyScorer
{
    /// <summary>Cosine similarities <c>[N, 2]</c> of fused features <c>[N, C]</c> to the anchors ψ = [AT⁺; AT⁻] <c>[2, C]</c>.</summary>
    public static Tensor CosineToAnchors(Tensor fused, Tensor psi)
    {
        using var scope = NewDisposeScope();
        var f = nn.functional.normalize(fused, 2, 1);
        var t = nn.functional.normalize(psi, 2, 1);
        return f.matmul(t.t()).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// The logit of the anomaly score, (s(CF, AT⁻) − s(CF, AT⁺)) / τ <c>[N]</c>: AS = sigmoid(logit) exactly, since the
    /// softmax of two values is the sigmoid of their difference. Unlike AS it does not round to 0 or 1 in float32,
    /// so scores built on it stay continuous.
    /// </summary>
    public static Tensor Logit(Tensor fused, Tensor psi, double temperature)
    {
        using var scope = NewDisposeScope();
        var s = CosineToAnchors(fused, psi);
        return (s.select(1, 1) - s.select(1, 0)).div_(temperature).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// Anomaly scores <c>[N]</c> in [0, 1]: S⁺ and S⁻ are the softmax over s(CF, AT±)/τ (Eq. 10–11) and
    /// AS = S⁻ / (S⁻ + S⁺) (Eq. 12).
    /// </summary>
    /// <param name="fused">Cross-modality fused features CF <c>[N, C]</c>.</param>
    /// <param name="psi">Adapted anchors [AT⁺; AT⁻] <c>[2, C]</c>.</param>
    /// <param name="temperature">τ (0.07 in the paper).</param>
    public static Tensor Score(Tensor fused, Tensor psi, double temperature)
    {
        using var scope = NewDisposeScope();
        var s = CosineToAnchors(fused, psi).div(temperature).softmax(1);
        var sPositive = s.select(1, 0);
        var sNegative = s.select(1, 1);
        return sNegative.div(sNegative.add(sPositive)).MoveToOuterDisposeScope();
    }
}
