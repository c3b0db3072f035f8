using TorchSharp;

namespace Fsac.MLNet.Native;

/// <summary>
/// Loads libtorch once, with a clear error when it cannot be loaded.
/// The model constructors (<c>ClipModel</c>, <c>ResNet18Encoder.Load</c>) and <c>Backbones.Resolve</c> call
/// <see cref="EnsureLoaded"/> first, so a missing native library surfaces there as <see cref="NativeRuntimeException"/>.
/// </summary>
public static class TorchRuntime
{
    /// <summary>The libstdc++ symbol version TorchSharp 0.107's native library asks for.</summary>
    public const string RequiredGlibcxx = "GLIBCXX_3.4.32";

    private static readonly Lazy<Exception?> LoadFailure = new(TryLoad, LazyThreadSafetyMode.ExecutionAndPublication);

    /// <summary>Loads libtorch if needed.</summary>
    /// <exception cref="NativeRuntimeException">The native library could not be loaded; the message names the fix.</exception>
    public static void EnsureLoaded()
    {
        if (LoadFailure.Value is { } failure)
            throw new NativeRuntimeException(DescribeLoadFailure(failure, FindSystemLibStdCxx()), failure);
    }

    private static Exception? TryLoad()
    {
        try
        {
            torch.InitializeDeviceType(DeviceType.CPU);
            return null;
        }
        catch (Exception e) when (e is TypeInitializationException or DllNotFoundException or NotSupportedException or BadImageFormatException or EntryPointNotFoundException)
        {
            return e;
        }
    }

    /// <summary>
    /// The message for a failed load: the loader's own words, and the fix when the system's libstdc++
    /// (at <paramref name="libStdCxxPath"/>) lacks <see cref="RequiredGlibcxx"/>.
    /// </summary>
    public static string DescribeLoadFailure(Exception failure, string? libStdCxxPath)
    {
        var inner = failure;
        while (inner.InnerException is not null) inner = inner.InnerException;
        // TorchSharp appends a long probing trace to its message; its first line says what failed.
        var reason = inner.Message.Split('\n', 2)[0].Trim();
        var message = $"TorchSharp's native library (libtorch) could not be loaded: {reason}";
        if (OperatingSystem.IsLinux() && libStdCxxPath is not null && !FileContains(libStdCxxPath, RequiredGlibcxx))
        {
            message += $" This system's libstdc++ ({libStdCxxPath}) predates {RequiredGlibcxx}, which TorchSharp 0.107 requires " +
                       "(Debian 12, Ubuntu 22.04). Run 'bash src/Fsac.MLNet/native/fix-torchsharp-glibcxx.sh' from the Fsac.MLNet " +
                       "repository, or the copy in the Fsac.MLNet NuGet package's tools/ folder, then rebuild; see the README section 'Native runtime'.";
        }
        else
        {
            message += " Check that the project references TorchSharp-cpu (or a TorchSharp CUDA runtime package) and that the runtimes/ folder was copied to the output.";
        }
        return message;
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
}
