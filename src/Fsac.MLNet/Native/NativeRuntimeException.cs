namespace Fsac.MLNet.Native;

/// <summary>
/// libtorch (TorchSharp's native library) could not be loaded. The message says why and how to fix it;
/// on Debian 12 and Ubuntu 22.04 that is <c>native/fix-torchsharp-glibcxx.sh</c>.
/// </summary>
public sealed class NativeRuntimeException(string message, Exception? inner) : InvalidOperationException(message, inner);
