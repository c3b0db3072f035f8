using Fsac.MLNet.Encoders;
using Fsac.MLNet.Encoders.Clip;
using System.Runtime.InteropServices;
using TorchSharp;

namespace Fsac.MLNet.Native;

/// <summary>
/// Loads libtorch once, with a clear error when it cannot be loaded.
/// The model constructors (<c>ClipModel</c>, <c>ResNet18Encoder.Load</c>) and <c>Backbones.Create</c> call
/// <see cref="EnsureLoaded"/> first, so a missing native library surfaces there as <see cref="NativeRuntimeException"/>.
/// On Linux it loads the TorchSharp package's own libraries by full path (<see cref="LibTorchPackage"/>) before
/// TorchSharp searches for them, so that another libtorch on <c>LD_LIBRARY_PATH</c> is never bound, and then checks
/// that the process maps no other (<see cref="LoadedLibraries"/>). Code that calls TorchSharp itself should call
/// <see cref="EnsureLoaded"/> before its first TorchSharp call.
/// </summary>
public static class TorchRuntime
{
    /// <summary>The libstdc++ symbol version TorchSharp 0.107's native library asks for.</summary>
    public const string RequiredGlibcxx = "GLIBCXX_3.4.32";

    private static readonly Lazy<Failure?> LoadFailure = new(TryLoad, LazyThreadSafetyMode.ExecutionAndPublication);

    /// <summary>
    /// The full paths of libtorch's libraries (<see cref="LibTorchPackage.FileNames"/>) that this process has mapped, as
    /// <c>/proc/self/maps</c> names them: after <see cref="EnsureLoaded"/>, the TorchSharp package's files. Empty before
    /// libtorch is loaded and on systems other than Linux.
    /// </summary>
    public static IReadOnlyList<string> LoadedLibraries => MappedLibraries.Find(LibTorchPackage.FileNames);

    /// <summary>Loads libtorch if needed.</summary>
    /// <exception cref="NativeRuntimeException">The native library could not be loaded, or another libtorch is mapped; the message names the file and the fix.</exception>
    public static void EnsureLoaded()
    {
        if (LoadFailure.Value is { } failure) throw new NativeRuntimeException(failure.Message, failure.Cause);
    }

    private static Failure? TryLoad()
    {
        var package = LibTorchPackage.Locate();
        if (package is not null)
        {
            // A libtorch mapped before this point would stay bound to every later lookup of its name.
            if (ForeignLibrary(package) is { } early) return early;
            foreach (var file in package.Files)
            {
                try
                {
                    NativeLibrary.Load(file);
                }
                catch (Exception e) when (e is DllNotFoundException or BadImageFormatException)
                {
                    return new(DescribeLoadFailure(e, FindSystemLibStdCxx(), file, LoadedLibraries), e);
                }
            }
        }
        try
        {
            torch.InitializeDeviceType(DeviceType.CPU);
        }
        catch (Exception e) when (e is TypeInitializationException or DllNotFoundException or NotSupportedException or BadImageFormatException or EntryPointNotFoundException)
        {
            return new(DescribeLoadFailure(e, FindSystemLibStdCxx(), null, LoadedLibraries), e);
        }
        return package is null ? null : ForeignLibrary(package);
    }

    /// <summary>The failure for the first mapped libtorch library that is not the package's file of that name.</summary>
    private static Failure? ForeignLibrary(LibTorchPackage package)
    {
        foreach (var mapped in LoadedLibraries)
        {
            var expected = package.PathOf(Path.GetFileName(mapped));
            if (mapped != expected) return new(DescribeForeignLibrary(mapped, expected), null);
        }
        return null;
    }

