namespace Fsac.MLNet.Native;

/// <summary>
/// libtorch (TorchSharp's native library) could not be loaded, or another libtorch than the TorchSharp package's is
/// mapped into the process. The message says why, names the library file where it is known, and how to fix it; on
/// Debian 12 and Ubuntu 22.04 that is often <c>native/fix-torchsharp-glibcxx.sh</c>.
/// </summary>
public sealed class NativeRuntimeException(string message, Exception? inner) : InvalidOperationException(message, inner);
