using System.Reflection;
using System.Runtime.InteropServices;
using TorchSharp;

namespace Fsac.MLNet.Native;

/// <summary>
/// The native libraries that TorchSharp's CPU runtime packages (libtorch-cpu, TorchSharp) ship on Linux, by full path.
/// <see cref="TorchRuntime.EnsureLoaded"/> loads them itself, in <see cref="FileNames"/> order, before TorchSharp's own
/// search runs: that search goes through the dynamic linker, which looks in <c>LD_LIBRARY_PATH</c> before a library's
/// runpath and so can bind another libtorch installed on the system (Debian's <c>libtorch-dev</c>, <c>python3-torch</c>).
/// Once a library is loaded, the linker reuses it for every later dependency of the same name.
/// </summary>
internal sealed class LibTorchPackage
{
    /// <summary>
    /// The libraries in dependency order: each needs only those before it and the C/C++ runtime. libtorch_cpu.so also
    /// needs the package's OpenMP (<c>libgomp-98b21ff3.so.1</c>), whose hashed name no other library shares.
    /// </summary>
    public static IReadOnlyList<string> FileNames => Names;

    private static readonly string[] Names = ["libc10.so", "libtorch_cpu.so", "libtorch.so", "libLibTorchSharp.so"];

    private LibTorchPackage(IReadOnlyList<string> files) => Files = files;

    /// <summary>The full paths of <see cref="FileNames"/>, in that order, with symbolic links resolved.</summary>
    public IReadOnlyList<string> Files { get; }

    /// <summary>The full path of the package's library named <paramref name="fileName"/> (one of <see cref="FileNames"/>).</summary>
    /// <exception cref="ArgumentException"><paramref name="fileName"/> is not one of <see cref="FileNames"/>.</exception>
    public string PathOf(string fileName)
    {
        var index = Array.IndexOf(Names, fileName);
        if (index < 0) throw new ArgumentException($"'{fileName}' is not one of libtorch's libraries ({string.Join(", ", FileNames)}).", nameof(fileName));
        return Files[index];
    }

    /// <summary>
    /// The libraries for the TorchSharp this process runs, found by <see cref="Find"/> beside its TorchSharp.dll, for the
    /// libtorch version TorchSharp was built against; null on systems other than Linux and where neither layout holds them.
    /// </summary>
    public static LibTorchPackage? Locate()
    {
        if (!OperatingSystem.IsLinux()) return null;
        var assembly = typeof(torch).Assembly;
        var directory = string.IsNullOrEmpty(assembly.Location) ? AppContext.BaseDirectory : Path.GetDirectoryName(assembly.Location)!;
        var architecture = RuntimeInformation.ProcessArchitecture.ToString().ToLowerInvariant();
        return Find(directory, BuiltAgainstLibTorch(), $"linux-{architecture}");
    }

    /// <summary>
    /// Finds the libraries for a TorchSharp.dll in <paramref name="torchSharpDirectory"/>. In an application's output
    /// they all sit in <c>runtimes/&lt;rid&gt;/native/</c> (or beside TorchSharp.dll after a RID-specific publish). In the
    /// NuGet package cache, which notebooks (<c>#r "nuget: ..."</c>) load from, TorchSharp.dll is in
    /// <c>torchsharp/&lt;version&gt;/lib/&lt;tfm&gt;/</c>, libLibTorchSharp.so in <c>torchsharp/&lt;version&gt;/runtimes/&lt;rid&gt;/native/</c>
    /// and the rest in <c>libtorch-cpu-&lt;rid&gt;/&lt;libTorchVersion&gt;/runtimes/&lt;rid&gt;/native/</c>.
    /// Returns null where neither layout holds all of <see cref="FileNames"/>.
    /// </summary>
    /// <param name="torchSharpDirectory">The folder of TorchSharp.dll.</param>
    /// <param name="libTorchVersion">The libtorch-cpu package version to look for in the NuGet cache (e.g. <c>2.10.0</c>); null: only the application layout.</param>
    /// <param name="runtimeIdentifier">The runtime identifier, e.g. <c>linux-x64</c>.</param>
    public static LibTorchPackage? Find(string torchSharpDirectory, string? libTorchVersion, string runtimeIdentifier)
    {
        ArgumentException.ThrowIfNullOrEmpty(torchSharpDirectory);
        ArgumentException.ThrowIfNullOrEmpty(runtimeIdentifier);
        var directory = Path.GetFullPath(torchSharpDirectory);
        foreach (var folder in new[] { Path.Combine(directory, "runtimes", runtimeIdentifier, "native"), directory })
        {
            if (FileNames.All(name => File.Exists(Path.Combine(folder, name))))
                return new LibTorchPackage(FileNames.Select(name => RealPath(Path.Combine(folder, name))).ToArray());
        }

        // The NuGet cache: <root>/torchsharp/<version>/lib/<tfm>/TorchSharp.dll.
        var torchSharpHome = Path.GetFullPath(Path.Combine(directory, "..", ".."));
        var packageId = Path.GetFileName(Path.GetDirectoryName(torchSharpHome));
        if (libTorchVersion is null || !string.Equals(packageId, "torchsharp", StringComparison.OrdinalIgnoreCase)) return null;
        var root = Path.GetFullPath(Path.Combine(torchSharpHome, "..", ".."));
        var libTorch = Path.Combine(root, $"libtorch-cpu-{runtimeIdentifier}", libTorchVersion, "runtimes", runtimeIdentifier, "native");
        var torchSharp = Path.Combine(torchSharpHome, "runtimes", runtimeIdentifier, "native");
        var files = FileNames.Select(name => Path.Combine(name == "libLibTorchSharp.so" ? torchSharp : libTorch, name)).ToArray();
        return files.All(File.Exists) ? new LibTorchPackage(files.Select(RealPath).ToArray()) : null;
    }

    /// <summary>
    /// The libtorch package version TorchSharp looks for in the NuGet cache: its <c>libtorchPackageVersion</c> constant
    /// ("2.10.0.0" for TorchSharp 0.107), as the cache's folder name (NuGet drops a zero fourth part); null if it has none.
    /// </summary>
    private static string? BuiltAgainstLibTorch()
    {
        var field = typeof(torch).GetField("libtorchPackageVersion", BindingFlags.NonPublic | BindingFlags.Static);
        if (field?.GetRawConstantValue() is not string text) return null;
        return Version.TryParse(text, out var v) && v.Revision == 0 ? $"{v.Major}.{v.Minor}.{v.Build}" : text.ToLowerInvariant();
    }

    /// <summary>The path with every symbolic link resolved, as <c>/proc/self/maps</c> names a mapped file (Unix).</summary>
    private static unsafe string RealPath(string path)
    {
        if (OperatingSystem.IsWindows()) return path;
        var resolved = RealPath(path, null);
        if (resolved is null) return path;
        try
        {
            return Marshal.PtrToStringUTF8((nint)resolved)!;
        }
        finally
        {
            NativeMemory.Free(resolved);
        }
    }

    [DllImport("libc", EntryPoint = "realpath")]
    private static extern unsafe byte* RealPath([MarshalAs(UnmanagedType.LPUTF8Str)] string path, byte* resolved);
}
