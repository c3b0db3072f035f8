using Fsac.MLNet.Encoders.Clip;
using TorchSharp;
using static TorchSharp.torch;

namespace Fsac.MLNet.Tests.Encoders.Clip;

/// <summary>The float32 LayerNorm of a bfloat16 model against a float64 LayerNorm of the same tokens.</summary>
[TestClass]
public class LayerNormFp32Tests
{
    // Tokens far from zero mean and unit scale, so that statistics taken in bfloat16 would be visibly wrong.
    private static (LayerNormFp32 Norm, Tensor Tokens) Case()
    {
        var g = new Generator(11);
        var norm = new LayerNormFp32(96);
        using (no_grad())
        {
            norm.weight.copy_(rand(96, generator: g) + 0.5);
            norm.bias.copy_(randn(96, generator: g) * 0.1);
        }
        var tokens = (randn(2, 30, 96, generator: g) * 4 + 20).to_type(ScalarType.BFloat16);
        return (norm, tokens);
    }

    private static Tensor Float64Reference(LayerNormFp32 norm, Tensor tokens)
        => nn.functional.layer_norm(tokens.to_type(ScalarType.Float64), [96],
            norm.weight.to_type(ScalarType.Float64), norm.bias.to_type(ScalarType.Float64), 1e-5);

    [TestMethod]
    public void BFloat16TokensAreNormalisedInFloat32AndRoundedOnce()
    {
        using var scope = NewDisposeScope();
        var (norm, tokens) = Case();
        var output = norm.forward(tokens);
        Assert.AreEqual(ScalarType.BFloat16, output.dtype);
        var reference = Float64Reference(norm, tokens);
        // One rounding to bfloat16 is at most half a step (a step is 2^-7 of the value's power of two); float32's own
        // error, near 1e-7 of the normalised terms (of order 1), can tip a value lying on a half step either way.
        var step = reference.abs().log2().floor().exp2() * Math.Pow(2, -7);
        var excess = ((output.to_type(ScalarType.Float64) - reference).abs() - step * 0.5 - (reference.abs() + 1) * 1e-6).max().item<double>();
        Assert.IsLessThanOrEqualTo(0.0, excess, "an output further than half a bfloat16 step from the float64 LayerNorm");
    }

    [TestMethod]
    public void GradientsFlowToBFloat16Tokens()
    {
        using var scope = NewDisposeScope();
        var (norm, tokens) = Case();
        var input = tokens.detach().requires_grad_(true);
        using (enable_grad())
        {
            var weights = linspace(-1, 1, 96);
            (norm.forward(input).to_type(ScalarType.Float32) * weights).sum().backward();
            var reference = tokens.to_type(ScalarType.Float64).detach().requires_grad_(true);
            (Float64Reference(norm, reference) * weights.to_type(ScalarType.Float64)).sum().backward();
            Assert.AreEqual(ScalarType.BFloat16, input.grad!.dtype);
            using var diff = input.grad.to_type(ScalarType.Float64) - reference.grad!;
            double relative = diff.norm().item<double>() / reference.grad!.norm().item<double>();
            Assert.IsLessThan(1e-2, relative, $"relative gradient error {relative:E2}");
        }
    }
}
