using Fsac.MLNet.Checkpoints;
using TorchSharp;

namespace Fsac.MLNet.Tests.Checkpoints;

[TestClass]
public class StateDictValidatorTests
{
    private static Dictionary<string, TensorData> Tensors(params (string Name, long[] Shape)[] items)
        => items.ToDictionary(i => i.Name, i => new TensorData(torch.ScalarType.Float32, i.Shape, new byte[4 * i.Shape.Aggregate(1L, (a, b) => a * b)]));

    [TestMethod]
    public void MatchingFixturePasses()
    {
        var actual = SafeTensors.Read(SharedData.Path("clip-reference", "tiny-vit", "open_clip_model.safetensors"));
        StateDictValidator.Validate(actual.ToDictionary(kv => kv.Key, kv => kv.Value.Shape.ToArray()), actual, "fixture");
    }

    [TestMethod]
    public void EveryMissingUnexpectedAndMisshapedTensorIsListed()
    {
        var expected = new Dictionary<string, long[]>
        {
            ["ok"] = [2, 3], ["gone.a"] = [4], ["gone.b"] = [1, 2], ["wide"] = [8, 2], ["scalar"] = [],
        };
        var actual = Tensors(("ok", [2, 3]), ("wide", [2, 8]), ("scalar", [1]), ("extra", [5]));

        var e = Assert.ThrowsExactly<CheckpointMismatchException>(() => StateDictValidator.Validate(expected, actual, "ckpt.bin"));

        CollectionAssert.AreEqual(new[] { "gone.a", "gone.b" }, e.Missing.ToList());
        CollectionAssert.AreEqual(new[] { "extra" }, e.Unexpected.ToList());
        CollectionAssert.AreEqual(new[] { "scalar", "wide" }, e.WrongShapes.Select(w => w.Name).ToList());
        CollectionAssert.AreEqual(new long[] { 8, 2 }, e.WrongShapes[1].Expected);
        CollectionAssert.AreEqual(new long[] { 2, 8 }, e.WrongShapes[1].Actual);
        Assert.AreEqual("ckpt.bin", e.Checkpoint);
        StringAssert.Contains(e.Message, "2 missing, 1 unexpected and 2 wrongly shaped");
        StringAssert.Contains(e.Message, "gone.b [1, 2]");
        StringAssert.Contains(e.Message, "extra [5]");
        StringAssert.Contains(e.Message, "wide: [8, 2] -> [2, 8]");
        StringAssert.Contains(e.Message, "scalar: [] -> [1]");
        Assert.IsInstanceOfType<IOException>(e);
    }

    [TestMethod]
    public void LongListsAreShortenedInTheMessageButKeptWhole()
    {
        var expected = Enumerable.Range(0, 150).ToDictionary(i => $"layer.{i:D3}", _ => new long[] { 3 });

        var e = Assert.ThrowsExactly<CheckpointMismatchException>(() => StateDictValidator.Validate(expected, Tensors(), "empty"));

        Assert.HasCount(150, e.Missing);
        StringAssert.Contains(e.Message, $"layer.{StateDictValidator.MaxListed - 1:D3} [3]");
        Assert.DoesNotContain($"layer.{StateDictValidator.MaxListed:D3}", e.Message);
        StringAssert.Contains(e.Message, $"... and {150 - StateDictValidator.MaxListed} more");
    }
}
