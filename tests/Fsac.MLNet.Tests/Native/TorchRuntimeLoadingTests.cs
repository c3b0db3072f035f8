using Fsac.MLNet.Native;
using System.Diagnostics;

namespace Fsac.MLNet.Tests.Native;

[TestClass]
public sealed class TorchRuntimeLoadingTests
{
    [TestMethod]
    public void MapsThePackagesOwnLibraries()
    {
        if (!OperatingSystem.IsLinux()) Assert.Inconclusive("The package's libraries are loaded by path on Linux.");
        TorchRuntime.EnsureLoaded();
        var package = LibTorchPackage.Locate();
        Assert.IsNotNull(package, "the test output holds runtimes/linux-x64/native/");
        StringAssert.EndsWith(Path.GetDirectoryName(package.PathOf("libtorch_cpu.so")), Path.Combine("runtimes", "linux-x64", "native"));
        CollectionAssert.AreEquivalent(package.Files.ToList(), TorchRuntime.LoadedLibraries.ToList());
    }

    [TestMethod]
    public void AForeignLibrarysMessageNamesItAndThePackagesFile()
    {
        const string foreign = "/usr/lib/x86_64-linux-gnu/libtorch_cpu.so";
        const string expected = "/app/runtimes/linux-x64/native/libtorch_cpu.so";
        var message = TorchRuntime.DescribeForeignLibrary(foreign, expected);
        StringAssert.Contains(message, $"this process has {foreign} mapped");
        StringAssert.Contains(message, expected);
        StringAssert.Contains(message, "LD_LIBRARY_PATH");
        Assert.ThrowsExactly<ArgumentException>(() => TorchRuntime.DescribeForeignLibrary("", expected));
    }

    [TestMethod]
    public void ALoadFailureNamesTheFileTheLinkersReasonAndWhatIsMapped()
    {
        const string file = "/app/runtimes/linux-x64/native/libtorch_cpu.so";
        // .NET's words for a failed NativeLibrary.Load, the dynamic linker's on the last line.
        var failure = new DllNotFoundException($"Unable to load shared library '{file}' or one of its dependencies. In order to help " +
            $"diagnose loading problems, consider using a tool like strace. If you're using glibc, consider setting the LD_DEBUG environment variable: \n" +
            $"{file}: undefined symbol: FLAGS_caffe2_log_level\n");
        var message = TorchRuntime.DescribeLoadFailure(failure, null, file, ["/usr/lib/x86_64-linux-gnu/libc10.so"]);
        StringAssert.Contains(message, $"could not be loaded from {file}: {file}: undefined symbol: FLAGS_caffe2_log_level");
        StringAssert.Contains(message, "Mapped in this process: /usr/lib/x86_64-linux-gnu/libc10.so.");
        Assert.DoesNotContain("strace", message);
        Assert.DoesNotContain("Mapped in this process", TorchRuntime.DescribeLoadFailure(failure, null, file, []));
    }

    [TestMethod]
    public void AStubOnLdLibraryPathIsNotBoundAndOneAlreadyMappedIsNamed()
    {
        if (!OperatingSystem.IsLinux()) Assert.Inconclusive("LD_LIBRARY_PATH and LD_PRELOAD are Linux's.");
        var stubs = Directory.CreateTempSubdirectory("fsac-foreign-libtorch").FullName;
        try
        {
            var source = Path.Combine(stubs, "stub.cpp");
            File.WriteAllText(source, "extern \"C\" int fsac_foreign_libtorch_stub() { return 1; }\n");
            foreach (var name in new[] { "libtorch_cpu.so", "libc10.so" })
            {
                var (code, output) = Run("g++", ["-shared", "-fPIC", $"-Wl,-soname,{name}", "-o", Path.Combine(stubs, name), source], []);
                if (code == -1) Assert.Inconclusive("g++ is not installed.");
                Assert.AreEqual(0, code, output);
            }
            var fsac = Path.Combine(AppContext.BaseDirectory, "fsac");

            var (ok, listed) = Run(fsac, ["version"], new() { ["LD_LIBRARY_PATH"] = stubs });
            Assert.AreEqual(0, ok, listed);
            var package = LibTorchPackage.Locate()!;
            foreach (var file in package.Files) StringAssert.Contains(listed, $"native library: {file}\n");
            Assert.DoesNotContain(stubs, listed);

            var (failed, named) = Run(fsac, ["version"], new() { ["LD_PRELOAD"] = Path.Combine(stubs, "libtorch_cpu.so") });
            Assert.AreEqual(3, failed, named); // ExitCodes.NativeRuntime
            StringAssert.Contains(named.Replace("\n", ""), Path.Combine(stubs, "libtorch_cpu.so"));
        }
        finally
        {
            Directory.Delete(stubs, recursive: true);
        }
    }

    /// <summary>Runs a program to its end (at most a minute): its exit code (-1 when it cannot start) and its output.</summary>
    private static (int ExitCode, string Output) Run(string program, string[] arguments, Dictionary<string, string> environment)
    {
        var start = new ProcessStartInfo(program, arguments) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var (name, value) in environment) start.Environment[name] = value;
        Process process;
        try
        {
            process = Process.Start(start)!;
        }
        catch (System.ComponentModel.Win32Exception)
        {
            return (-1, "");
        }
        using (process)
        {
            var stderr = process.StandardError.ReadToEndAsync();
            var stdout = process.StandardOutput.ReadToEnd();
            if (!process.WaitForExit(60_000))
            {
                process.Kill(entireProcessTree: true);
                Assert.Fail($"{program} {string.Join(' ', arguments)} did not finish within a minute");
            }
            return (process.ExitCode, stdout + stderr.Result);
        }
    }
}
