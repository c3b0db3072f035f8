using Fsac.MLNet.Checkpoints.Onnx;
using Fsac.MLNet.Encoders.Clip;
using Fsac.MLNet.Imaging;
using Google.Protobuf;
using static Fsac.MLNet.Encoders.Onnx.OnnxAttributes;
using System.Globalization;
using System.Reflection;
using System.Runtime.InteropServices;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Fsac.MLNet.Encoders.Onnx;

/// <summary>
/// Writes CLIP's image tower (<see cref="VisionTransformer"/>) as one self-contained ONNX graph (opset 17, float32),
/// op for op as <see cref="VisionTransformer.Tokens"/> computes it: the bias-free patch convolution, the class token
/// before the patches, the positional embedding, <c>ln_pre</c>, every residual block (<c>ln_1</c>, multi-head
/// self-attention with PyTorch's stacked <c>in_proj</c> and <c>out_proj</c>, softmax(q·kᵀ/√d)·v; <c>ln_2</c>, the MLP
/// with exact erf GELU or QuickGELU), <c>ln_post</c> and the projection <c>proj</c>.
/// </summary>
/// <remarks>
/// <para>Input <see cref="PixelsInput"/>: float32 <c>[N, 3, S, S]</c>, CLIP-preprocessed (normalised) pixels, the tensor
/// <see cref="ClipModel.EncodeImage"/> takes; S is the config's image size (the positional embedding fixes it).</para>
/// <para>Outputs: <see cref="ImageEmbedsOutput"/> <c>[N, E]</c>, the projected class token
/// (<see cref="ClipModel.EncodeImage"/>); <see cref="PatchTokensOutput"/> <c>[N, P, E]</c>, the patch tokens after
/// <c>ln_post</c> times <c>proj</c>, class token excluded, P = (S / patch)² in row-major grid order (the tokens
/// <see cref="Encoders.ClipEncoder.Encode"/> and WinCLIP use); and for each requested block i (1-based)
/// <see cref="HiddenOutput"/>(i) <c>[N, 1 + P, W]</c>, the residual stream after that block, class token first.</para>
/// <para>The weights are initializers named as the state dict's keys; the linear layers' weights are stored
/// transposed, <c>[in, out]</c>, under the key with <c>.T</c> appended. Each weight is copied once, into the model;
/// serialising the model copies it again. Protobuf caps a serialised model at 2 GiB, so towers with more than
/// <see cref="MaxWeightBytes"/> bytes of float32 weights are refused (ViT-B-16-plus-240's take 0.47 GB, ViT-L-14's 1.2 GB).
/// The float32 engine's graph (<see cref="EncoderModel"/>) holds no weights: they are graph inputs of the same names,
/// bound to the tower's own tensors at every run, and it multiplies by the linear weights as they lie,
/// <c>[out, in]</c>, with ONNX Runtime's <c>FusedMatMul</c> (<c>transB</c>), so it runs on ONNX Runtime only.</para>
/// </remarks>
internal static class ClipOnnxGraph
{
    /// <summary>The input: preprocessed pixels, float32 <c>[N, 3, S, S]</c>.</summary>
    public const string PixelsInput = "pixels";

    /// <summary>The projected class tokens, float32 <c>[N, E]</c>.</summary>
    public const string ImageEmbedsOutput = "image_embeds";

    /// <summary>The projected patch tokens after <c>ln_post</c>, float32 <c>[N, P, E]</c>.</summary>
    public const string PatchTokensOutput = "patch_tokens";

    /// <summary>
    /// The most float32 weight bytes a graph may hold: protobuf's 2 GiB limit on a serialised message, less 1 MiB
    /// for the nodes and the rest of the model (a few hundred bytes per node).
    /// </summary>
    public const long MaxWeightBytes = int.MaxValue - (1L << 20);

    // Every LayerNormFp32 of the CLIP port uses its default epsilon, OpenCLIP's.
    private const float LayerNormEpsilon = 1e-5f;

