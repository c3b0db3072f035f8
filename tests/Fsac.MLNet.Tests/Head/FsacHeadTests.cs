using Fsac.MLNet.Head;
using TorchSharp;
using static TorchSharp.torch;

namespace Fsac.MLNet.Tests.Head;

[TestClass]
public class FsacHeadTests
{
    [TestMethod]
    public void SameSeedGivesBitIdenticalWeightsAndAnotherSeedDoesNot()
    {
        using var a = new FsacHead(16, new FsacOptions { Seed = 5 });
        using var b = new FsacHead(16, new FsacOptions { Seed = 5 });
        using var c = new FsacHead(16, new FsacOptions { Seed = 6 });

        foreach (var (name, p) in a.state_dict())
            CollectionAssert.AreEqual(Bytes(p), Bytes(b.state_dict()[name]), name);
        var weight = "image_adapter.mlp.0.weight";
        CollectionAssert.AreNotEqual(Bytes(a.state_dict()[weight]), Bytes(c.state_dict()[weight]));
    }

    [TestMethod]
    public void WeightsAreXavierNormalAndBiasesZero()
    {
        using var head = new FsacHead(64, new FsacOptions { Seed = 1 });
        foreach (var (name, p) in head.state_dict())
        {
            var values = p.data<float>().ToArray();
            if (name.EndsWith(".bias", StringComparison.Ordinal))
            {
                Assert.IsTrue(values.All(v => v == 0f), name);
                continue;
            }
            double fanOut = p.shape[0], fanIn = p.shape[1];
            double mean = values.Average(v => (double)v);
            double std = Math.Sqrt(values.Average(v => (v - mean) * (v - mean)));
            Assert.AreEqual(Math.Sqrt(2.0 / (fanIn + fanOut)), std, 0.05 * std, name);
            Assert.AreEqual(0.0, mean, 0.1 * std, name);
        }
    }

    [TestMethod]
    public void NamesSubmodulesAndDropsCrossAttentionWhenDisabled()
    {
        using var head = new FsacHead(8, new FsacOptions());
        using var plain = new FsacHead(8, new FsacOptions { UseCrossAttention = false, ImageAdapterBlocks = 1 });

        CollectionAssert.AreEquivalent(new[]
        {
            "image_adapter.mlp.0.weight", "image_adapter.mlp.0.bias", "image_adapter.mlp.2.weight", "image_adapter.mlp.2.bias",
            "image_adapter.mlp.3.weight", "image_adapter.mlp.3.bias", "image_adapter.mlp.5.weight", "image_adapter.mlp.5.bias",
            "text_adapter.mlp.0.weight", "text_adapter.mlp.0.bias", "text_adapter.mlp.2.weight", "text_adapter.mlp.2.bias",
            "cross_attention.proj.weight", "cross_attention.proj.bias",
        }, head.state_dict().Keys.ToArray());
        Assert.IsTrue(head.HasCrossAttention);
        Assert.IsFalse(plain.HasCrossAttention);
        Assert.IsFalse(plain.state_dict().Keys.Any(k => k.StartsWith("cross_attention", StringComparison.Ordinal)));
        CollectionAssert.AreEqual(new long[] { 32, 8 }, plain.state_dict()["image_adapter.mlp.0.weight"].shape);
        Assert.HasCount(4, plain.ImageSideParameters);
        Assert.HasCount(4 + 4 + 2, head.ImageSideParameters);
        Assert.HasCount(4, head.TextSideParameters);
    }

    [TestMethod]
    public void ResidualWeightsBlendAdaptedAndOriginalFeatures()
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var features = randn(3, 8, generator: new Generator(2, CPU));
        var anchors = randn(2, 8, generator: new Generator(3, CPU));
        var options = new FsacOptions { UseCrossAttention = false, Seed = 4 };
        using var adaptedOnly = new FsacHead(8, options with { Alpha1 = 1, Alpha2 = 0, Beta1 = 1, Beta2 = 0 });
        using var blended = new FsacHead(8, options with { Alpha1 = 0.3f, Alpha2 = 2f, Beta1 = 0.1f, Beta2 = 0.9f });

        var psi = adaptedOnly.AdaptText(anchors);
        var imageMlp = adaptedOnly.Fuse(features, psi);
        var textMlp = psi;

        AssertClose(imageMlp.mul(0.3).add(features.mul(2)), blended.Fuse(features, psi), 1e-5);
        AssertClose(textMlp.mul(0.1).add(anchors.mul(0.9)), blended.AdaptText(anchors), 1e-5);
    }

    [TestMethod]
    public void CrossAttentionMatchesEquationsFiveAndSix()
    {
        const int c = 3;
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        using var head = new FsacHead(c, new FsacOptions { Alpha1 = 0, Alpha2 = 1, Seed = 9 });
        head.state_dict()["cross_attention.proj.bias"].copy_(tensor(new[] { 0.1f, -0.2f, 0.3f }));
        double[][] f = [[1.0, -0.5, 2.0], [0.2, 0.4, -0.3]];
        double[][] psi = [[0.6, 0.1, -0.4], [-0.3, 0.8, 0.5]];
        var w = head.state_dict()["cross_attention.proj.weight"].data<float>().ToArray();
        var bias = new[] { 0.1, -0.2, 0.3 };

        var fused = head.Fuse(tensor(f.SelectMany(r => r.Select(x => (float)x)).ToArray(), [2, c]),
            tensor(psi.SelectMany(r => r.Select(x => (float)x)).ToArray(), [2, c])).data<float>().ToArray();

        for (int i = 0; i < 2; i++)
        {
            var logits = psi.Select(p => f[i].Zip(p, (x, y) => x * y).Sum() / Math.Sqrt(c)).ToArray();
            var weights = logits.Select(l => Math.Exp(l) / logits.Sum(Math.Exp)).ToArray();
            var mixed = Enumerable.Range(0, c).Select(j => weights[0] * psi[0][j] + weights[1] * psi[1][j]).ToArray();
            for (int o = 0; o < c; o++)
            {
                double attention = bias[o] + Enumerable.Range(0, c).Sum(j => w[o * c + j] * mixed[j]);
                Assert.AreEqual(f[i][o] + attention, fused[i * c + o], 1e-5, $"image {i}, channel {o}");
            }
        }
    }

    [TestMethod]
    public void EachRowDependsOnItsOwnImageOnly()
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        using var head = new FsacHead(16, new FsacOptions { Seed = 2 });
        var batch = randn(8, 16, generator: new Generator(7, CPU));
        var psi = head.AdaptText(randn(2, 16, generator: new Generator(8, CPU)));

        var together = head.Score(batch, psi, 0.07).data<float>().ToArray();
        for (int i = 0; i < 8; i++)
        {
            var alone = head.Score(batch[i..(i + 1)], psi, 0.07).item<float>();
            Assert.AreEqual(together[i], alone, 1e-6f, $"image {i}");
        }
    }

    internal static byte[] Bytes(Tensor t) => t.cpu().contiguous().bytes.ToArray();

    private static void AssertClose(Tensor expected, Tensor actual, double tolerance)
    {
        CollectionAssert.AreEqual(expected.shape, actual.shape);
        var diff = expected.sub(actual).abs().max().item<float>();
        Assert.IsLessThanOrEqualTo(tolerance, diff);
    }
}
