using Fsac.MLNet.Encoders;
using Fsac.MLNet.Fitting;
using Fsac.MLNet.Head;
using TorchSharp;
using static TorchSharp.torch;

namespace Fsac.MLNet.Evaluation.Baselines;

/// <summary>
/// Zero-shot CLIP-AC with the compositional prompt ensemble (§3.1, Fig. 2a): the anomalous entry of
/// softmax(cos(F, [T⁺; T⁻]) / τ) on the raw image feature and raw anchors, reported as its logit
/// (<see cref="AnomalyScorer.Logit"/>), which orders images exactly as the softmax does without rounding to 0 or 1.
/// No normal images, no training; needs an encoder with a text tower.
/// </summary>
internal sealed class ZeroShotClassifier : FeatureBaseline
{
    private readonly FsacOptions options;

    private ZeroShotClassifier(IImageEncoder encoder, Tensor anchors, FsacOptions options) : base(encoder, anchors, options.InferenceBatchSize)
    {
        this.options = options;
    }

    /// <summary>
    /// Encodes the prompts of <see cref="FsacOptions.ClassName"/> (and the extra prompts) into T⁺/T⁻; τ is
    /// <see cref="FsacOptions.ScoreTemperature"/>. The encoder is borrowed, not owned.
    /// </summary>
    /// <exception cref="ArgumentException">The encoder has no text tower (does not implement <see cref="ITextEncoder"/>).</exception>
    public static ZeroShotClassifier Fit(IImageEncoder encoder, FsacOptions options)
    {
        ArgumentNullException.ThrowIfNull(encoder);
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        if (encoder is not ITextEncoder text)
            throw new ArgumentException($"Zero-shot classification needs a text tower; encoder '{encoder.Name}' has none.", nameof(encoder));
        var prompts = new PromptEnsemble(options.ClassName, options.ExtraNormalPrompts, options.ExtraAnomalousPrompts);
        using var scope = NewDisposeScope();
        var anchors = TextAnchors.FromPrompts(text, prompts, options.NormalizePromptsBeforeAveraging);
        return new ZeroShotClassifier(encoder, anchors.DetachFromDisposeScope(), options);
    }

    /// <summary>The zero-shot scores (the logit of S⁻/(S⁻+S⁺), continuous) of image features from the encoder.</summary>
    private protected override Tensor ScoreFeatures(Tensor features, Tensor anchors) =>
        AnomalyScorer.Logit(features, anchors, options.ScoreTemperature);
}