    /// <summary>The output holding the residual stream after block <paramref name="layer"/> (1-based), float32 <c>[N, 1 + P, W]</c>.</summary>
    public static string HiddenOutput(int layer) => $"hidden_{layer}";

    /// <summary>
    /// The engine's ONNX model of the image tower of <paramref name="model"/> (<see cref="Build(ClipModel, IReadOnlyCollection{int}?)"/>,
    /// no hidden outputs): in float32 with the weights as inputs bound to the tower's tensors
    /// (<see cref="WeightPlacement.Bound"/>), or dynamically quantized to int8 (<see cref="OnnxQuantization"/>, weight
    /// levels up to <paramref name="int8Range"/>, held in the model) when <paramref name="int8Range"/> is given. The
    /// message is dropped once serialized.
    /// </summary>
    /// <inheritdoc cref="Build(VisionTransformer, ClipVisionConfig, bool, IReadOnlyCollection{int}?)" path="/exception"/>
    public static OnnxEngineModel EncoderModel(ClipModel model, int? int8Range = null)
    {
        if (int8Range is { } range)
        {
            var quantized = Build(model);
            OnnxQuantization.Quantize(quantized, range);
            return new OnnxEngineModel(quantized.ToByteArray(), []);
        }
        using var g = new OnnxGraphBuilder(GraphName, weights: WeightPlacement.Bound);
        var bytes = Build(g, model.visual, model.Config.Vision, model.Config.QuickGelu, null).ToByteArray();
        return new OnnxEngineModel(bytes, g.TakeBoundWeights());
    }

    /// <summary>The text graph's input: token ids, int64 <c>[N, L]</c>, each text's end-of-text token in the last position.</summary>
    public const string TokensInput = "tokens";

    /// <summary>The text graph's output: the projected end-of-text features, float32 <c>[N, E]</c>.</summary>
    public const string TextEmbedsOutput = "text_embeds";

