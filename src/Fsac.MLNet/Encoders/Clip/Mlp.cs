using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Fsac.MLNet.Encoders.Clip;

/// <summary>The transformer block's feed-forward part: <c>c_fc</c>, GELU or QuickGELU, <c>c_proj</c>.</summary>
internal sealed class Mlp : nn.Module<Tensor, Tensor>
{
    private readonly bool _quickGelu;

    /// <summary>Expansion layer.</summary>
    public readonly Linear c_fc;
    /// <summary>Projection back to the token width.</summary>
    public readonly Linear c_proj;

    /// <summary>Creates the MLP with a hidden width of <paramref name="hidden"/>.</summary>
    public Mlp(int width, int hidden, bool quickGelu) : base(nameof(Mlp))
    {
        _quickGelu = quickGelu;
        c_fc = nn.Linear(width, hidden);
        c_proj = nn.Linear(hidden, width);
        RegisterComponents();
    }

    /// <inheritdoc />
    public override Tensor forward(Tensor x)
    {
        using var h = c_fc.forward(x);
        using var a = _quickGelu ? QuickGelu(h) : nn.functional.gelu(h);
        return c_proj.forward(a);
    }

    // x * sigmoid(1.702 x), the activation of OpenAI's original CLIP weights.
    private static Tensor QuickGelu(Tensor x)
    {
        using var s = (x * 1.702).sigmoid_();
        return x * s;
    }
}
