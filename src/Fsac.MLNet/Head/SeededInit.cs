using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Fsac.MLNet.Head;

/// <summary>
/// Builds layers whose initial weights come from an explicit generator only (never torch's global one), so that
/// one seed gives one head bit for bit.
/// </summary>
internal static class SeededInit
{
    /// <summary>A Linear layer with Xavier-normal weights, std = √(2 / (fan_in + fan_out)), and zero bias.</summary>
    public static Linear XavierLinear(long inFeatures, long outFeatures, Generator generator)
    {
        using var noise = randn([outFeatures, inFeatures], generator: generator);
        var weight = noise.mul(Math.Sqrt(2.0 / (inFeatures + outFeatures)));
        var bias = zeros(outFeatures);
        return nn.Linear(new Parameter(weight, true), new Parameter(bias, true));
    }
}
