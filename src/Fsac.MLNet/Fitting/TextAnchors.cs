using Fsac.MLNet.Encoders;
using Fsac.MLNet.Head;
using TorchSharp;
using static TorchSharp.torch;

namespace Fsac.MLNet.Fitting;

/// <summary>The raw class anchors [T⁺; T⁻] <c>[2, C]</c> that the text adapter adapts.</summary>
internal static class TextAnchors
{
    /// <summary>
    /// T⁺/T⁻ as the mean encoding of the normal/anomalous prompts (§3.4). By default the raw encodings are averaged
    /// (WinCLIP and the authors' choice); with <paramref name="normalizeBeforeAveraging"/> each is L2-normalised first.
    /// </summary>
    public static Tensor FromPrompts(ITextEncoder encoder, PromptEnsemble prompts, bool normalizeBeforeAveraging)
    {
        ArgumentNullException.ThrowIfNull(encoder);
        ArgumentNullException.ThrowIfNull(prompts);
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var normal = ClassMean(encoder.EncodeText(prompts.NormalPrompts), normalizeBeforeAveraging);
        var anomalous = ClassMean(encoder.EncodeText(prompts.AnomalousPrompts), normalizeBeforeAveraging);
        return stack([normal, anomalous], 0).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// Anchors for backbones without a text tower: T⁺ is the mean feature of the normal shots <c>[k, C]</c> and T⁻
    /// the mean feature of their synthetic anomalies <c>[n, C]</c>.
    /// </summary>
    public static Tensor FromPrototypes(Tensor normalFeatures, Tensor anomalyFeatures)
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        return stack([normalFeatures.mean([0]), anomalyFeatures.mean([0])], 0).MoveToOuterDisposeScope();
    }

    private static Tensor ClassMean(Tensor encoded, bool normalize)
        => (normalize ? nn.functional.normalize(encoded, 2, 1) : encoded).mean([0]);
}
