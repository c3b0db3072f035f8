using Fsac.MLNet.Checkpoints;
using Fsac.MLNet.Tests.Checkpoints;
using System.IO.Compression;
using System.Text;
using Microsoft.ML;

namespace Fsac.MLNet.Tests.MLNet;

/// <summary>
/// LoadWithFewShotAnomaly given things that are not pipeline archives: a typed error naming the file and what is
/// wrong, at once, without recursing on deep JSON or inflating a forged entry.
/// </summary>
[TestClass]
public sealed class PipelineHostileInputTests
{
    private TempDir folder = null!;

    [TestInitialize]
    public void Create() => folder = new TempDir();

    [TestCleanup]
    public void Delete() => folder.Dispose();

    private string Write(byte[] bytes)
    {
        var path = folder.File("pipeline.zip");
        File.WriteAllBytes(path, bytes);
        return path;
    }

    private static byte[] Zip(string manifest)
    {
        using var stream = new MemoryStream();
        using (var zip = new ZipArchive(stream, ZipArchiveMode.Create, leaveOpen: true))
        using (var entry = zip.CreateEntry("manifest.json").Open())
            entry.Write(Encoding.UTF8.GetBytes(manifest));
        return stream.ToArray();
    }

    private static InvalidDataException LoadThrows(string path) => Assert.ThrowsExactly<InvalidDataException>(
        () => new MLContext().Model.LoadWithFewShotAnomaly(path, out _, new FakeBackboneResolver(new FakeCalls())));

    [TestMethod]
    [DataRow("deep", "its manifest is not valid JSON (The maximum configured depth of 32 has been exceeded")]
    [DataRow("not json", "its manifest is not valid JSON")]
    [DataRow("""{"format":"Fsac.MLNet.FewShotAnomalyPipeline","version":1,"stages":[{}]}""", "a stage of its manifest names no entry")]
    [DataRow("""{"format":"Fsac.MLNet.FewShotAnomalyPipeline","version":1,"stages":[{"entry":"stages/0-mlnet.zip"}]}""", "entry 'stages/0-mlnet.zip' is missing")]
    public void ABadManifestIsNamed(string manifest, string problem)
    {
        if (manifest == "deep") manifest = $$"""{"format":"Fsac.MLNet.FewShotAnomalyPipeline","unknown":{{new string('[', 10_000)}}{{new string(']', 10_000)}}}""";
        var path = Write(Zip(manifest));

        var e = LoadThrows(path);

        StringAssert.Contains(e.Message, $"'{path}' is not a pipeline saved by SaveWithFewShotAnomaly");
        StringAssert.Contains(e.Message, problem);
    }

    [TestMethod]
    public void AManifestDeclaring16MiBFromAFewBytesIsRefusedBeforeInflating()
    {
        var path = Write(ZipHeaders.WithDeclaredSize(Zip("{}"), "manifest.json", 16u << 20));

        var e = LoadThrows(path);

        Assert.IsInstanceOfType<CheckpointFormatException>(e.InnerException);
        StringAssert.Contains(e.Message, "zip entry 'manifest.json' declares 16777216 bytes from");
    }

    [TestMethod]
    public void AFifoIsRefusedWithoutBeingOpened()
    {
        var path = folder.File("pipeline.zip");
        Fifo.Create(path);

        var e = Fifo.AssertThrowsWithoutBlocking<CheckpointFormatException>(path,
            () => new MLContext().Model.LoadWithFewShotAnomaly(path, out _));

        Assert.AreEqual(path, e.FilePath);
        StringAssert.Contains(e.Message, "FIFO");
    }
}
