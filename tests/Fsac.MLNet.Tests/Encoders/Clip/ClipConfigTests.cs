using Fsac.MLNet.Encoders.Clip;

namespace Fsac.MLNet.Tests.Encoders.Clip;

[TestClass]
public class ClipConfigTests
{
    [TestMethod]
    public void BuiltInConfigsEqualOpenClipFiles()
    {
        foreach (var file in Directory.GetFiles(SharedData.Path("clip-reference", "model-configs"), "*.json"))
        {
            var name = Path.GetFileNameWithoutExtension(file);
            Assert.AreEqual(ClipConfig.Parse(File.ReadAllText(file)), ClipConfig.FromName(name), name);
        }
    }

    [TestMethod]
    public void PaperModelHasTheDocumentedShape()
    {
        var c = ClipConfig.FromName("vit-b-16-plus-240");
        Assert.AreEqual(640, c.EmbedDim);
        Assert.AreEqual(14, c.Vision.Heads);
        Assert.AreEqual(15, c.Vision.GridSize);
    }

    [TestMethod]
    public void RoundTripsThroughJson()
    {
        var c = ClipConfig.Parse(File.ReadAllText(SharedData.Path("clip-reference", "tiny-vit-quickgelu", "open_clip_config.json")));
        Assert.IsTrue(c.QuickGelu);
        Assert.AreEqual(c, ClipConfig.Parse(c.ToJson()));
    }

    [TestMethod]
    public void UnknownNameListsKnownModels()
    {
        var ex = Assert.ThrowsExactly<ArgumentException>(() => ClipConfig.FromName("ViT-X-99"));
        StringAssert.Contains(ex.Message, "ViT-B-16-plus-240");
    }

    [TestMethod]
    public void MalformedConfigsAreRejected()
    {
        Assert.ThrowsExactly<FormatException>(() => ClipConfig.Parse("{not json"));
        Assert.ThrowsExactly<FormatException>(() => ClipConfig.Parse("{\"embed_dim\": 64}"));
        Assert.ThrowsExactly<FormatException>(() => ClipConfig.Parse(
            "{\"embed_dim\": 64, \"vision_cfg\": {\"width\": 100, \"head_width\": 64}, \"text_cfg\": {}}"));
    }
}
