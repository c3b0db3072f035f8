using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Fsac.MLNet.Encoders.Clip;

/// <summary>A stack of residual attention blocks (<c>resblocks.{i}</c>).</summary>
internal sealed class ClipTransformer : nn.Module<Tensor, Tensor>
{
    /// <summary>The blocks, applied in order.</summary>
    public readonly ModuleList<ResidualAttentionBlock> resblocks;

    /// <summary>Creates <paramref name="layers"/> blocks.</summary>
    public ClipTransformer(int width, int layers, int heads, double mlpRatio, bool quickGelu, bool causal) : base(nameof(ClipTransformer))
    {
        resblocks = nn.ModuleList(Enumerable.Range(0, layers)
            .Select(_ => new ResidualAttentionBlock(width, heads, mlpRatio, quickGelu, causal)).ToArray());
        RegisterComponents();
    }

    /// <inheritdoc />
    public override Tensor forward(Tensor x)
    {
        var h = x;
        foreach (var block in resblocks)
        {
            var next = block.forward(h);
            if (!ReferenceEquals(h, x)) h.Dispose();
            h = next;
        }
        return ReferenceEquals(h, x) ? x.alias() : h;
    }
}
