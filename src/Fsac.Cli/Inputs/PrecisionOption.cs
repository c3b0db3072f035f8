using Fsac.MLNet.Encoders;
using Spectre.Console;

namespace Fsac.Cli.Inputs;

/// <summary>The <c>--dtype</c> option of <c>fsac fit</c>, <c>eval</c> and <c>embed</c>: <c>fp32</c> or <c>bf16</c> (see also <see cref="EngineOption"/>).</summary>
internal static class PrecisionOption
{
    /// <summary>Success for <c>fp32</c> or <c>bf16</c> (exactly as written), else the error that names the value.</summary>
    public static ValidationResult Validate(string dtype) =>
        dtype is "fp32" or "bf16" ? ValidationResult.Success() : ValidationResult.Error($"--dtype must be fp32 or bf16; got '{dtype}'.");

    /// <summary>The precision a valid <c>--dtype</c> names.</summary>
    public static EncoderPrecision Parse(string dtype) => dtype == "bf16" ? EncoderPrecision.BFloat16 : EncoderPrecision.Float32;
}
