using Fsac.MLNet.Tests.Checkpoints;
using Fsac.Cli;
using Fsac.Cli.Outputs;

namespace Fsac.MLNet.Tests.Cli;

/// <summary><see cref="OutputFile"/>, through which the CLI writes every result: atomic, collision-free, and naming the target when it fails.</summary>
[TestClass]
public class OutputFileTests
{
    [TestMethod]
    public void AFailureMidWriteKeepsTheOldFileAndLeavesNoTempFile()
    {
        using var dir = new TempDir();
        var target = dir.File("results.json");
        File.WriteAllText(target, "old");

        foreach (var failure in new Exception[] { new InvalidOperationException("boom"), new IOException("No space left on device") })
        {
            var thrown = Assert.Throws<Exception>(() => OutputFile.Write(target, stream =>
            {
                stream.Write(new byte[100_000]);
                throw failure;
            }));

            Assert.AreEqual("old", File.ReadAllText(target));
            CollectionAssert.AreEqual(new[] { target }, Directory.GetFiles(dir.Path), "the temp file is removed");
            if (failure is IOException)
            {
                Assert.IsInstanceOfType<OutputFileException>(thrown);
                StringAssert.StartsWith(thrown.Message, $"Cannot write '{target}': No space left on device");
            }
            else Assert.AreSame(failure, thrown, "a failure of the content itself passes through unchanged");
        }
    }

    [TestMethod]
    public void EachWriteHasItsOwnTempFileBesideTheTarget()
    {
        using var dir = new TempDir();
        var target = Path.Combine(dir.File("new-folder"), "model.fsac");
        var temps = new List<string>();

        for (int i = 0; i < 2; i++)
            OutputFile.Write(target, stream =>
            {
                temps.Add(((FileStream)stream).Name);
                stream.WriteByte((byte)i);
            });

        Assert.HasCount(2, temps);
        Assert.AreNotEqual(temps[0], temps[1]);
        Assert.IsTrue(temps.All(t => Path.GetDirectoryName(t) == Path.GetDirectoryName(target) && t != target), string.Join(", ", temps));
        CollectionAssert.AreEqual(new byte[] { 1 }, File.ReadAllBytes(target));
        CollectionAssert.AreEqual(new[] { target }, Directory.GetFiles(Path.GetDirectoryName(target)!));
    }

    [TestMethod]
    public void ConcurrentWritesOfOneTargetNeverMixTheirBytes()
    {
        using var dir = new TempDir();
        var target = dir.File("grid.png");

        Parallel.For(0, 8, i => OutputFile.Write(target, stream =>
        {
            for (int block = 0; block < 16; block++) stream.Write(Enumerable.Repeat((byte)i, 4096).ToArray());
        }));

        var bytes = File.ReadAllBytes(target);
        Assert.HasCount(16 * 4096, bytes);
        Assert.IsTrue(bytes.All(b => b == bytes[0]), "the file is one writer's, whole");
        CollectionAssert.AreEqual(new[] { target }, Directory.GetFiles(dir.Path));
    }

    [TestMethod]
    public void AFolderInTheWayFailsNamingTheTarget()
    {
        using var dir = new TempDir();
        var folder = Directory.CreateDirectory(dir.File("results.md")).FullName;
        var file = dir.File("a-file");
        File.WriteAllText(file, "x");
        var below = Path.Combine(file, "model.fsac");

        var e = Assert.ThrowsExactly<OutputFileException>(() => OutputFile.WriteText(folder, "text"));
        StringAssert.StartsWith(e.Message, $"Cannot write '{folder}'");
        e = Assert.ThrowsExactly<OutputFileException>(() => OutputFile.CreateFolderFor(below));
        StringAssert.StartsWith(e.Message, $"Cannot write '{below}'");
        CollectionAssert.AreEqual(new[] { file }, Directory.GetFiles(dir.Path));
    }
}
