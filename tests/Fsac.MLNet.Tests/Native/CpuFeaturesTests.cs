using Fsac.MLNet.Native;

namespace Fsac.MLNet.Tests.Native;

[TestClass]
public sealed class CpuFeaturesTests
{
    [TestMethod]
    public void FindsNativeBFloat16InTheFlagsLine()
    {
        const string amd = "processor\t: 0\nvendor_id\t: AuthenticAMD\nflags\t\t: fpu vme avx2 avx512f avx512_bf16 avx512_vnni\nbugs\t\t: sysret_ss_attrs\n";
        const string intel = "processor\t: 0\nflags\t\t: fpu avx512f amx_bf16 amx_tile amx_int8\n";
        const string plain = "processor\t: 0\nflags\t\t: fpu avx2 avx512f avx512bw avx512_vnni\n";
        Assert.IsTrue(CpuFeatures.ListsBFloat16(amd));
        Assert.IsTrue(CpuFeatures.ListsBFloat16(intel));
        Assert.IsFalse(CpuFeatures.ListsBFloat16(plain));
        Assert.IsFalse(CpuFeatures.ListsBFloat16("processor\t: 0\nbugs\t\t: avx512_bf16\n"), "only the flags line counts");
        Assert.IsFalse(CpuFeatures.ListsBFloat16(""));
        Assert.ThrowsExactly<ArgumentNullException>(() => CpuFeatures.ListsBFloat16(null!));
    }

    [TestMethod]
    public void ThisMachineAnswersLikeItsCpuinfo()
    {
        if (!OperatingSystem.IsLinux()) Assert.IsFalse(CpuFeatures.HasNativeBFloat16);
        else Assert.AreEqual(CpuFeatures.ListsBFloat16(File.ReadAllText("/proc/cpuinfo")), CpuFeatures.HasNativeBFloat16);
    }
}
