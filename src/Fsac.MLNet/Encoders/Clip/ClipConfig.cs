using System.Text.Json;
using System.Text.Json.Nodes;

namespace Fsac.MLNet.Encoders.Clip;

/// <summary>Vision tower hyper-parameters (OpenCLIP <c>vision_cfg</c>).</summary>
public sealed record ClipVisionConfig
{
    /// <summary>Input side in pixels.</summary>
    public int ImageSize { get; init; } = 224;
    /// <summary>Number of residual attention blocks.</summary>
    public int Layers { get; init; } = 12;
    /// <summary>Token width.</summary>
    public int Width { get; init; } = 768;
    /// <summary>Width of one attention head (heads = width / head width).</summary>
    public int HeadWidth { get; init; } = 64;
    /// <summary>MLP hidden width as a multiple of the token width.</summary>
    public double MlpRatio { get; init; } = 4.0;
    /// <summary>Patch side in pixels.</summary>
    public int PatchSize { get; init; } = 16;

    /// <summary>Number of attention heads.</summary>
    public int Heads => Width / HeadWidth;
    /// <summary>Patches per side.</summary>
    public int GridSize => ImageSize / PatchSize;
}

/// <summary>Text tower hyper-parameters (OpenCLIP <c>text_cfg</c>).</summary>
public sealed record ClipTextConfig
{
    /// <summary>Tokens per text.</summary>
    public int ContextLength { get; init; } = 77;
    /// <summary>Vocabulary size.</summary>
    public int VocabSize { get; init; } = 49408;
    /// <summary>Token width.</summary>
    public int Width { get; init; } = 512;
    /// <summary>Attention heads.</summary>
    public int Heads { get; init; } = 8;
    /// <summary>Number of residual attention blocks.</summary>
    public int Layers { get; init; } = 12;
    /// <summary>MLP hidden width as a multiple of the token width.</summary>
    public double MlpRatio { get; init; } = 4.0;
}

/// <summary>
/// One CLIP model's architecture, as OpenCLIP's <c>model_cfg</c>: the joint embedding width, both towers
/// and the activation. Built-in configs cover the paper's ViT-B-16-plus-240 and the common ViTs.
/// </summary>
public sealed record ClipConfig
{
    /// <summary>Joint image/text embedding width.</summary>
    public int EmbedDim { get; init; } = 512;
    /// <summary>QuickGELU (OpenAI weights) instead of exact GELU.</summary>
    public bool QuickGelu { get; init; }
    /// <summary>Vision tower.</summary>
    public ClipVisionConfig Vision { get; init; } = new();
    /// <summary>Text tower.</summary>
    public ClipTextConfig Text { get; init; } = new();

    private static readonly Dictionary<string, ClipConfig> BuiltIn = new(StringComparer.OrdinalIgnoreCase)
    {
        ["ViT-B-16-plus-240"] = new()
        {
            EmbedDim = 640,
            Vision = new() { ImageSize = 240, Layers = 12, Width = 896, PatchSize = 16 },
            Text = new() { Width = 640, Heads = 10, Layers = 12 },
        },
        ["ViT-B-16"] = new()
        {
            EmbedDim = 512,
            Vision = new() { ImageSize = 224, Layers = 12, Width = 768, PatchSize = 16 },
            Text = new() { Width = 512, Heads = 8, Layers = 12 },
        },
        ["ViT-B-32"] = new()
        {
            EmbedDim = 512,
            Vision = new() { ImageSize = 224, Layers = 12, Width = 768, PatchSize = 32 },
            Text = new() { Width = 512, Heads = 8, Layers = 12 },
        },
        ["ViT-L-14"] = new()
        {
            EmbedDim = 768,
            Vision = new() { ImageSize = 224, Layers = 24, Width = 1024, PatchSize = 14 },
            Text = new() { Width = 768, Heads = 12, Layers = 12 },
        },
    };

    /// <summary>Names of the built-in architectures.</summary>
    public static IReadOnlyCollection<string> BuiltInNames => BuiltIn.Keys;

    /// <summary>A built-in architecture by OpenCLIP name (case-insensitive).</summary>
    /// <exception cref="ArgumentException">The name is unknown; the message lists the known ones.</exception>
    public static ClipConfig FromName(string name)
    {
        if (BuiltIn.TryGetValue(name, out var cfg)) return cfg;
        throw new ArgumentException(
            $"Unknown CLIP model '{name}'. Known models: {string.Join(", ", BuiltIn.Keys)}. " +
            "For another architecture pass a folder with an OpenCLIP open_clip_config.json.", nameof(name));
    }

