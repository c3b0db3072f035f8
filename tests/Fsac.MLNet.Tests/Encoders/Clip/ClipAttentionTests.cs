using Fsac.MLNet.Encoders.Clip;
using TorchSharp;
using static TorchSharp.torch;

namespace Fsac.MLNet.Tests.Encoders.Clip;

/// <summary>The image tower's bfloat16 attention against float64 attention on the same inputs.</summary>
[TestClass]
public class ClipAttentionTests
{
    // Heads [N, H, L, D] in bfloat16 whose scores q·kᵀ/√D have a standard deviation of 3 (a trained CLIP's are of that
    // order; a random-weight one's are near 0, where an error in the scale or the softmax axis would hardly show).
    private static (Tensor Q, Tensor K, Tensor V) Heads(long n)
    {
        var g = new Generator(7);
        return (
            (randn(n, 4, 50, 64, generator: g) * 3).to_type(ScalarType.BFloat16),
            randn(n, 4, 50, 64, generator: g).to_type(ScalarType.BFloat16),
            randn(n, 4, 50, 64, generator: g).to_type(ScalarType.BFloat16));
    }

    private static double RelativeError(Tensor actual, Tensor expected)
    {
        using var diff = actual.to_type(ScalarType.Float64) - expected;
        return diff.norm().item<double>() / expected.norm().item<double>();
    }

    [TestMethod]
    public void ExplicitAttentionStaysWithinAFewBFloat16StepsOfFloat64()
    {
        using var scope = NewDisposeScope();
        var (q, k, v) = Heads(3);
        var reference = nn.functional.scaled_dot_product_attention(
            q.to_type(ScalarType.Float64), k.to_type(ScalarType.Float64), v.to_type(ScalarType.Float64));
        var explicitAttention = ClipAttention.ExplicitAttention(q, k, v);
        Assert.AreEqual(ScalarType.BFloat16, explicitAttention.dtype);
        CollectionAssert.AreEqual(reference.shape, explicitAttention.shape);
        // bfloat16 keeps 8 significant bits, a relative step of 2^-8 (3.9e-3). Rounding the scores costs most of the
        // error (here 5.9e-3, against 1.8e-3 for libtorch's fused kernel, which keeps them in float32).
        double error = RelativeError(explicitAttention, reference);
        Assert.IsLessThan(1e-2, error, $"relative error {error:E2}");
    }

    [TestMethod]
    public void EachImageAttendsOnlyToItself()
    {
        using var scope = NewDisposeScope();
        var (q, k, v) = Heads(3);
        var batch = ClipAttention.ExplicitAttention(q, k, v);
        var alone = ClipAttention.ExplicitAttention(q.narrow(0, 1, 1), k.narrow(0, 1, 1), v.narrow(0, 1, 1));
        var difference = (batch.narrow(0, 1, 1).to_type(ScalarType.Float32) - alone.to_type(ScalarType.Float32)).abs().max().item<float>();
        Assert.AreEqual(0f, difference, "image 1 in a batch of 3 against image 1 alone");
    }
}
