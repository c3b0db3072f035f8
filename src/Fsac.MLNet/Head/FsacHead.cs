using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Fsac.MLNet.Head;

/// <summary>
/// The trainable part of CLIP-FSAC on top of frozen encoders: the image adapter A_f (<c>image_adapter</c>), the
/// text adapter A_g (<c>text_adapter</c>) and the image-to-text cross-attention (<c>cross_attention</c>, absent
/// when <see cref="FsacOptions.UseCrossAttention"/> is false). Pure math: no encoders, no training loop.
/// Every image's output depends on that image's feature and the two anchors only.
/// </summary>
internal sealed class FsacHead : nn.Module
{
    private readonly ResidualAdapter image_adapter;
    private readonly ResidualAdapter text_adapter;
    private readonly ImageToTextAttention? cross_attention;

    /// <summary>
    /// Creates the head for features of width <paramref name="featureDim"/>. All weights are Xavier-normal with zero
    /// biases, drawn from a generator seeded with <see cref="FsacOptions.Seed"/> (image adapter, then text adapter,
    /// then cross-attention), so the same options give the same head bit for bit.
    /// </summary>
    public FsacHead(long featureDim, FsacOptions options) : base("fsac_head")
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentOutOfRangeException.ThrowIfLessThan(featureDim, 1);
        using var generator = new Generator(unchecked((ulong)options.Seed), CPU);
        image_adapter = new ResidualAdapter("image_adapter", featureDim, options.ImageAdapterBlocks, options.Alpha1, options.Alpha2, generator);
        text_adapter = new ResidualAdapter("text_adapter", featureDim, 1, options.Beta1, options.Beta2, generator);
        cross_attention = options.UseCrossAttention ? new ImageToTextAttention("cross_attention", featureDim, generator) : null;
        FeatureDim = featureDim;
        RegisterComponents();
    }

    /// <summary>Feature width C.</summary>
    public long FeatureDim { get; }

    /// <summary>The image adapter A_f, for the ONNX export.</summary>
    internal ResidualAdapter ImageAdapter => image_adapter;

    /// <summary>The image-to-text cross-attention, null without it; for the ONNX export.</summary>
    internal ImageToTextAttention? CrossAttention => cross_attention;

    /// <summary>Whether the head has the cross-attention module.</summary>
    public bool HasCrossAttention => cross_attention is not null;

    /// <summary>Parameters trained in stage 1: the image adapter and the cross-attention.</summary>
    public IReadOnlyList<Parameter> ImageSideParameters =>
        [.. image_adapter.parameters(), .. cross_attention?.parameters() ?? []];

    /// <summary>Parameters trained in stage 2: the text adapter.</summary>
    public IReadOnlyList<Parameter> TextSideParameters => [.. text_adapter.parameters()];

    /// <summary>Adapted anchors ψ = [AT⁺; AT⁻] <c>[2, C]</c> from raw anchors [T⁺; T⁻] <c>[2, C]</c> (Eq. 4).</summary>
    public Tensor AdaptText(Tensor anchors) => text_adapter.forward(anchors);

    /// <summary>
    /// Cross-modality fused features CF = AF + Atten <c>[N, C]</c> (Eq. 3, 5, 6) for image features <c>[N, C]</c>;
    /// without cross-attention CF = AF.
    /// </summary>
    public Tensor Fuse(Tensor features, Tensor psi)
    {
        using var adapted = AdaptImage(features);
        return Fuse(features, adapted, psi);
    }

    /// <summary>Adapted image features AF = α₁·A_f(F) + α₂·F <c>[N, C]</c> (Eq. 3) of image features <c>[N, C]</c>.</summary>
    public Tensor AdaptImage(Tensor features) => image_adapter.forward(features);

    /// <summary>
    /// CF = AF + Atten <c>[N, C]</c> as <see cref="Fuse(Tensor, Tensor)"/> computes it, given AF = <paramref name="adapted"/>
    /// (<see cref="AdaptImage"/> of <paramref name="features"/>), e.g. computed once while the image adapter is frozen.
    /// </summary>
    public Tensor Fuse(Tensor features, Tensor adapted, Tensor psi)
    {
        if (cross_attention is null) return adapted.alias();
        using var attention = cross_attention.forward(features, psi);
        return adapted.add(attention);
    }

    /// <summary>Logits <c>[N]</c> of the anomaly scores of features <c>[N, C]</c> (<see cref="AnomalyScorer.Logit"/>).</summary>
    public Tensor Logit(Tensor features, Tensor psi, double temperature)
    {
        using var fused = Fuse(features, psi);
        return AnomalyScorer.Logit(fused, psi, temperature);
    }

    /// <summary>Anomaly scores <c>[N]</c> of image features <c>[N, C]</c> (Eq. 10–12).</summary>
    public Tensor Score(Tensor features, Tensor psi, double temperature)
    {
        using var fused = Fuse(features, psi);
        return AnomalyScorer.Score(fused, psi, temperature);
    }
}