    /// <summary>
    /// The engine's ONNX model of the text tower of <paramref name="model"/>, op for op as <see cref="ClipModel.EncodeText(torch.Tensor)"/>
    /// computes one group of texts cut after their end-of-text token: the token embedding, the positions, the causal
    /// blocks, <c>ln_final</c> and <c>text_projection</c> on the last token. Float32, the weights bound as inputs
    /// (<see cref="WeightPlacement.Bound"/>, the state dict's names); inputs <see cref="TokensInput"/>, output
    /// <see cref="TextEmbedsOutput"/>.
    /// </summary>
    /// <exception cref="ArgumentException">The weights' shapes do not fit the model's text config.</exception>
    public static OnnxEngineModel TextEncoderModel(ClipModel model)
    {
        ArgumentNullException.ThrowIfNull(model);
        var t = model.Config.Text;
        if (t.Width % t.Heads != 0) throw new ArgumentException($"The text width {t.Width} is not a multiple of its {t.Heads} heads.", nameof(model));
        CheckShape(model.token_embedding.weight!, "token_embedding.weight", t.VocabSize, t.Width);
        CheckShape(model.positional_embedding, "positional_embedding", t.ContextLength, t.Width);
        CheckShape(model.text_projection, "text_projection", t.Width, model.Config.EmbedDim);
        if (model.transformer.resblocks.Count != t.Layers)
            throw new ArgumentException($"The text tower has {model.transformer.resblocks.Count} blocks but the config {t.Layers}.", nameof(model));

        using var g = new OnnxGraphBuilder("fsac_clip_text", weights: WeightPlacement.Bound);
        g.Input(TokensInput, TensorProto.Types.DataType.Int64, OnnxGraphBuilder.Batch, OnnxGraphBuilder.Length);
        var embeds = g.Node("Gather", "token_embeds", [Weight(g, "token_embedding.weight", model.token_embedding.weight!), TokensInput], Int("axis", 0));
        var length = g.Node("Slice", "tokens.length",
            [g.Node("Shape", "tokens.shape", [TokensInput]), g.Initializer("tokens.length.start", [1L], 1), g.Initializer("tokens.length.end", [2L], 1)]);
        var positions = g.Node("Slice", "positions", [Weight(g, "positional_embedding", model.positional_embedding), g.Initializer("positions.start", [0L], 1), length]);
        var x = g.Node("Add", "tokens.positioned", [embeds, positions]);

        // The causal mask [L, L]: −∞ above the diagonal, 0 on and below it.
        var square = g.Node("Concat", "causal_mask.shape", [length, length], Int("axis", 0));
        var filled = g.Node("Expand", "causal_mask.filled", [g.Initializer("causal_mask.fill", [float.NegativeInfinity]), square]);
        var mask = g.Node("Trilu", "causal_mask", [filled, g.Initializer("causal_mask.diagonal", [1L])], Int("upper", 1));

        var shared = new SharedConstants(g, t.Width, t.Heads, t.Width / t.Heads, model.Config.QuickGelu);
        for (int i = 0; i < t.Layers; i++)
            x = Block(g, model.transformer.resblocks[i], x, $"transformer.resblocks.{i}", shared, mask);

        // ln_final acts on each token alone: on the end-of-text tokens only, then the projection.
        var last = g.Node("Squeeze", "end_of_text",
            [g.Node("Slice", "end_of_text.sliced", [x, g.Initializer("end_of_text.start", [-1L], 1), g.Initializer("end_of_text.end", [long.MaxValue], 1),
                g.Initializer("end_of_text.axis", [1L], 1)]), g.Initializer("end_of_text.squeezed", [1L], 1)]);
        var projected = g.Node("MatMul", "text_projection.matmul", [LayerNorm(g, model.ln_final, last, "ln_final"), Weight(g, "text_projection", model.text_projection)]);
        g.Output(TextEmbedsOutput, projected, TensorProto.Types.DataType.Float, OnnxGraphBuilder.Batch, model.Config.EmbedDim);
        var bytes = g.Build("Fsac.MLNet", "", $"CLIP text tower: {TokensInput} to {TextEmbedsOutput}.", new Dictionary<string, string>()).ToByteArray();
        return new OnnxEngineModel(bytes, g.TakeBoundWeights());
    }

    /// <summary>The image tower of <paramref name="model"/>, with the residual stream after the blocks <paramref name="hiddenLayers"/> (1-based) as extra outputs.</summary>
    /// <inheritdoc cref="Build(VisionTransformer, ClipVisionConfig, bool, IReadOnlyCollection{int}?)" path="/exception"/>
    public static ModelProto Build(ClipModel model, IReadOnlyCollection<int>? hiddenLayers = null)
        => Build(model.visual, model.Config.Vision, model.Config.QuickGelu, hiddenLayers);

    /// <summary>
    /// The image tower <paramref name="visual"/> of architecture <paramref name="config"/> (QuickGELU when
    /// <paramref name="quickGelu"/>, else exact GELU), with the residual stream after the blocks
    /// <paramref name="hiddenLayers"/> (1-based, any order) as extra outputs in block order. The weights do not record the
    /// head count or the activation, so <paramref name="config"/> and <paramref name="quickGelu"/> must be the ones the
    /// tower was created with. Weights of another element type are written as float32.
    /// </summary>
    /// <exception cref="ArgumentException">The weights' shapes do not fit <paramref name="config"/>.</exception>
    /// <exception cref="ArgumentOutOfRangeException">A hidden layer is not between 1 and the number of blocks.</exception>
    /// <exception cref="NotSupportedException">The weights take more than <see cref="MaxWeightBytes"/> bytes in float32.</exception>
    public static ModelProto Build(VisionTransformer visual, ClipVisionConfig config, bool quickGelu, IReadOnlyCollection<int>? hiddenLayers = null)
        => Build(new OnnxGraphBuilder(GraphName), visual, config, quickGelu, hiddenLayers);

