using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Fsac.MLNet.Clip;

/// <summary>
/// CLIP's image tower (OpenCLIP <c>VisionTransformer</c>): patch convolution without bias, class token,
/// positional embedding, <c>ln_pre</c>, transformer, <c>ln_post</c> on the class token, projection <c>proj</c>.
/// </summary>
public sealed class VisionTransformer : nn.Module<Tensor, Tensor>
{
    /// <summary>Patch embedding, stride = kernel = patch size.</summary>
    public readonly Conv2d conv1;
    /// <summary>The class token.</summary>
    public readonly Parameter class_embedding;
    /// <summary>Learned positions for the class token and every patch.</summary>
    public readonly Parameter positional_embedding;
    /// <summary>Norm before the transformer.</summary>
    public readonly LayerNorm ln_pre;
    /// <summary>The blocks.</summary>
    public readonly Transformer transformer;
    /// <summary>Norm of the pooled class token.</summary>
    public readonly LayerNorm ln_post;
    /// <summary>Projection into the joint embedding, [width, embed_dim].</summary>
    public readonly Parameter proj;

    /// <summary>Creates the tower for <paramref name="cfg"/>.</summary>
    public VisionTransformer(ClipVisionConfig cfg, int embedDim, bool quickGelu) : base(nameof(VisionTransformer))
    {
        conv1 = nn.Conv2d(3, cfg.Width, cfg.PatchSize, stride: cfg.PatchSize, bias: false);
        class_embedding = nn.Parameter(zeros(cfg.Width));
        positional_embedding = nn.Parameter(zeros(cfg.GridSize * cfg.GridSize + 1, cfg.Width));
        ln_pre = new LayerNorm(cfg.Width);
        transformer = new Transformer(cfg.Width, cfg.Layers, cfg.Heads, cfg.MlpRatio, quickGelu, causal: false);
        ln_post = new LayerNorm(cfg.Width);
        proj = nn.Parameter(zeros(cfg.Width, embedDim));
        RegisterComponents();
    }

    /// <summary>Encodes pixels <c>[N, 3, S, S]</c> (float32, normalised) into projected class tokens <c>[N, E]</c>.</summary>
    public override Tensor forward(Tensor pixels)
    {
        using var scope = NewDisposeScope();
        var dtype = conv1.weight!.dtype;
        var x = conv1.forward(pixels.to_type(dtype));                 // [N, W, G, G]
        long n = x.shape[0], w = x.shape[1];
        x = x.reshape(n, w, -1).permute(0, 2, 1);                       // [N, G*G, W]
        var cls = class_embedding.view(1, 1, w).expand(n, 1, w);
        x = cat([cls, x], 1) + positional_embedding;
        x = ln_pre.forward(x);
        x = transformer.forward(x);
        var pooled = ln_post.forward(x.select(1, 0));                   // class token
        return pooled.matmul(proj).to_type(ScalarType.Float32).MoveToOuterDisposeScope();
    }
}
