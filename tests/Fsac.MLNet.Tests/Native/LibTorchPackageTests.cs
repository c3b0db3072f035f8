using Fsac.MLNet.Native;

namespace Fsac.MLNet.Tests.Native;

[TestClass]
public sealed class LibTorchPackageTests
{
    private string root = "";

    [TestInitialize]
    public void CreateRoot() => root = Directory.CreateTempSubdirectory("fsac-libtorch-layout").FullName;

    [TestCleanup]
    public void DeleteRoot() => Directory.Delete(root, recursive: true);

    private string Touch(params string[] parts)
    {
        var path = Path.Combine([root, .. parts]);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllBytes(path, []);
        return path;
    }

    [TestMethod]
    public void FindsAnApplicationsRuntimesFolder()
    {
        Touch("app", "TorchSharp.dll");
        var expected = LibTorchPackage.FileNames.Select(name => Touch("app", "runtimes", "linux-x64", "native", name)).ToList();
        var package = LibTorchPackage.Find(Path.Combine(root, "app"), "2.10.0", "linux-x64");
        Assert.IsNotNull(package);
        CollectionAssert.AreEqual(expected, package.Files.ToList());
        Assert.AreEqual(expected[1], package.PathOf("libtorch_cpu.so"));
        Assert.IsNull(LibTorchPackage.Find(Path.Combine(root, "app"), "2.10.0", "linux-arm64"), "another runtime's folder is not this one's");
    }

    [TestMethod]
    public void FindsTheLibrariesBesideTorchSharpAfterARidSpecificPublish()
    {
        var expected = LibTorchPackage.FileNames.Select(name => Touch("publish", name)).ToList();
        var package = LibTorchPackage.Find(Path.Combine(root, "publish"), null, "linux-x64");
        Assert.IsNotNull(package);
        CollectionAssert.AreEqual(expected, package.Files.ToList());
    }

    [TestMethod]
    public void ResolvesSymbolicLinksAsTheKernelNamesMappedFiles()
    {
        if (OperatingSystem.IsWindows()) Assert.Inconclusive("/proc/self/maps names are Linux's.");
        foreach (var name in LibTorchPackage.FileNames) Touch("real", "runtimes", "linux-x64", "native", name);
        Directory.CreateSymbolicLink(Path.Combine(root, "link"), Path.Combine(root, "real"));
        var real = LibTorchPackage.Find(Path.Combine(root, "real"), null, "linux-x64");
        var linked = LibTorchPackage.Find(Path.Combine(root, "link"), null, "linux-x64");
        Assert.IsNotNull(real);
        Assert.IsNotNull(linked);
        CollectionAssert.AreEqual(real.Files.ToList(), linked.Files.ToList());
        Assert.IsFalse(linked.Files.Any(f => f.Contains($"{Path.DirectorySeparatorChar}link{Path.DirectorySeparatorChar}")));
    }

    [TestMethod]
    public void FindsTheNuGetCacheLayoutThatNotebooksLoadFrom()
    {
        var lib = Path.GetDirectoryName(Touch("packages", "torchsharp", "0.107.0", "lib", "net8.0", "TorchSharp.dll"))!;
        var libTorch = new[] { "libc10.so", "libtorch_cpu.so", "libtorch.so" }
            .Select(name => Touch("packages", "libtorch-cpu-linux-x64", "2.10.0", "runtimes", "linux-x64", "native", name)).ToList();
        var torchSharp = Touch("packages", "torchsharp", "0.107.0", "runtimes", "linux-x64", "native", "libLibTorchSharp.so");
        // Another libtorch version in the cache is not the one TorchSharp was built against.
        Touch("packages", "libtorch-cpu-linux-x64", "2.9.0", "runtimes", "linux-x64", "native", "libtorch_cpu.so");

        var package = LibTorchPackage.Find(lib, "2.10.0", "linux-x64");
        Assert.IsNotNull(package);
        CollectionAssert.AreEqual(libTorch.Append(torchSharp).ToList(), package.Files.ToList());
        Assert.IsNull(LibTorchPackage.Find(lib, "2.9.0", "linux-x64"), "2.9.0 lacks libc10.so and libtorch.so");
        Assert.IsNull(LibTorchPackage.Find(lib, null, "linux-x64"), "without a version only the application layout counts");
    }

    [TestMethod]
    public void FindsNothingWhereALibraryIsMissing()
    {
        Touch("app", "TorchSharp.dll");
        foreach (var name in LibTorchPackage.FileNames.Where(n => n != "libc10.so")) Touch("app", "runtimes", "linux-x64", "native", name);
        Assert.IsNull(LibTorchPackage.Find(Path.Combine(root, "app"), "2.10.0", "linux-x64"));

        // A TorchSharp.dll outside a folder named torchsharp is not in the NuGet cache.
        var lib = Path.GetDirectoryName(Touch("packages", "elsewhere", "0.107.0", "lib", "net8.0", "TorchSharp.dll"))!;
        foreach (var name in LibTorchPackage.FileNames) Touch("packages", "libtorch-cpu-linux-x64", "2.10.0", "runtimes", "linux-x64", "native", name);
        Touch("packages", "elsewhere", "0.107.0", "runtimes", "linux-x64", "native", "libLibTorchSharp.so");
        Assert.IsNull(LibTorchPackage.Find(lib, "2.10.0", "linux-x64"));
    }

    [TestMethod]
    public void ListsItsLibrariesInDependencyOrder()
    {
        CollectionAssert.AreEqual(new[] { "libc10.so", "libtorch_cpu.so", "libtorch.so", "libLibTorchSharp.so" }, LibTorchPackage.FileNames.ToList());
        foreach (var name in LibTorchPackage.FileNames) Touch("app", name);
        var package = LibTorchPackage.Find(Path.Combine(root, "app"), null, "linux-x64")!;
        Assert.ThrowsExactly<ArgumentException>(() => package.PathOf("libgomp.so.1"));
    }
}
