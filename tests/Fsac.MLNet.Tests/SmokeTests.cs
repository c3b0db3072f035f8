using Fsac.MLNet.Native;
using TorchSharp;

namespace Fsac.MLNet.Tests;

[TestClass]
public class TorchRuntimeTests
{
    [TestMethod]
    public void LibTorchLoadsAndComputes()
    {
        TorchRuntime.EnsureLoaded();
        using var a = torch.ones(2, 3);
        using var s = a.sum();
        Assert.AreEqual(6f, s.item<float>());
    }

    [TestMethod]
    public void LoadFailureOnOldLibStdCxxPointsToTheFix()
    {
        var oldLib = Path.GetTempFileName();
        try
        {
            File.WriteAllText(oldLib, "GLIBCXX_3.4.29 GLIBCXX_3.4.30");
            var failure = new TypeInitializationException("TorchSharp.torch",
                new DllNotFoundException("libLibTorchSharp.so: version `GLIBCXX_3.4.32' not found"));
            var message = TorchRuntime.DescribeLoadFailure(failure, oldLib);
            StringAssert.Contains(message, "GLIBCXX_3.4.32' not found");
            StringAssert.Contains(message, "fix-torchsharp-glibcxx.sh");
        }
        finally { File.Delete(oldLib); }
    }

    [TestMethod]
    public void LoadFailureOnNewLibStdCxxDoesNotBlameIt()
    {
        var newLib = Path.GetTempFileName();
        try
        {
            File.WriteAllText(newLib, "GLIBCXX_3.4.30 GLIBCXX_3.4.32");
            var message = TorchRuntime.DescribeLoadFailure(new DllNotFoundException("libtorch_cpu.so: cannot open"), newLib);
            Assert.DoesNotContain("fix-torchsharp-glibcxx.sh", message);
            StringAssert.Contains(message, "TorchSharp-cpu");
        }
        finally { File.Delete(newLib); }
    }
}
