using TorchSharp;
namespace Fsac.MLNet.Tests;

[TestClass]
public class SmokeTests
{
    [TestMethod]
    public void TorchLoads()
    {
        using var a = torch.ones(2, 3);
        Assert.AreEqual(6f, a.sum().item<float>());
    }
}
