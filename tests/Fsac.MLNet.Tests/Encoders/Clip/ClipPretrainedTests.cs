using Fsac.MLNet.Encoders.Clip;
using System.Text.RegularExpressions;

namespace Fsac.MLNet.Tests.Encoders.Clip;

[TestClass]
public class ClipPretrainedTests
{
    [TestMethod]
    [DataRow("ViT-B-16-plus-240", "laion400m_e31")]
    [DataRow("ViT-B-16-plus-240", "laion400m_e32")]
    [DataRow("ViT-B-16", "openai")]
    [DataRow("ViT-B-16", "laion400m_e31")]
    [DataRow("ViT-B-16", "laion400m_e32")]
    [DataRow("ViT-B-16", "laion2b_s34b_b88k")]
    [DataRow("ViT-B-32", "openai")]
    [DataRow("ViT-B-32", "laion2b_s34b_b79k")]
    [DataRow("ViT-L-14", "openai")]
    [DataRow("ViT-L-14", "laion2b_s32b_b82k")]
    public void PaperAndCommonWeightsAreRegistered(string model, string tag)
    {
        var w = ClipPretrained.Get(model, tag);
        Assert.AreEqual(model, w.Model);
        Assert.AreEqual(tag, w.Tag);
        Assert.AreEqual("https", w.Url.Scheme);
        Assert.AreEqual(tag == "openai", w.QuickGelu);
        Assert.HasCount(3, w.ImageMean);
        Assert.HasCount(3, w.ImageStd);
    }

    [TestMethod]
    public void HashesAreThoseTheUrlsPublish()
    {
        foreach (var w in ClipPretrained.All)
        {
            switch (w.Url.Host)
            {
                case "openaipublic.azureedge.net":
                    Assert.AreEqual(w.Url.Segments[^2].TrimEnd('/'), w.Sha256, w.ToString());
                    Assert.AreEqual(64, w.Sha256!.Length);
                    break;
                case "github.com":
                    Assert.AreEqual(Regex.Match(w.FileName, @"-([0-9a-f]{8})\.pt$").Groups[1].Value, w.Sha256, w.ToString());
                    break;
                case "huggingface.co":
                    Assert.IsNull(w.Sha256, w.ToString());
                    Assert.AreEqual("open_clip_pytorch_model.bin", w.FileName);
                    break;
                default:
                    Assert.Fail($"unexpected host in {w}");
                    break;
            }
        }
        Assert.AreEqual(ClipPretrained.All.Count, ClipPretrained.All.Select(w => (w.Model, w.Tag)).Distinct().Count(), "duplicate entries");
    }

    [TestMethod]
    public void TagsAreNormalisedAndModelNamesIgnoreCase()
    {
        Assert.AreSame(ClipPretrained.Get("ViT-B-16-plus-240", "laion400m_e32"), ClipPretrained.Get("vit-b-16-PLUS-240", "LAION400M-E32"));
    }

    [TestMethod]
    public void UnknownModelListsTheKnownOnes()
    {
        var e = Assert.ThrowsExactly<ArgumentException>(() => ClipPretrained.Get("ViT-Q-99", "openai"));
        Assert.AreEqual("model", e.ParamName);
        foreach (var model in ClipPretrained.All.Select(w => w.Model).Distinct()) StringAssert.Contains(e.Message, model);
        Assert.ThrowsExactly<ArgumentException>(() => ClipPretrained.Download("ViT-Q-99", "openai", Path.GetTempPath()));
    }

    [TestMethod]
    public void UnknownTagListsTheModelsTags()
    {
        var e = Assert.ThrowsExactly<ArgumentException>(() => ClipPretrained.Get("ViT-B-16-plus-240", "openai"));
        Assert.AreEqual("tag", e.ParamName);
        StringAssert.Contains(e.Message, "laion400m_e31, laion400m_e32");
    }
}
