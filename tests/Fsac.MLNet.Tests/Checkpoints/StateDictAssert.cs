using Fsac.MLNet.Checkpoints;

namespace Fsac.MLNet.Tests.Checkpoints;

internal static class StateDictAssert
{
    /// <summary>Same names, and for each the same dtype, shape and bytes.</summary>
    public static void AreIdentical(IReadOnlyDictionary<string, TensorData> expected, IReadOnlyDictionary<string, TensorData> actual)
    {
        CollectionAssert.AreEquivalent(expected.Keys.ToList(), actual.Keys.ToList(), "tensor names differ");
        foreach (var (name, e) in expected)
        {
            var a = actual[name];
            Assert.AreEqual(e.DType, a.DType, $"dtype of {name}");
            CollectionAssert.AreEqual(e.Shape, a.Shape, $"shape of {name}");
            Assert.IsTrue(e.Data.AsSpan().SequenceEqual(a.Data), $"bytes of {name} differ");
        }
    }
}