    private const string GraphName = "fsac_clip_visual";

    private static ModelProto Build(OnnxGraphBuilder g, VisionTransformer visual, ClipVisionConfig config, bool quickGelu, IReadOnlyCollection<int>? hiddenLayers)
    {
        ArgumentNullException.ThrowIfNull(config);
        int size = config.ImageSize;
        g.Input(PixelsInput, TensorProto.Types.DataType.Float, OnnxGraphBuilder.Batch, 3, size, size);
        var tower = AddTower(g, visual, config, quickGelu, PixelsInput, hiddenLayers);
        long tokens = (long)config.GridSize * config.GridSize + 1, embed = visual.proj.shape[^1];
        foreach (var (layer, value) in tower.Hidden)
            g.Output(HiddenOutput(layer), value, TensorProto.Types.DataType.Float, OnnxGraphBuilder.Batch, tokens, config.Width);
        g.Output(ImageEmbedsOutput, tower.ImageEmbeds, TensorProto.Types.DataType.Float, OnnxGraphBuilder.Batch, embed);
        g.Output(PatchTokensOutput, tower.PatchTokens, TensorProto.Types.DataType.Float, OnnxGraphBuilder.Batch, tokens - 1, embed);

        var invariant = CultureInfo.InvariantCulture;
        var metadata = new Dictionary<string, string>
        {
            ["fsac.input"] = $"CLIP-preprocessed (normalised) RGB float32 [N, 3, {size}, {size}]",
            ["fsac.image_size"] = size.ToString(invariant),
            ["fsac.hidden_layers"] = string.Join(",", tower.Hidden.Select(h => h.Layer.ToString(invariant))),
        };
        var version = typeof(ClipOnnxGraph).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion ?? "";
        return g.Build("Fsac.MLNet", version, $"CLIP ViT image tower: {PixelsInput} to {ImageEmbedsOutput} and {PatchTokensOutput}.", metadata);
    }

    /// <summary>
    /// Adds the nodes of CLIP's normalisation to <paramref name="g"/>: <paramref name="pixels"/>, RGB float32
    /// <c>[N, 3, S, S]</c> on the 0..255 scale, divided by 255, minus the mean, divided by the std of
    /// <paramref name="preprocess"/>, the same float32 operations as <see cref="Imaging.ClipPreprocessor"/>; returns the
    /// normalised pixels.
    /// </summary>
    public static string AddNormalisation(OnnxGraphBuilder g, PreprocessConfig preprocess, string pixels)
    {
        ArgumentNullException.ThrowIfNull(preprocess);
        var (mean, std) = (preprocess.Mean, preprocess.Std);
        var scaled = g.Node("Div", "clip_pixels.scaled", [pixels, g.Initializer("clip_pixels.levels", [255f])]);
        var centred = g.Node("Sub", "clip_pixels.centred", [scaled, g.Initializer("clip_pixels.mean", [mean.R, mean.G, mean.B], 1, 3, 1, 1)]);
        return g.Node("Div", "clip_pixels.normalised", [centred, g.Initializer("clip_pixels.std", [std.R, std.G, std.B], 1, 3, 1, 1)]);
    }

