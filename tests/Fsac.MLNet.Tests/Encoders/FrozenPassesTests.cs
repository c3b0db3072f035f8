using Fsac.MLNet.Encoders;
using TorchSharp;
using static TorchSharp.torch;

namespace Fsac.MLNet.Tests.Encoders;

[TestClass]
public sealed class FrozenPassesTests
{
    [TestMethod]
    [DataRow(64L * 112 * 112 * 4, 4, DisplayName = "ResNet18 stem at 224x224, float32 (3.2 MB): 4")]
    [DataRow(226L * 3584 * 2, 8, DisplayName = "ViT-B-16-plus-240 MLP in bfloat16 (1.6 MB): 8")]
    [DataRow(226L * 3584 * 4, 4, DisplayName = "ViT-B-16-plus-240 MLP in float32 (3.2 MB): 4")]
    [DataRow(64L * 224 * 224 * 4, 1, DisplayName = "ResNet18 stem at 448x448 (12.8 MB): 1")]
    [DataRow(100L << 20, 1, DisplayName = "larger than the budget: still 1")]
    [DataRow(1L, 1 << 24, DisplayName = "one byte: the budget in images")]
    public void ImagesPerPassIsThePowerOfTwoWithinTheBudget(long bytesPerImage, int expected)
        => Assert.AreEqual(expected, FrozenPasses.ImagesPerPass(bytesPerImage));

    [TestMethod]
    public void PassesCoverEveryImageOnceAndGatherInOrder()
    {
        using var scope = NewDisposeScope();
        var pixels = arange(7 * 3 * 2 * 2, dtype: ScalarType.Float32).reshape(7, 3, 2, 2);
        var passes = new List<long>();
        EncodedImages Fake(Tensor part)
        {
            passes.Add(part.shape[0]);
            return new EncodedImages(part.sum([1, 2, 3]).unsqueeze(1), part * 2);
        }
        var whole = Fake(pixels);
        passes.Clear();
        var gathered = FrozenPasses.Encode(pixels, 3, Fake);
        CollectionAssert.AreEqual(new long[] { 3, 3, 1 }, passes);
        Assert.IsTrue(gathered.Global!.equal(whole.Global!).all().item<bool>(), "pooled rows");
        Assert.IsTrue(gathered.Patches!.equal(whole.Patches!).all().item<bool>(), "patch grids");
    }

    [TestMethod]
    public void OnePassWhenTheBatchFits()
    {
        using var scope = NewDisposeScope();
        var pixels = ones(3, 3, 2, 2);
        var result = new EncodedImages(null, pixels * 5);
        var gathered = FrozenPasses.Encode(pixels, 4, _ => result);
        Assert.AreSame(result.Patches, gathered.Patches, "a batch within one pass is the encoder's own result");
        Assert.IsNull(gathered.Global);
    }

    [TestMethod]
    public void AFailingPassFailsTheEncoding()
    {
        using var scope = NewDisposeScope();
        var pixels = ones(5, 3, 2, 2);
        int calls = 0;
        var error = Assert.ThrowsExactly<InvalidOperationException>(() => FrozenPasses.Encode(pixels, 2, part =>
            ++calls == 2 ? throw new InvalidOperationException("pass 2") : new EncodedImages(part.sum([1, 2, 3]), null)));
        Assert.AreEqual("pass 2", error.Message);
        Assert.AreEqual(2, calls, "no pass runs after the failing one");
    }
}
