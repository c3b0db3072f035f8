using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Fsac.MLNet.Encoders.Clip;

/// <summary>Pre-norm transformer block: <c>x + attn(ln_1(x))</c>, then <c>x + mlp(ln_2(x))</c>.</summary>
internal sealed class ResidualAttentionBlock : nn.Module<Tensor, Tensor>
{
    /// <summary>Norm before attention.</summary>
    public readonly LayerNormFp32 ln_1;
    /// <summary>Self-attention.</summary>
    public readonly ClipAttention attn;
    /// <summary>Norm before the MLP.</summary>
    public readonly LayerNormFp32 ln_2;
    /// <summary>Feed-forward part.</summary>
    public readonly Mlp mlp;

    /// <summary>Creates one block.</summary>
    public ResidualAttentionBlock(int width, int heads, double mlpRatio, bool quickGelu, bool causal) : base(nameof(ResidualAttentionBlock))
    {
        ln_1 = new LayerNormFp32(width);
        attn = new ClipAttention(width, heads, causal);
        ln_2 = new LayerNormFp32(width);
        mlp = new Mlp(width, (int)(width * mlpRatio), quickGelu);
        RegisterComponents();
    }

    /// <inheritdoc />
    public override Tensor forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        var h = x + attn.forward(ln_1.forward(x));
        var y = h + mlp.forward(ln_2.forward(h));
        return y.MoveToOuterDisposeScope();
    }
}
