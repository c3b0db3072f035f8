using Fsac.MLNet.Checkpoints;
using Fsac.MLNet.Checkpoints.Onnx;
using Fsac.MLNet.Encoders;

namespace Fsac.MLNet.Tests.Checkpoints;

/// <summary>
/// Every loader of weights given a FIFO, a link to one, or a folder: a <see cref="CheckpointFormatException"/> naming
/// the path, at once. Opening a FIFO would block until a writer comes, so none may be opened.
/// </summary>
[TestClass]
public sealed class NonRegularFileTests
{
    private TempDir folder = null!;

    [TestInitialize]
    public void Create() => folder = new TempDir();

    [TestCleanup]
    public void Delete() => folder.Dispose();

    /// <summary>The loaders, by name, for the data rows.</summary>
    private static void Load(string loader, string path)
    {
        switch (loader)
        {
            case "CheckpointReader": CheckpointReader.ReadStateDict(path); break;
            case "TorchPickleReader": TorchPickleReader.Read(path); break;
            case "SafeTensors": SafeTensors.Read(path); break;
            case "OnnxModelReader": OnnxModelReader.Read(path); break;
            case "ResNet18Encoder": ResNet18Encoder.Load(path, PackagedModels.ResNetPreprocess).Dispose(); break;
            default: throw new ArgumentException(loader);
        }
    }

    [TestMethod]
    [DataRow("CheckpointReader")]
    [DataRow("TorchPickleReader")]
    [DataRow("SafeTensors")]
    [DataRow("OnnxModelReader")]
    [DataRow("ResNet18Encoder")]
    public void AFifoIsRefusedWithoutBeingOpened(string loader)
    {
        var path = folder.File("weights.bin");
        Fifo.Create(path);

        var e = Fifo.AssertThrowsWithoutBlocking<CheckpointFormatException>(path, () => Load(loader, path));

        Assert.AreEqual(path, e.FilePath);
        StringAssert.Contains(e.Message, "not a regular file (a FIFO");
    }

    [TestMethod]
    [DataRow("CheckpointReader")]
    [DataRow("OnnxModelReader")]
    public void ALinkToAFifoIsJudgedByTheFifo(string loader)
    {
        var fifo = folder.File("pipe");
        Fifo.Create(fifo);
        var link = folder.File("model.safetensors");
        File.CreateSymbolicLink(link, fifo);

        var e = Fifo.AssertThrowsWithoutBlocking<CheckpointFormatException>(fifo, () => Load(loader, link));

        Assert.AreEqual(link, e.FilePath);
        StringAssert.Contains(e.Message, "FIFO");
    }

    [TestMethod]
    public void AFifoFoundInAModelFolderIsRefused()
    {
        Fifo.Create(folder.File("model.safetensors"));

        var e = Fifo.AssertThrowsWithoutBlocking<CheckpointFormatException>(folder.File("model.safetensors"),
            () => CheckpointReader.ReadStateDict(folder.Path));

        Assert.AreEqual(folder.File("model.safetensors"), e.FilePath);
    }

    [TestMethod]
    [DataRow("TorchPickleReader")]
    [DataRow("SafeTensors")]
    [DataRow("OnnxModelReader")]
    public void AFolderIsRefusedNamingIt(string loader)
    {
        var path = folder.File("model.onnx");
        Directory.CreateDirectory(path);

        var e = Assert.ThrowsExactly<CheckpointFormatException>(() => Load(loader, path));

        Assert.AreEqual(path, e.FilePath);
        StringAssert.Contains(e.Message, "is a folder");
    }

    [TestMethod]
    [DataRow("TorchPickleReader")]
    [DataRow("SafeTensors")]
    [DataRow("OnnxModelReader")]
    public void AMissingFileIsFileNotFound(string loader)
    {
        var path = folder.File("absent.bin");
        var e = Assert.ThrowsExactly<FileNotFoundException>(() => Load(loader, path));
        Assert.AreEqual(path, e.FileName);
    }
}
