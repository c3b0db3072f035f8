using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Fsac.MLNet.Encoders.Clip;

/// <summary>
/// CLIP's image tower (OpenCLIP <c>VisionTransformer</c>): patch convolution without bias, class token,
/// positional embedding, <c>ln_pre</c>, transformer, <c>ln_post</c> on the class token, projection <c>proj</c>.
/// </summary>
internal sealed class VisionTransformer : nn.Module<Tensor, Tensor>
{
    /// <summary>Patch embedding, stride = kernel = patch size.</summary>
    public readonly Conv2d conv1;
    /// <summary>The class token.</summary>
    public readonly Parameter class_embedding;
    /// <summary>Learned positions for the class token and every patch.</summary>
    public readonly Parameter positional_embedding;
    /// <summary>Norm before the transformer.</summary>
    public readonly LayerNormFp32 ln_pre;
    /// <summary>The blocks.</summary>
    public readonly ClipTransformer transformer;
    /// <summary>Norm of the pooled class token.</summary>
    public readonly LayerNormFp32 ln_post;
    /// <summary>Projection into the joint embedding, [width, embed_dim].</summary>
    public readonly Parameter proj;

    /// <summary>Creates the tower for <paramref name="cfg"/>.</summary>
    public VisionTransformer(ClipVisionConfig cfg, int embedDim, bool quickGelu) : base(nameof(VisionTransformer))
    {
        conv1 = nn.Conv2d(3, cfg.Width, cfg.PatchSize, stride: cfg.PatchSize, bias: false);
        class_embedding = nn.Parameter(zeros(cfg.Width));
        positional_embedding = nn.Parameter(zeros(cfg.GridSize * cfg.GridSize + 1, cfg.Width));
        ln_pre = new LayerNormFp32(cfg.Width);
        transformer = new ClipTransformer(cfg.Width, cfg.Layers, cfg.Heads, cfg.MlpRatio, quickGelu, causal: false);
        ln_post = new LayerNormFp32(cfg.Width);
        proj = nn.Parameter(zeros(cfg.Width, embedDim));
        RegisterComponents();
    }

    /// <summary>Encodes pixels <c>[N, 3, S, S]</c> (float32, normalised) into projected class tokens <c>[N, E]</c>.</summary>
    public override Tensor forward(Tensor pixels) => Tokens(pixels, pooled: true, patches: false, projectPatches: false).Pooled!;

    /// <summary>
    /// One pass over pixels <c>[N, 3, S, S]</c>: the projected class token <c>[N, E]</c> (as <see cref="forward"/>),
    /// and/or the patch tokens after <c>ln_post</c> without the class token <c>[N, P, W]</c> (OpenCLIP's
    /// <c>output_tokens=True</c>), multiplied by <c>proj</c> into the joint image-text space <c>[N, P, E]</c> when
    /// <paramref name="projectPatches"/> is set, and the residual stream after the blocks <paramref name="hiddenLayers"/>
    /// (1-based, class token first, <c>[N, 1 + P, W]</c> each, in block order whatever order they are given in). All float32.
    /// </summary>
    public (Tensor? Pooled, Tensor? Patches, IReadOnlyList<Tensor> Hidden) Tokens(Tensor pixels, bool pooled, bool patches, bool projectPatches,
        IReadOnlyCollection<int>? hiddenLayers = null)
    {
        using var scope = NewDisposeScope();
        var dtype = conv1.weight!.dtype;
        var x = conv1.forward(pixels.to_type(dtype));                 // [N, W, G, G]
        long n = x.shape[0], w = x.shape[1];
        x = x.reshape(n, w, -1).permute(0, 2, 1);                       // [N, G*G, W]
        var cls = class_embedding.view(1, 1, w).expand(n, 1, w);
        x = cat([cls, x], 1) + positional_embedding;
        x = ln_pre.forward(x);
        var hidden = new List<Tensor>();
        if (hiddenLayers is { Count: > 0 })
        {
            foreach (var layer in hiddenLayers)
                if (layer < 1 || layer > transformer.resblocks.Count)
                    throw new ArgumentOutOfRangeException(nameof(hiddenLayers), layer, $"Layers are numbered 1 to {transformer.resblocks.Count}.");
            for (int i = 0; i < transformer.resblocks.Count; i++)
            {
                x = transformer.resblocks[i].forward(x);
                if (hiddenLayers.Contains(i + 1)) hidden.Add(x.to_type(ScalarType.Float32).MoveToOuterDisposeScope());
            }
        }
        else
        {
            x = transformer.forward(x);
        }
        Tensor? pooledOut = null, patchesOut = null;
        if (pooled) pooledOut = ln_post.forward(x.select(1, 0)).matmul(proj).to_type(ScalarType.Float32).MoveToOuterDisposeScope();
        if (patches)
        {
            var tokens = ln_post.forward(x.narrow(1, 1, x.shape[1] - 1));
            if (projectPatches) tokens = tokens.matmul(proj);
            patchesOut = tokens.to_type(ScalarType.Float32).MoveToOuterDisposeScope();
        }
        return (pooledOut, patchesOut, hidden);
    }
}
