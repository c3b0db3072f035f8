using System.Text.Json;

namespace Fsac.MLNet.Imaging;

/// <summary>
/// Image preprocessing settings, the fields of OpenCLIP's <c>preprocess_cfg</c>. The defaults are CLIP's:
/// 224 × 224, OpenAI mean and std, bicubic, shortest-side resize.
/// </summary>
public sealed record PreprocessConfig
{
    /// <summary>OpenAI CLIP's per-channel mean (R, G, B).</summary>
    public static readonly (float R, float G, float B) OpenAiMean = (0.48145466f, 0.4578275f, 0.40821073f);

    /// <summary>OpenAI CLIP's per-channel standard deviation (R, G, B).</summary>
    public static readonly (float R, float G, float B) OpenAiStd = (0.26862954f, 0.26130258f, 0.27577711f);

    /// <summary>Output height in pixels.</summary>
    public int Height { get; init; } = 224;

    /// <summary>Output width in pixels.</summary>
    public int Width { get; init; } = 224;

    /// <summary>Mean subtracted from each channel after scaling to [0, 1].</summary>
    public (float R, float G, float B) Mean { get; init; } = OpenAiMean;

    /// <summary>Standard deviation each channel is divided by after the mean is subtracted.</summary>
    public (float R, float G, float B) Std { get; init; } = OpenAiStd;

    /// <summary>Resampling filter.</summary>
    public ImageInterpolation Interpolation { get; init; } = ImageInterpolation.Bicubic;

    /// <summary>How the image is fitted to <see cref="Height"/> × <see cref="Width"/>.</summary>
    public ImageResizeMode ResizeMode { get; init; } = ImageResizeMode.Shortest;

    /// <summary>Grey level (0..255, all channels) of the padding that <see cref="ImageResizeMode.Longest"/> adds.</summary>
    public byte FillColor { get; init; }

    /// <summary>CLIP's defaults at a square size <paramref name="size"/>.</summary>
    public static PreprocessConfig Square(int size) => new() { Height = size, Width = size };

    /// <summary>Parses OpenCLIP's <c>preprocess_cfg</c> JSON object; absent fields keep their defaults.</summary>
    /// <exception cref="FormatException">A field has the wrong type or an unsupported value.</exception>
    public static PreprocessConfig FromJson(string json)
    {
        ArgumentNullException.ThrowIfNull(json);
        try
        {
            using var doc = JsonDocument.Parse(json);
            return FromJson(doc.RootElement);
        }
        catch (JsonException e)
        {
            throw new FormatException($"preprocess_cfg is not valid JSON: {e.Message}", e);
        }
    }

    /// <summary>Parses OpenCLIP's <c>preprocess_cfg</c> JSON object; absent fields keep their defaults.</summary>
    /// <exception cref="FormatException">A field has the wrong type or an unsupported value.</exception>
    public static PreprocessConfig FromJson(JsonElement cfg)
    {
        if (cfg.ValueKind != JsonValueKind.Object) throw new FormatException($"preprocess_cfg must be a JSON object, not {cfg.ValueKind}.");
        var result = new PreprocessConfig();
        try
        {
            if (cfg.TryGetProperty("size", out var size))
            {
                var (h, w) = size.ValueKind == JsonValueKind.Array
                    ? size.GetArrayLength() == 2 ? (size[0].GetInt32(), size[1].GetInt32()) : throw new FormatException("preprocess_cfg.size must be a number or [height, width].")
                    : (size.GetInt32(), size.GetInt32());
                if (h <= 0 || w <= 0) throw new FormatException($"preprocess_cfg.size must be positive, not [{h}, {w}].");
                result = result with { Height = h, Width = w };
            }
            if (cfg.TryGetProperty("mode", out var mode) && mode.GetString() != "RGB")
                throw new FormatException($"preprocess_cfg.mode '{mode.GetString()}' is not supported; only RGB is.");
            if (cfg.TryGetProperty("mean", out var mean)) result = result with { Mean = Triple(mean, "mean") };
            if (cfg.TryGetProperty("std", out var std))
            {
                var s = Triple(std, "std");
                if (s.R == 0 || s.G == 0 || s.B == 0) throw new FormatException("preprocess_cfg.std must not contain 0.");
                result = result with { Std = s };
            }
            if (cfg.TryGetProperty("interpolation", out var interp))
                result = result with
                {
                    Interpolation = interp.GetString() switch
                    {
                        "bicubic" => ImageInterpolation.Bicubic,
                        "bilinear" => ImageInterpolation.Bilinear,
                        var other => throw new FormatException($"preprocess_cfg.interpolation '{other}' is not supported (bicubic or bilinear)."),
                    },
                };
            if (cfg.TryGetProperty("resize_mode", out var resize))
                result = result with
                {
                    ResizeMode = resize.GetString() switch
                    {
                        "shortest" => ImageResizeMode.Shortest,
                        "longest" => ImageResizeMode.Longest,
                        "squash" => ImageResizeMode.Squash,
                        var other => throw new FormatException($"preprocess_cfg.resize_mode '{other}' is not supported (shortest, longest or squash)."),
                    },
                };
            if (cfg.TryGetProperty("fill_color", out var fill)) result = result with { FillColor = fill.GetByte() };
        }
        catch (InvalidOperationException e)
        {
            throw new FormatException($"preprocess_cfg has a field of the wrong type: {e.Message}", e);
        }
        return result;
    }

    // OpenCLIP accepts one number for all channels or one per channel.
    private static (float R, float G, float B) Triple(JsonElement e, string name)
    {
        if (e.ValueKind == JsonValueKind.Number)
        {
            float v = (float)e.GetDouble();
            return (v, v, v);
        }
        if (e.ValueKind != JsonValueKind.Array || e.GetArrayLength() != 3)
            throw new FormatException($"preprocess_cfg.{name} must be a number or an array of 3 numbers.");
        return ((float)e[0].GetDouble(), (float)e[1].GetDouble(), (float)e[2].GetDouble());
    }
}