    /// <summary>
    /// Parses OpenCLIP's model config: either a bare <c>model_cfg</c> object or an
    /// <c>open_clip_config.json</c> document holding <c>model_cfg</c> (its <c>preprocess_cfg</c> is read elsewhere).
    /// </summary>
    /// <exception cref="FormatException">The JSON is not a CLIP model config; the message says which field is wrong.</exception>
    public static ClipConfig Parse(string json)
    {
        JsonNode? root;
        try { root = JsonNode.Parse(json); }
        catch (JsonException e) { throw new FormatException($"CLIP config is not valid JSON: {e.Message}", e); }
        var cfg = root?["model_cfg"] ?? root;
        if (cfg is not JsonObject obj || obj["vision_cfg"] is not JsonObject v || obj["text_cfg"] is not JsonObject t)
            throw new FormatException("CLIP config must contain 'vision_cfg' and 'text_cfg' objects (optionally under 'model_cfg').");
        if (v["timm_model_name"] is not null || v["layers"] is JsonArray)
            throw new NotSupportedException("Only ViT vision towers are supported (not timm or ResNet towers).");
        if (t["hf_model_name"] is not null)
            throw new NotSupportedException("Hugging Face text towers are not supported; only OpenCLIP's transformer text tower.");
        var vd = new ClipVisionConfig();
        var td = new ClipTextConfig();
        return new ClipConfig
        {
            EmbedDim = Get(obj, "embed_dim", 0),
            QuickGelu = obj["quick_gelu"]?.GetValue<bool>() ?? false,
            Vision = new ClipVisionConfig
            {
                ImageSize = Get(v, "image_size", vd.ImageSize),
                Layers = Get(v, "layers", vd.Layers),
                Width = Get(v, "width", vd.Width),
                HeadWidth = Get(v, "head_width", vd.HeadWidth),
                MlpRatio = v["mlp_ratio"]?.GetValue<double>() ?? vd.MlpRatio,
                PatchSize = Get(v, "patch_size", vd.PatchSize),
            },
            Text = new ClipTextConfig
            {
                ContextLength = Get(t, "context_length", td.ContextLength),
                VocabSize = Get(t, "vocab_size", td.VocabSize),
                Width = Get(t, "width", td.Width),
                Heads = Get(t, "heads", td.Heads),
                Layers = Get(t, "layers", td.Layers),
                MlpRatio = t["mlp_ratio"]?.GetValue<double>() ?? td.MlpRatio,
            },
        }.Validated();
    }

    private static int Get(JsonObject o, string key, int fallback)
    {
        var node = o[key];
        if (node is null) return fallback;
        try
        {
            // image_size may be a [h, w] pair in OpenCLIP configs; only square inputs are supported.
            if (node is JsonArray a)
            {
                var values = a.Select(x => x!.GetValue<int>()).Distinct().ToArray();
                if (values.Length != 1) throw new NotSupportedException($"'{key}' must be square, got [{string.Join(", ", values)}].");
                return values[0];
            }
            return node.GetValue<int>();
        }
        catch (Exception e) when (e is InvalidOperationException or FormatException)
        {
            throw new FormatException($"CLIP config field '{key}' must be an integer, got {node.ToJsonString()}.", e);
        }
    }

    private ClipConfig Validated()
    {
        if (EmbedDim <= 0) throw new FormatException("CLIP config needs a positive 'embed_dim'.");
        if (Vision.Width % Vision.HeadWidth != 0) throw new FormatException($"vision width {Vision.Width} is not a multiple of head_width {Vision.HeadWidth}.");
        if (Vision.ImageSize % Vision.PatchSize != 0) throw new FormatException($"image_size {Vision.ImageSize} is not a multiple of patch_size {Vision.PatchSize}.");
        if (Text.Width % Text.Heads != 0) throw new FormatException($"text width {Text.Width} is not a multiple of heads {Text.Heads}.");
        return this;
    }

    /// <summary>Serialises to OpenCLIP's <c>model_cfg</c> JSON.</summary>
    public string ToJson() => new JsonObject
    {
        ["embed_dim"] = EmbedDim,
        ["quick_gelu"] = QuickGelu,
        ["vision_cfg"] = new JsonObject
        {
            ["image_size"] = Vision.ImageSize, ["layers"] = Vision.Layers, ["width"] = Vision.Width,
            ["head_width"] = Vision.HeadWidth, ["mlp_ratio"] = Vision.MlpRatio, ["patch_size"] = Vision.PatchSize,
        },
        ["text_cfg"] = new JsonObject
        {
            ["context_length"] = Text.ContextLength, ["vocab_size"] = Text.VocabSize, ["width"] = Text.Width,
            ["heads"] = Text.Heads, ["layers"] = Text.Layers, ["mlp_ratio"] = Text.MlpRatio,
        },
    }.ToJsonString(new JsonSerializerOptions { WriteIndented = true });
}
