using Fsac.MLNet.Encoders;
using Spectre.Console;

namespace Fsac.Cli.Inputs;

/// <summary>
/// The <c>--dtype</c> option of <c>fsac fit</c>, <c>eval</c> and <c>embed</c>: <c>fp32</c>, <c>bf16</c> (TorchSharp) or
/// <c>int8</c> (CLIP image towers on ONNX Runtime); see also <see cref="EngineOption"/>.
/// </summary>
internal static class PrecisionOption
{
    /// <summary>The option's help text.</summary>
    public const string Description = "Encoder precision: fp32 (default), bf16 (TorchSharp) or int8 (CLIP image towers on ONNX Runtime, dynamic quantization; not offered for resnet18).";

    private static readonly Dictionary<string, EncoderPrecision> Names = new(StringComparer.Ordinal)
    {
        ["fp32"] = EncoderPrecision.Float32,
        ["bf16"] = EncoderPrecision.BFloat16,
        ["int8"] = EncoderPrecision.Int8,
    };

    /// <summary>Success for <c>fp32</c>, <c>bf16</c> or <c>int8</c> (exactly as written), else the error that names the value.</summary>
    public static ValidationResult Validate(string dtype) =>
        Names.ContainsKey(dtype) ? ValidationResult.Success() : ValidationResult.Error($"--dtype must be fp32, bf16 or int8; got '{dtype}'.");

    /// <summary>The precision a valid <c>--dtype</c> names.</summary>
    public static EncoderPrecision Parse(string dtype) => Names[dtype];
}