    /// <summary>
    /// Adds the nodes of the image tower <paramref name="visual"/> (architecture <paramref name="config"/>, QuickGELU
    /// when <paramref name="quickGelu"/>) to <paramref name="g"/>, reading normalised pixels <paramref name="input"/>
    /// <c>[N, 3, S, S]</c>, and returns the names of the projected class token <c>[N, E]</c>, the projected patch tokens
    /// <c>[N, P, E]</c> and the residual stream after each of <paramref name="hiddenLayers"/> (1-based, in block order).
    /// The weights become initializers named as the state dict's keys.
    /// </summary>
    /// <inheritdoc cref="Build(VisionTransformer, ClipVisionConfig, bool, IReadOnlyCollection{int}?)" path="/exception"/>
    public static TowerValues AddTower(OnnxGraphBuilder g, VisionTransformer visual, ClipVisionConfig config, bool quickGelu, string input,
        IReadOnlyCollection<int>? hiddenLayers = null)
    {
        ArgumentNullException.ThrowIfNull(g);
        ArgumentNullException.ThrowIfNull(visual);
        ArgumentNullException.ThrowIfNull(config);
        int width = config.Width, patch = config.PatchSize, blocks = config.Layers;
        long tokens = (long)config.GridSize * config.GridSize + 1, embed = visual.proj.shape[^1];
        CheckShape(visual.conv1.weight!, "conv1.weight", width, 3, patch, patch);
        CheckShape(visual.positional_embedding, "positional_embedding", tokens, width);
        CheckShape(visual.proj, "proj", width, embed);
        if (visual.transformer.resblocks.Count != blocks)
            throw new ArgumentException($"The tower has {visual.transformer.resblocks.Count} blocks but the config {blocks}.", nameof(visual));
        var hidden = (hiddenLayers ?? []).Distinct().Order().ToArray();
        foreach (var layer in hidden)
            if (layer < 1 || layer > blocks)
                throw new ArgumentOutOfRangeException(nameof(hiddenLayers), layer, $"Layers are numbered 1 to {blocks}.");
        long weightBytes = visual.parameters().Sum(p => p.numel()) * sizeof(float);
        if (g.Weights != WeightPlacement.Bound && weightBytes > MaxWeightBytes)
            throw new NotSupportedException(
                $"The image tower has {weightBytes / (double)(1L << 30):F2} GiB of float32 weights; one ONNX file holds at most 2 GiB (protobuf's limit).");

        // Patch embedding [N, W, G, G] to tokens [N, G·G, W], the class token first, then the positions and ln_pre.
        var conv = g.Node("Conv", "conv1", [input, Weight(g, "conv1.weight", visual.conv1.weight!)],
            Ints("kernel_shape", patch, patch), Ints("strides", patch, patch));
        var flat = g.Node("Reshape", "patch_embeds.flat", [conv, g.Initializer("patch_embeds.shape", [0, width, -1], 3)]);
        var patches = g.Node("Transpose", "patch_embeds", [flat], Ints("perm", 0, 2, 1));
        var batch = g.Node("Shape", "batch", [input], Int("start", 0), Int("end", 1));
        var classShape = g.Node("Concat", "class_tokens.shape", [batch, g.Initializer("class_tokens.width", [1, width], 2)], Int("axis", 0));
        var classTokens = g.Node("Expand", "class_tokens", [Weight(g, "class_embedding", visual.class_embedding, dims: [1, 1, width]), classShape]);
        var x = g.Node("Concat", "tokens", [classTokens, patches], Int("axis", 1));
        x = g.Node("Add", "tokens.positioned", [x, Weight(g, "positional_embedding", visual.positional_embedding)]);
        x = LayerNorm(g, visual.ln_pre, x, "ln_pre");

        var shared = new SharedConstants(g, config.Width, config.Heads, config.HeadWidth, quickGelu);
        var hiddenValues = new List<(int Layer, string Value)>(hidden.Length);
        for (int i = 0; i < blocks; i++)
        {
            x = Block(g, visual.transformer.resblocks[i], x, $"transformer.resblocks.{i}", shared);
            if (hidden.Contains(i + 1)) hiddenValues.Add((i + 1, x));
        }

        // ln_post and proj act on each token alone: one pass over all tokens, then the class token and the patches apart.
        var projected = g.Node("MatMul", "proj.matmul", [LayerNorm(g, visual.ln_post, x, "ln_post"), Weight(g, "proj", visual.proj)]);
        var pooled = g.Node("Gather", "pooled", [projected, g.Initializer("pooled.index", [0L])], Int("axis", 1));
        var patchTokens = g.Node("Slice", "patch_tokens.projected",
            [projected, g.Initializer("patch_tokens.start", [1L], 1), g.Initializer("patch_tokens.end", [tokens], 1), g.Initializer("patch_tokens.axis", [1L], 1)]);
        return new TowerValues(pooled, patchTokens, hiddenValues);
    }

