using Fsac.MLNet.Native;

namespace Fsac.MLNet.Tests.Native;

[TestClass]
public sealed class MappedLibrariesTests
{
    private const string Maps =
        "55d0c0a00000-55d0c0a02000 r--p 00000000 fd:01 1001                       /usr/bin/dotnet\n" +
        "7f1000000000-7f1000100000 r--p 00000000 fd:01 2002                       /opt/my app/runtimes/linux-x64/native/libc10.so\n" +
        "7f1000100000-7f1000200000 r-xp 00100000 fd:01 2002                       /opt/my app/runtimes/linux-x64/native/libc10.so\n" +
        "7f1000200000-7f1000300000 r--p 00000000 fd:01 3003                       /usr/lib/x86_64-linux-gnu/libtorch_cpu.so (deleted)\n" +
        "7f1000300000-7f1000301000 rw-p 00000000 00:00 0 \n" +
        "7f1000301000-7f1000302000 rw-p 00000000 00:00 0                          [heap]\n" +
        "7f1000400000-7f1000401000 r--p 00000000 fd:01 4004                       /usr/lib/libmylibc10.so\n" +
        "7f1000500000-7f1000501000 r--p 00000000 fd:01 5005                       /tmp/libtorch.so.1\n";

    [TestMethod]
    public void ListsEachNamedFileOnceInAddressOrder()
    {
        var found = MappedLibraries.Parse(Maps, ["libc10.so", "libtorch_cpu.so", "libtorch.so"]);
        CollectionAssert.AreEqual(new[]
        {
            "/opt/my app/runtimes/linux-x64/native/libc10.so",
            "/usr/lib/x86_64-linux-gnu/libtorch_cpu.so",
        }, found.ToList());
    }

    [TestMethod]
    public void IgnoresAnonymousMappingsAndOtherFiles()
    {
        Assert.IsEmpty(MappedLibraries.Parse(Maps, ["[heap]", "libLibTorchSharp.so"]));
        Assert.IsEmpty(MappedLibraries.Parse("", ["libc10.so"]));
        Assert.ThrowsExactly<ArgumentNullException>(() => MappedLibraries.Parse(null!, ["libc10.so"]));
    }

    [TestMethod]
    public void ReadsThisProcess()
    {
        if (!OperatingSystem.IsLinux()) Assert.Inconclusive("/proc/self/maps is Linux's.");
        var found = MappedLibraries.Find(["libcoreclr.so"]);
        Assert.HasCount(1, found);
        Assert.AreEqual(Path.Combine(Path.GetDirectoryName(typeof(object).Assembly.Location)!, "libcoreclr.so"), found[0]);
    }
}