    /// <summary>
    /// The message for a failed load: the loader's own words, the file being loaded (<paramref name="libraryPath"/>)
    /// and the libtorch libraries already mapped (<paramref name="mappedLibraries"/>) where known, and the fix when
    /// the system's libstdc++ (at <paramref name="libStdCxxPath"/>) lacks <see cref="RequiredGlibcxx"/>.
    /// </summary>
    public static string DescribeLoadFailure(Exception failure, string? libStdCxxPath, string? libraryPath = null, IReadOnlyList<string>? mappedLibraries = null)
    {
        ArgumentNullException.ThrowIfNull(failure);
        var inner = failure;
        while (inner.InnerException is not null) inner = inner.InnerException;
        var message = $"TorchSharp's native library (libtorch) could not be loaded{(libraryPath is null ? "" : $" from {libraryPath}")}: {LoaderReason(inner)}";
        if (mappedLibraries is { Count: > 0 }) message += $" Mapped in this process: {string.Join(", ", mappedLibraries)}.";
        if (OperatingSystem.IsLinux() && libStdCxxPath is not null && !FileContains(libStdCxxPath, RequiredGlibcxx))
        {
            message += $" This system's libstdc++ ({libStdCxxPath}) predates {RequiredGlibcxx}, which TorchSharp 0.107 requires " +
                       "(Debian 12, Ubuntu 22.04). Run 'bash src/Fsac.MLNet/PackageBuild/fix-torchsharp-glibcxx.sh' from the Fsac.MLNet " +
                       "repository, or the copy in the Fsac.MLNet NuGet package's tools/ folder, then rebuild; see the README section 'Native runtime'.";
        }
        else
        {
            message += " Check that the project references TorchSharp-cpu (or a TorchSharp CUDA runtime package) and that the runtimes/ folder was copied to the output.";
        }
        return message;
    }

    /// <summary>
    /// The message for a libtorch library mapped from <paramref name="foundPath"/> where the TorchSharp package's
    /// <paramref name="expectedPath"/> belongs: two libtorch builds cannot share one process.
    /// </summary>
    public static string DescribeForeignLibrary(string foundPath, string expectedPath)
    {
        ArgumentException.ThrowIfNullOrEmpty(foundPath);
        ArgumentException.ThrowIfNullOrEmpty(expectedPath);
        return $"TorchSharp's native library (libtorch) could not be loaded: this process has {foundPath} mapped, not the TorchSharp " +
               $"package's {expectedPath}, and two libtorch builds cannot share one process. It was loaded through LD_PRELOAD, by " +
               "another native component, or by TorchSharp code that ran before TorchRuntime.EnsureLoaded while another libtorch " +
               "(e.g. Debian's libtorch-dev or python3-torch) was on LD_LIBRARY_PATH. Remove it from LD_PRELOAD and LD_LIBRARY_PATH, " +
               "or call TorchRuntime.EnsureLoaded() before any other TorchSharp call; see the README section 'Native runtime'.";
    }

    /// <summary>
    /// The loader's reason: .NET's message for a failed <see cref="NativeLibrary.Load(string)"/> ends with the dynamic
    /// linker's words; TorchSharp's says what failed on its first line, then appends a long probing trace.
    /// </summary>
    private static string LoaderReason(Exception e)
    {
        var lines = e.Message.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        if (lines.Length == 0) return e.GetType().Name;
        return e is DllNotFoundException && lines[0].StartsWith("Unable to load shared library", StringComparison.Ordinal) ? lines[^1] : lines[0];
    }

    private static string? FindSystemLibStdCxx()
    {
        string[] candidates =
        [
            "/usr/lib/x86_64-linux-gnu/libstdc++.so.6", "/lib/x86_64-linux-gnu/libstdc++.so.6",
            "/usr/lib64/libstdc++.so.6", "/usr/lib/aarch64-linux-gnu/libstdc++.so.6",
        ];
        return candidates.FirstOrDefault(File.Exists);
    }

    private static bool FileContains(string path, string ascii)
    {
        var needle = System.Text.Encoding.ASCII.GetBytes(ascii);
        var bytes = File.ReadAllBytes(path);
        return bytes.AsSpan().IndexOf(needle) >= 0;
    }

    private sealed record Failure(string Message, Exception? Cause);
}
