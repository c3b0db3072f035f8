using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Fsac.MLNet.Encoders.Clip;

/// <summary>
/// Multi-head self-attention with PyTorch's <c>nn.MultiheadAttention</c> parameter layout
/// (<c>in_proj_weight</c> [3W, W], <c>in_proj_bias</c> [3W], <c>out_proj</c>), batch-first input [N, L, W].
/// </summary>
internal sealed class ClipAttention : nn.Module<Tensor, Tensor>
{
    private readonly int _heads;
    private readonly bool _causal;

    /// <summary>Stacked query, key and value projection weights.</summary>
    public readonly Parameter in_proj_weight;
    /// <summary>Stacked query, key and value projection biases.</summary>
    public readonly Parameter in_proj_bias;
    /// <summary>Output projection.</summary>
    public readonly Linear out_proj;

    /// <summary>Creates the attention layer; <paramref name="causal"/> masks future tokens (text tower).</summary>
    public ClipAttention(int width, int heads, bool causal) : base(nameof(ClipAttention))
    {
        _heads = heads;
        _causal = causal;
        in_proj_weight = nn.Parameter(zeros(3 * width, width));
        in_proj_bias = nn.Parameter(zeros(3 * width));
        out_proj = nn.Linear(width, width);
        RegisterComponents();
    }

    /// <inheritdoc />
    public override Tensor forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        long n = x.shape[0], l = x.shape[1], w = x.shape[2];
        var qkv = nn.functional.linear(x, in_proj_weight, in_proj_bias)
            .view(n, l, 3, _heads, w / _heads)
            .permute(2, 0, 3, 1, 4);
        var attended = nn.functional.scaled_dot_product_attention(qkv[0], qkv[1], qkv[2], is_casual: _causal);
        var merged = attended.transpose(1, 2).reshape(n, l, w);
        return out_proj.forward(merged).MoveToOuterDisposeScope();
    }
}
