using Fsac.MLNet.Checkpoints;
using TorchSharp;

namespace Fsac.MLNet.Tests.Checkpoints;

[TestClass]
public sealed class SafeTensorsAtomicWriteTests
{
    [TestMethod]
    public void WritingAFileLeavesOnlyThatFile_AndAFailedWriteKeepsTheOldOne()
    {
        using var dir = new TempDir();
        var path = dir.File("features.safetensors");
        var one = new TensorData(torch.ScalarType.Float32, [2], new byte[8]);
        SafeTensors.Write(path, new Dictionary<string, TensorData> { ["a"] = one });
        var before = File.ReadAllBytes(path);
        CollectionAssert.AreEqual(new[] { "features.safetensors" }, Directory.GetFiles(Path.GetDirectoryName(path)!).Select(Path.GetFileName).ToArray());

        // A tensor whose bytes do not match its shape is refused, naming it: the old file stays, no temp file is left.
        var broken = new TensorData(torch.ScalarType.Float32, [4], new byte[8]);
        var e = Assert.ThrowsExactly<ArgumentException>(() => SafeTensors.Write(path, new Dictionary<string, TensorData> { ["a"] = broken }));
        StringAssert.Contains(e.Message, "'a'");
        CollectionAssert.AreEqual(before, File.ReadAllBytes(path));
        CollectionAssert.AreEqual(new[] { "features.safetensors" }, Directory.GetFiles(Path.GetDirectoryName(path)!).Select(Path.GetFileName).ToArray());
    }
}