    /// <summary>The values <see cref="AddTower"/> adds: the projected class token, the projected patch tokens and the requested residual streams.</summary>
    public sealed record TowerValues(string ImageEmbeds, string PatchTokens, IReadOnlyList<(int Layer, string Value)> Hidden);

    // x + attn(ln_1(x)), then + mlp(ln_2(·)), as ResidualAttentionBlock.forward; mask: added to the attention scores.
    private static string Block(OnnxGraphBuilder g, ResidualAttentionBlock block, string x, string name, SharedConstants c, string? mask = null)
    {
        var h = g.Node("Add", $"{name}.residual_1", [x, Attention(g, block.attn, LayerNorm(g, block.ln_1, x, $"{name}.ln_1"), $"{name}.attn", c, mask)]);
        return g.Node("Add", $"{name}.residual_2", [h, Mlp(g, block.mlp, LayerNorm(g, block.ln_2, h, $"{name}.ln_2"), $"{name}.mlp", c)]);
    }

    // ClipAttention: q, k, v from the stacked projection, heads [N, H, L, D], softmax(q·kᵀ/√D + mask)·v, heads merged, out_proj.
    private static string Attention(OnnxGraphBuilder g, ClipAttention attn, string x, string name, SharedConstants c, string? mask)
    {
        var qkv = Linear(g, x, attn.in_proj_weight, attn.in_proj_bias, $"{name}.in_proj", $"{name}.in_proj_weight", $"{name}.in_proj_bias");
        var split = g.Node("Split", $"{name}.qkv", [qkv], 3, Int("axis", 2));
        string Heads(int i, string part, params long[] perm)
            => g.Node("Transpose", $"{name}.{part}", [g.Node("Reshape", $"{name}.{part}.split", [split[i], c.HeadsShape])], Ints("perm", perm));
        var q = Heads(0, "q", 0, 2, 1, 3);
        var kT = Heads(1, "k_t", 0, 2, 3, 1);
        var v = Heads(2, "v", 0, 2, 1, 3);
        var scores = g.Node("Mul", $"{name}.scores", [g.Node("MatMul", $"{name}.q_k", [q, kT]), c.AttentionScale]);
        if (mask is not null) scores = g.Node("Add", $"{name}.scores.masked", [scores, mask]);
        var weights = g.Node("Softmax", $"{name}.softmax", [scores], Int("axis", -1));
        var attended = g.Node("Transpose", $"{name}.attended", [g.Node("MatMul", $"{name}.weights_v", [weights, v])], Ints("perm", 0, 2, 1, 3));
        var merged = g.Node("Reshape", $"{name}.merged", [attended, c.MergedShape]);
        var o = attn.out_proj;
        return Linear(g, merged, o.weight!, o.bias!, $"{name}.out_proj", $"{name}.out_proj.weight", $"{name}.out_proj.bias");
    }

    // c_fc, exact GELU x·½(1 + erf(x/√2)) or QuickGELU x·σ(1.702x), c_proj.
    private static string Mlp(OnnxGraphBuilder g, Mlp mlp, string x, string name, SharedConstants c)
    {
        var h = Linear(g, x, mlp.c_fc.weight!, mlp.c_fc.bias!, $"{name}.c_fc", $"{name}.c_fc.weight", $"{name}.c_fc.bias");
        string a;
        if (c.QuickGeluAlpha is { } alpha)
        {
            a = g.Node("Mul", $"{name}.quick_gelu", [h, g.Node("Sigmoid", $"{name}.quick_gelu.gate", [g.Node("Mul", $"{name}.quick_gelu.scaled", [h, alpha])])]);
        }
        else
        {
            var erf = g.Node("Erf", $"{name}.gelu.erf", [g.Node("Div", $"{name}.gelu.scaled", [h, c.Sqrt2!])]);
            var gate = g.Node("Add", $"{name}.gelu.gate", [erf, c.One!]);
            a = g.Node("Mul", $"{name}.gelu", [g.Node("Mul", $"{name}.gelu.product", [h, gate]), c.Half!]);
        }
        return Linear(g, a, mlp.c_proj.weight!, mlp.c_proj.bias!, $"{name}.c_proj", $"{name}.c_proj.weight", $"{name}.c_proj.bias");
    }

