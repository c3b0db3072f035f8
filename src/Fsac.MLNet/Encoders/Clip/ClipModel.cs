using Fsac.MLNet.Checkpoints;
using Fsac.MLNet.Native;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Fsac.MLNet.Encoders.Clip;

/// <summary>
/// CLIP with OpenCLIP's module layout: the image tower under <c>visual</c>, the text tower's modules at the
/// top level (<c>token_embedding</c>, <c>positional_embedding</c>, <c>transformer</c>, <c>ln_final</c>,
/// <c>text_projection</c>) and <c>logit_scale</c>. Parameter names equal OpenCLIP's state-dict keys, so an
/// OpenCLIP checkpoint loads without any renaming. Features are returned unnormalised, as
/// <c>encode_image</c>/<c>encode_text</c> do.
/// </summary>
public sealed class ClipModel : nn.Module<Tensor, Tensor>
{
    /// <summary>The image tower.</summary>
    internal readonly VisionTransformer visual;
    /// <summary>Token embedding table [vocab, width].</summary>
    public readonly Embedding token_embedding;
    /// <summary>Learned positions [context, width].</summary>
    public readonly Parameter positional_embedding;
    /// <summary>The text blocks (causal).</summary>
    internal readonly ClipTransformer transformer;
    /// <summary>Final text norm.</summary>
    internal readonly LayerNormFp32 ln_final;
    /// <summary>Projection of the end-of-text token into the joint embedding, [width, embed_dim].</summary>
    public readonly Parameter text_projection;
    /// <summary>Log of the contrastive logit scale.</summary>
    public readonly Parameter logit_scale;

    /// <summary>The architecture.</summary>
    public ClipConfig Config { get; }

    /// <summary>The element type of the weights, except the LayerNorms' (see <see cref="ToDtype"/>).</summary>
    public ScalarType Dtype { get; private set; } = ScalarType.Float32;

    /// <summary>Creates a CLIP with zero-initialised weights; load a checkpoint with <see cref="LoadStateDict"/>.</summary>
    public ClipModel(ClipConfig config) : base(nameof(ClipModel))
    {
        TorchRuntime.EnsureLoaded();
        Config = config;
        var t = config.Text;
        visual = new VisionTransformer(config.Vision, config.EmbedDim, config.QuickGelu);
        token_embedding = nn.Embedding(t.VocabSize, t.Width);
        positional_embedding = nn.Parameter(zeros(t.ContextLength, t.Width));
        transformer = new ClipTransformer(t.Width, t.Layers, t.Heads, t.MlpRatio, config.QuickGelu, causal: true);
        ln_final = new LayerNormFp32(t.Width);
        text_projection = nn.Parameter(zeros(t.Width, config.EmbedDim));
        logit_scale = nn.Parameter(tensor(MathF.Log(1f / 0.07f)));
        RegisterComponents();
        eval();
    }

    /// <summary>Same as <see cref="EncodeImage"/>.</summary>
    public override Tensor forward(Tensor pixels) => EncodeImage(pixels);

    /// <summary>Image features <c>[N, E]</c> (float32, unnormalised) of preprocessed pixels <c>[N, 3, S, S]</c>.</summary>
    public Tensor EncodeImage(Tensor pixels) => visual.forward(pixels);

    /// <summary>Text features <c>[M, E]</c> (float32, unnormalised) of token ids <c>[M, context]</c> (int64).</summary>
    /// <remarks>
    /// The mask is causal and the feature is read at the end-of-text token, so positions after a text's end-of-text
    /// token cannot change its result. They are not computed: texts whose end-of-text tokens sit at the same position
    /// run together, cut after it (prompts are far shorter than 77 tokens, and of many lengths).
    /// </remarks>
    public Tensor EncodeText(Tensor tokens) => EncodeText(tokens, EncodeEndingTexts);

    /// <summary>
    /// Text features <c>[M, E]</c> of token ids <c>[M, context]</c>, as <see cref="EncodeText(Tensor)"/> groups them:
    /// <paramref name="encodeGroup"/> turns the ids of one group, contiguous int64 <c>[m, L]</c> with every end-of-text
    /// token at position L − 1, into float32 features <c>[m, E]</c>.
    /// </summary>
    internal Tensor EncodeText(Tensor tokens, Func<Tensor, Tensor> encodeGroup)
    {
        ArgumentNullException.ThrowIfNull(tokens);
        using var scope = NewDisposeScope();
        // Pool at the end-of-text token: it has the largest id in CLIP's vocabulary.
        var ends = tokens.argmax(-1).data<long>().ToArray();
        var features = empty(tokens.shape[0], text_projection.shape[1], ScalarType.Float32);
        foreach (var group in Enumerable.Range(0, ends.Length).GroupBy(i => ends[i]).OrderBy(g => g.Key))
        {
            using var step = NewDisposeScope();
            var rows = tensor(group.Select(i => (long)i).ToArray());
            features.index_copy_(0, rows, encodeGroup(tokens.index_select(0, rows).narrow(1, 0, group.Key + 1).contiguous()));
        }
        return features.MoveToOuterDisposeScope();
    }

    // One group of EncodeText on TorchSharp: every text's end-of-text token is the last one.
    private Tensor EncodeEndingTexts(Tensor tokens)
    {
        long length = tokens.shape[1];
        var x = token_embedding.forward(tokens) + positional_embedding.narrow(0, 0, length);
        x = ln_final.forward(transformer.forward(x).select(1, length - 1));
        return x.matmul(text_projection).to_type(ScalarType.Float32);
    }

    /// <summary>
    /// Converts weights to <paramref name="dtype"/> (float32 or bfloat16). In bfloat16 every LayerNorm keeps float32
    /// weights and computes in float32; matmuls and convolutions run in bfloat16.
    /// </summary>
    /// <exception cref="ArgumentException">The type is neither float32 nor bfloat16.</exception>
    public ClipModel ToDtype(ScalarType dtype)
    {
        if (dtype is not (ScalarType.Float32 or ScalarType.BFloat16))
            throw new ArgumentException($"CLIP runs in float32 or bfloat16, not {dtype}.", nameof(dtype));
        this.to(dtype);
        foreach (var (_, m) in named_modules())
            if (m is LayerNormFp32 ln) ln.to(ScalarType.Float32);
        Dtype = dtype;
        return this;
    }

    /// <summary>Names and shapes of every tensor a checkpoint must provide.</summary>
    public IReadOnlyDictionary<string, long[]> ExpectedShapes()
        => named_parameters().ToDictionary(p => p.name, p => p.parameter.shape);

    /// <summary>
    /// Copies a state dict (OpenCLIP names) into the model, converting element types as needed.
    /// </summary>
    /// <exception cref="CheckpointMismatchException">Tensors are missing, unexpected or wrongly shaped; all are listed.</exception>
    public void LoadStateDict(IReadOnlyDictionary<string, TensorData> stateDict, string source)
    {
        StateDictValidator.Validate(ExpectedShapes(), stateDict, source);
        using var _ = no_grad();
        foreach (var (name, p) in named_parameters())
        {
            using var t = stateDict[name].ToTensor();
            p.copy_(t);
        }
    }
}
