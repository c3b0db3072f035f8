using Fsac.MLNet.Encoders;
using Fsac.MLNet.Fitting;
using Fsac.MLNet.Head;
using Fsac.MLNet.Tests.TestDoubles;
using TorchSharp;
using static TorchSharp.torch;

namespace Fsac.MLNet.Tests.Fitting;

[TestClass]
public class FeatureCacheTests
{
    [TestMethod]
    public void BuildEncodesShotsAPoolPerShotAndPromptAnchors()
    {
        using var scope = NewDisposeScope();
        using var encoder = new TinyEncoder(featureDim: 16);
        var normals = SyntheticImages.Normals(2, seed: 1);
        var synthesizer = new SquareSynthesizer();
        var options = new FsacOptions { ClassName = "tile", AnomaliesPerNormal = 3 };

        using var cache = FeatureCache.Build(encoder, normals, synthesizer, options, new Random(0));

        Assert.AreEqual(2, cache.Shots);
        Assert.AreEqual(3, cache.PoolSize);
        CollectionAssert.AreEqual(new long[] { 2, 16 }, cache.Normals.shape);
        CollectionAssert.AreEqual(new long[] { 2, 3, 16 }, cache.AnomalyPool.shape);
        Assert.AreEqual(6, synthesizer.Calls);
        AssertClose(encoder.EncodeImages(normals, 16), cache.Normals);
        var prompts = new PromptEnsemble("tile");
        AssertClose(encoder.EncodeText(prompts.NormalPrompts).mean([0]), cache.Anchors[0]);
        AssertClose(encoder.EncodeText(prompts.AnomalousPrompts).mean([0]), cache.Anchors[1]);
    }

    [TestMethod]
    public void CanNormalisePromptEncodingsBeforeAveraging()
    {
        using var scope = NewDisposeScope();
        using var encoder = new TinyEncoder(featureDim: 16);
        var options = new FsacOptions { ClassName = "tile", AnomaliesPerNormal = 1, NormalizePromptsBeforeAveraging = true };

        using var cache = FeatureCache.Build(encoder, SyntheticImages.Normals(1, seed: 1), new SquareSynthesizer(), options, new Random(0));

        var encoded = encoder.EncodeText(new PromptEnsemble("tile").AnomalousPrompts);
        AssertClose(nn.functional.normalize(encoded, 2, 1).mean([0]), cache.Anchors[1]);
    }

    [TestMethod]
    public void WithoutATextTowerTheAnchorsArePrototypes()
    {
        using var scope = NewDisposeScope();
        using var encoder = new ImageOnlyEncoder(new TinyEncoder(featureDim: 16));
        var options = new FsacOptions { AnomaliesPerNormal = 3 };

        using var cache = FeatureCache.Build(encoder, SyntheticImages.Normals(3, seed: 2), new SquareSynthesizer(), options, new Random(0));

        AssertClose(cache.Normals.mean([0]), cache.Anchors[0]);
        AssertClose(cache.AnomalyPool.reshape(-1, 16).mean([0]), cache.Anchors[1]);
    }

    [TestMethod]
    public void SamplingTakesOneAnomalyFromEachShotsOwnPool()
    {
        using var scope = NewDisposeScope();
        const int k = 3, m = 4;
        var pool = arange(k * m, dtype: ScalarType.Float32).reshape(k, m, 1).expand(k, m, 2).contiguous();
        using var cache = new FeatureCache(zeros(k, 2), pool, zeros(2, 2));
        var random = new Random(5);
        var seen = new HashSet<int>();

        for (int draw = 0; draw < 200; draw++)
        {
            var rows = cache.SampleRows(random).data<long>().ToArray();
            for (int i = 0; i < k; i++)
            {
                Assert.AreEqual(i, (int)rows[i] / m, "row i must come from shot i's pool");
                seen.Add((int)rows[i]);
            }
        }
        Assert.HasCount(k * m, seen, "every cached anomaly is eventually used");
        CollectionAssert.AreEqual(cache.SampleRows(new Random(9)).data<long>().ToArray(),
            cache.SampleRows(new Random(9)).data<long>().ToArray());
    }

    [TestMethod]
    public void RejectsInconsistentShapes()
    {
        using var scope = NewDisposeScope();
        Assert.ThrowsExactly<ArgumentException>(() => new FeatureCache(zeros(2, 4), zeros(3, 5, 4), zeros(2, 4)));
        Assert.ThrowsExactly<ArgumentException>(() => new FeatureCache(zeros(2, 4), zeros(2, 5, 3), zeros(2, 4)));
        Assert.ThrowsExactly<ArgumentException>(() => new FeatureCache(zeros(2, 4), zeros(2, 5, 4), zeros(3, 4)));
        Assert.ThrowsExactly<ArgumentException>(() => new FeatureCache(zeros(0, 4), zeros(0, 5, 4), zeros(2, 4)));
    }

    [TestMethod]
    public void RejectsAnEmptyShotList()
    {
        using var encoder = new TinyEncoder();
        var e = Assert.ThrowsExactly<ArgumentException>(() =>
            FeatureCache.Build(encoder, [], new SquareSynthesizer(), new FsacOptions(), new Random(0)));
        StringAssert.Contains(e.Message, "at least one normal image is required");
    }

    private static void AssertClose(Tensor expected, Tensor actual)
    {
        CollectionAssert.AreEqual(expected.shape, actual.shape);
        Assert.IsLessThanOrEqualTo(1e-5f, expected.sub(actual).abs().max().item<float>());
    }
}