    // x·Wᵀ + b. The engine's graph multiplies by the tower's W [out, in] as it lies, through ONNX Runtime's FusedMatMul
    // with transB: a transposed copy would double the tower's memory. Graphs for export store W transposed, under the
    // key with .T appended, for a plain MatMul that every runtime has.
    private static string Linear(OnnxGraphBuilder g, string x, Tensor weight, Tensor bias, string name, string weightKey, string biasKey)
    {
        var product = g.Weights != WeightPlacement.Copied
            ? g.OnnxRuntimeNode("FusedMatMul", $"{name}.matmul", [x, Weight(g, weightKey, weight)], Int("transB", 1))
            : g.Node("MatMul", $"{name}.matmul", [x, Weight(g, $"{weightKey}.T", weight, transpose: true)]);
        return g.Node("Add", name, [product, Weight(g, biasKey, bias)]);
    }

    private static string LayerNorm(OnnxGraphBuilder g, LayerNormFp32 norm, string x, string name)
        => g.Node("LayerNormalization", name, [x, Weight(g, $"{name}.weight", norm.weight), Weight(g, $"{name}.bias", norm.bias)],
            Int("axis", -1), Float("epsilon", LayerNormEpsilon));

    // One weight (OnnxGraphBuilder.Weight) from a tensor, transposed or reshaped where asked; a copying builder releases
    // any converted copy before the next weight.
    private static string Weight(OnnxGraphBuilder g, string name, Tensor weight, bool transpose = false, long[]? dims = null)
    {
        using var scope = NewDisposeScope();
        var t = weight.detach();
        if (transpose) t = t.t();
        if (dims is not null) t = t.reshape(dims);
        return g.Weight(name, t);
    }

    private static void CheckShape(Tensor weight, string name, params long[] expected)
    {
        if (!weight.shape.SequenceEqual(expected))
            throw new ArgumentException($"The tower's {name} is [{string.Join(", ", weight.shape)}]; the config needs [{string.Join(", ", expected)}].", nameof(weight));
    }

    // Constants every block reads, written once: the head split and merge shapes, 1/√D and the activation's constants.
    private sealed class SharedConstants
    {
        public SharedConstants(OnnxGraphBuilder g, int width, int heads, int headWidth, bool quickGelu)
        {
            HeadsShape = g.Initializer("attn.heads_shape", [0, 0, heads, headWidth], 4);
            MergedShape = g.Initializer("attn.merged_shape", [0, 0, width], 3);
            AttentionScale = g.Initializer("attn.scale", [(float)(1.0 / Math.Sqrt(headWidth))]);
            if (quickGelu)
            {
                QuickGeluAlpha = g.Initializer("quick_gelu.alpha", [1.702f]);
            }
            else
            {
                Sqrt2 = g.Initializer("gelu.sqrt2", [MathF.Sqrt(2f)]);
                One = g.Initializer("gelu.one", [1f]);
                Half = g.Initializer("gelu.half", [0.5f]);
            }
        }

        public string HeadsShape { get; }
        public string MergedShape { get; }
        public string AttentionScale { get; }
        public string? QuickGeluAlpha { get; }
        public string? Sqrt2 { get; }
        public string? One { get; }
        public string? Half { get; }
    }
}
