using Fsac.MLNet.Checkpoints;
using Fsac.MLNet.Encoders;
using Fsac.MLNet.Encoders.Clip;
using Fsac.MLNet.Imaging;

namespace Fsac.MLNet.Tests.Checkpoints;

/// <summary>A FIFO where a CLIP config, a vocabulary or an image should be: a typed error, without blocking.</summary>
[TestClass]
public sealed class ClipAndImageFifoTests
{
    [TestMethod]
    public void AFifoAsTheOpenClipConfigIsRefused()
    {
        using var dir = new TempDir();
        var folder = Directory.CreateDirectory(dir.File("model")).FullName;
        var config = Path.Combine(folder, "open_clip_config.json");
        Fifo.Create(config);
        var e = Fifo.AssertThrowsWithoutBlocking<CheckpointFormatException>(config, () => ClipEncoder.Load(folder));
        StringAssert.Contains(e.Message, config);
    }

    [TestMethod]
    public void AnOpenClipConfigThatIsNotJsonIsACheckpointFormatError()
    {
        using var dir = new TempDir();
        var folder = Directory.CreateDirectory(dir.File("model")).FullName;
        var config = Path.Combine(folder, "open_clip_config.json");
        File.WriteAllText(config, "{\"model_cfg\": [1, 2");
        var e = Assert.ThrowsExactly<CheckpointFormatException>(() => ClipEncoder.Load(folder));
        StringAssert.Contains(e.Message, config);
        StringAssert.Contains(e.Message, "JSON");
    }

    [TestMethod]
    public void FifosAsVocabularyFilesAreRefused()
    {
        using var dir = new TempDir();
        var gz = dir.File(ClipTokenizer.BpeGzFileName);
        Fifo.Create(gz);
        Fifo.AssertThrowsWithoutBlocking<CheckpointFormatException>(gz, () => ClipTokenizer.FromBpeGz(gz));

        var vocab = dir.File("vocab.json");
        var merges = dir.File("merges.txt");
        File.WriteAllText(vocab, "{\"a\": 0}");
        Fifo.Create(merges);
        var e = Fifo.AssertThrowsWithoutBlocking<CheckpointFormatException>(merges, () => ClipTokenizer.FromVocabAndMerges(vocab, merges));
        StringAssert.Contains(e.Message, merges);
    }

    [TestMethod]
    public void AFifoOrALinkToOneAsAnImageIsADecodeError()
    {
        using var dir = new TempDir();
        var fifo = dir.File("camera.png");
        Fifo.Create(fifo);
        var e = Fifo.AssertThrowsWithoutBlocking<ImageDecodeException>(fifo, () => ImageLoader.Default.Load(fifo).Dispose());
        StringAssert.Contains(e.Message, fifo);
        var link = dir.File("latest.png");
        File.CreateSymbolicLink(link, fifo);
        Fifo.AssertThrowsWithoutBlocking<ImageDecodeException>(fifo, () => ImageLoader.Default.Load(link).Dispose());
    }
}
