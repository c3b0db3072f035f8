using Fsac.MLNet.Checkpoints;
using Fsac.MLNet.Classifiers;
using Fsac.MLNet.PatchCore;
using Fsac.MLNet.Tests.TestDoubles;
using Fsac.MLNet.Tests.Checkpoints;
using System.Diagnostics;
using System.IO.Compression;
using System.Text;

namespace Fsac.MLNet.Tests.Classifiers;

/// <summary>
/// <see cref="FewShotAnomalyClassifier.Load(string)"/> given things that are not model files: each ends in a typed
/// exception within seconds, never a hang (a FIFO blocks whoever opens it) or an untyped crash.
/// </summary>
[TestClass]
public sealed class ModelFileHostileInputTests
{
    private static readonly TimeSpan Limit = TimeSpan.FromSeconds(10);

    private TempDir folder = null!;

    [TestInitialize]
    public void Create() => folder = new TempDir();

    [TestCleanup]
    public void Delete() => folder.Dispose();

    /// <summary>
    /// Runs Load(path) on another thread and returns what it threw (null when it loaded); fails when it has not ended
    /// within <see cref="Limit"/>, after running <paramref name="unblock"/> so that no thread stays stuck.
    /// </summary>
    private static Exception? LoadWithin(string path, Action? unblock = null)
    {
        var load = Task.Run(() =>
        {
            using var model = FewShotAnomalyClassifier.Load(path);
        });
        if (!load.Wait(Limit, CancellationToken.None) && !load.IsCompleted)
        {
            unblock?.Invoke();
            Assert.Fail($"Load('{path}') did not return within {Limit.TotalSeconds} s");
        }
        return load.Exception?.InnerException;
    }

    private static T AssertLoadThrows<T>(string path, Action? unblock = null) where T : Exception
    {
        Exception? error;
        try
        {
            error = LoadWithin(path, unblock);
        }
        catch (AggregateException e)
        {
            error = e.InnerException;
        }
        Assert.IsNotNull(error, $"Load('{path}') succeeded");
        Assert.IsInstanceOfType<T>(error, $"{error.GetType().Name}: {error.Message}");
        Assert.IsFalse(string.IsNullOrWhiteSpace(error.Message));
        return (T)error;
    }

    private static byte[] Zip(params (string Name, byte[] Data)[] entries)
    {
        using var stream = new MemoryStream();
        using (var zip = new ZipArchive(stream, ZipArchiveMode.Create, leaveOpen: true))
            foreach (var (name, data) in entries)
            {
                using var s = zip.CreateEntry(name).Open();
                s.Write(data);
            }
        return stream.ToArray();
    }

    private string Write(string name, byte[] bytes)
    {
        var path = folder.File(name);
        File.WriteAllBytes(path, bytes);
        return path;
    }

    [TestMethod]
    public void AMissingFileThrowsFileNotFound()
    {
        var e = AssertLoadThrows<FileNotFoundException>(folder.File("absent.fsac"));
        StringAssert.Contains(e.Message, "absent.fsac");
    }

    [TestMethod]
    public void AFolderThrowsCheckpointFormat()
    {
        var path = folder.File("model.fsac");
        Directory.CreateDirectory(path);
        var e = AssertLoadThrows<CheckpointFormatException>(path);
        StringAssert.Contains(e.Message, "folder");
    }

    [TestMethod]
    public void AnEmptyFileThrowsCheckpointFormat()
    {
        var e = AssertLoadThrows<CheckpointFormatException>(Write("empty.fsac", []));
        StringAssert.Contains(e.Message, "empty");
    }

    [TestMethod]
    public void AFifoThrowsCheckpointFormatWithoutBlocking()
    {
        if (!OperatingSystem.IsLinux() && !OperatingSystem.IsMacOS()) Assert.Inconclusive("FIFOs are a Unix test.");
        var path = folder.File("pipe.fsac");
        using (var mkfifo = Process.Start(new ProcessStartInfo("mkfifo", [path]) { UseShellExecute = false })!)
        {
            Assert.IsTrue(mkfifo.WaitForExit(10_000), "mkfifo did not finish");
            Assert.AreEqual(0, mkfifo.ExitCode, "mkfifo failed");
        }
        // Were the load to open the FIFO, it would block until a writer comes: one opens and closes it to free that thread.
        var e = AssertLoadThrows<CheckpointFormatException>(path, unblock: () =>
        {
            using var writer = new FileStream(path, FileMode.Open, FileAccess.Write);
        });
        StringAssert.Contains(e.Message, "FIFO");
    }

    [TestMethod]
    public void RandomBytesThrowCheckpointFormat()
    {
        var bytes = new byte[4096];
        new Random(3).NextBytes(bytes);
        var e = AssertLoadThrows<CheckpointFormatException>(Write("random.fsac", bytes));
        StringAssert.Contains(e.Message, "zip");
    }

    [TestMethod]
    public void AZipWithoutAManifestThrowsCheckpointFormat()
    {
        var e = AssertLoadThrows<CheckpointFormatException>(Write("nomanifest.fsac", Zip(("memory.safetensors", [1, 2, 3]))));
        StringAssert.Contains(e.Message, "manifest.json");
    }

    [TestMethod]
    public void AManifestOfAnUnknownFormatThrowsCheckpointFormat()
    {
        var manifest = Encoding.UTF8.GetBytes("{ \"format\": \"someone-elses-model\", \"formatVersion\": 1 }");
        var e = AssertLoadThrows<CheckpointFormatException>(Write("unknown.fsac", Zip(("manifest.json", manifest))));
        StringAssert.Contains(e.Message, "someone-elses-model");
    }

    [TestMethod]
    public void AManifestOfAnUnknownFormatThrowsCheckpointFormatOnAGivenEncoderToo()
    {
        using var encoder = new TinyEncoder();
        var manifest = Encoding.UTF8.GetBytes("{ \"format\": \"someone-elses-model\", \"formatVersion\": 1 }");
        var e = Assert.ThrowsExactly<CheckpointFormatException>(() => FewShotAnomalyClassifier.Load(new MemoryStream(Zip(("manifest.json", manifest))), encoder));
        StringAssert.Contains(e.Message, "someone-elses-model");
    }

    [TestMethod]
    [DataRow("this is not json")]
    [DataRow("[1, 2, 3]")]
    [DataRow("")]
    public void AManifestThatIsNotAJsonObjectThrowsCheckpointFormat(string manifest)
    {
        AssertLoadThrows<CheckpointFormatException>(Write("badjson.fsac", Zip(("manifest.json", Encoding.UTF8.GetBytes(manifest)))));
    }

    [TestMethod]
    public void ATruncatedModelThrowsCheckpointFormat()
    {
        using var encoder = new TinyEncoder();
        var normals = SyntheticImages.Normals(1, seed: 2);
        using var model = FewShotAnomalyClassifier.Fit(encoder, normals, new AnomalyMethodOptions
        {
            Method = AnomalyMethod.PatchCore,
            PatchCore = new Fsac.MLNet.PatchCore.PatchCoreOptions { CalibrationAnomaliesPerNormal = 1 },
        });
        using var stream = new MemoryStream();
        model.Save(stream);
        var bytes = stream.ToArray();
        foreach (var n in normals) n.Dispose();

        AssertLoadThrows<CheckpointFormatException>(Write("truncated.fsac", bytes[..(bytes.Length - 40)]));
        AssertLoadThrows<CheckpointFormatException>(Write("head.fsac", bytes[..200]));
    }
}
