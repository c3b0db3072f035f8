using Fsac.MLNet.Encoders;
using Spectre.Console;

namespace Fsac.Cli.Inputs;

/// <summary>
/// The <c>--engine</c> option of <c>fsac fit</c>, <c>eval</c> and <c>embed</c> (beside <c>--dtype</c>): <c>auto</c>,
/// <c>torchsharp</c> or <c>onnxruntime</c>, the engine of the encoder's frozen passes.
/// </summary>
internal static class EngineOption
{
    /// <summary>The option's help text.</summary>
    public const string Description = "Encoder engine: auto (default: the faster on this machine, measured once and cached), torchsharp or onnxruntime (fp32, and int8 for CLIP).";

    private static readonly Dictionary<string, EncoderEngine> Names = new(StringComparer.Ordinal)
    {
        ["auto"] = EncoderEngine.Auto,
        ["torchsharp"] = EncoderEngine.TorchSharp,
        ["onnxruntime"] = EncoderEngine.OnnxRuntime,
    };

    /// <summary>Success for <c>auto</c>, <c>torchsharp</c> or <c>onnxruntime</c> (exactly as written), else the error that names the value.</summary>
    public static ValidationResult Validate(string engine) =>
        Names.ContainsKey(engine) ? ValidationResult.Success() : ValidationResult.Error($"--engine must be auto, torchsharp or onnxruntime; got '{engine}'.");

    /// <summary>The engine a valid <c>--engine</c> names.</summary>
    public static EncoderEngine Parse(string engine) => Names[engine];
}
