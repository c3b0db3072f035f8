using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Fsac.MLNet.Head;

/// <summary>
/// Image-to-text cross-attention (Eq. 5): <c>Linear(Softmax(F·ψᵀ/√C)·ψ)</c>, where ψ = [AT⁺; AT⁻] holds the two
/// adapted text anchors. Each image attends to the two anchors only, so its output depends on that image alone
/// (never on the other images of a batch).
/// </summary>
internal sealed class ImageToTextAttention : nn.Module<Tensor, Tensor, Tensor>
{
    private readonly Linear proj;
    private readonly double scale;

    /// <summary>Creates the module with a Xavier-normal output layer drawn from <paramref name="generator"/>.</summary>
    /// <param name="name">Module name.</param>
    /// <param name="featureDim">Feature width C.</param>
    /// <param name="generator">Source of the initial weights.</param>
    public ImageToTextAttention(string name, long featureDim, Generator generator) : base(name)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(featureDim, 1);
        proj = SeededInit.XavierLinear(featureDim, featureDim, generator);
        scale = 1.0 / Math.Sqrt(featureDim);
        RegisterComponents();
    }

    /// <summary>The output layer, for the ONNX export.</summary>
    internal Linear Projection => proj;

    /// <summary>The logits' scale 1/√C.</summary>
    internal double Scale => scale;

    /// <summary>Visual-driven text features <c>[N, C]</c> for image features <c>[N, C]</c> and anchors ψ <c>[2, C]</c>.</summary>
    public override Tensor forward(Tensor features, Tensor psi)
    {
        using var psiT = psi.t();
        using var logits = features.matmul(psiT);
        using var scaled = logits.mul(scale);
        using var attention = scaled.softmax(-1);
        using var mixed = attention.matmul(psi);
        return proj.forward(mixed);
    }
}
