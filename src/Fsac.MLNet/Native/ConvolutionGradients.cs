using System.Runtime.InteropServices;
using TorchSharp;
using static TorchSharp.torch;

namespace Fsac.MLNet.Native;

/// <summary>
/// Keeps input gradients of convolutions correct where libtorch's oneDNN kernels compute them wrongly.
/// <para>
/// On AVX-512 CPUs, the libtorch that TorchSharp 0.107 ships returns wrong input gradients from oneDNN's float32
/// convolution when the number of output channels is not a multiple of 16 and the kernel is wider than one pixel: some
/// values are NaN, the rest differ from run to run. Forward passes are right. <see cref="ForBackward"/> checks this once
/// per process on a small convolution and, where it fails, switches libtorch's <c>mkldnn</c> flag off for the duration
/// of the backward pass, so that libtorch uses its own convolution kernels; elsewhere it changes nothing.
/// </para>
/// <para>
/// The flag is process-wide. While it is off, forward passes on other threads also take libtorch's own kernels: the same
/// values, more slowly. Overlapping scopes are counted; the flag gets its earlier value back when the last one ends.
/// </para>
/// </summary>
internal static unsafe class ConvolutionGradients
{
    private static readonly Lazy<Switch?> Flag = new(Resolve, LazyThreadSafetyMode.ExecutionAndPublication);
    private static readonly Lazy<bool> Defective = new(ProbeDefective, LazyThreadSafetyMode.ExecutionAndPublication);
    private static readonly Lock Gate = new();
    private static int s_open;
    private static bool s_before;

    /// <summary>
    /// Whether this process's oneDNN convolution computes wrong input gradients (the check of
    /// <see cref="ConvolutionGradients"/>); false where libtorch's flag cannot be reached, since it then cannot be worked around.
    /// </summary>
    public static bool OneDnnIsDefective => Flag.Value is not null && Defective.Value;

    /// <summary>Whether libtorch's <c>mkldnn</c> flag is on now; null where it cannot be reached (not Linux, or an unknown libtorch).</summary>
    public static bool? OneDnnEnabled => Flag.Value is { } flag ? flag.Get(flag.Context()) : null;

    /// <summary>
    /// A scope for a backward pass through convolutions: where <see cref="OneDnnIsDefective"/>, libtorch's own kernels
    /// compute it; the caller disposes it when the gradients are computed.
    /// </summary>
    public static Scope ForBackward()
    {
        if (!OneDnnIsDefective) return default;
        var flag = Flag.Value!;
        lock (Gate)
        {
            if (s_open++ == 0)
            {
                s_before = flag.Get(flag.Context());
                flag.Set(flag.Context(), false);
            }
        }
        return new Scope(flag);
    }

    /// <summary>Ends a <see cref="ForBackward"/> scope.</summary>
    public readonly struct Scope : IDisposable
    {
        private readonly Switch? flag;

        internal Scope(Switch flag) => this.flag = flag;

        /// <summary>Restores libtorch's flag to its value before the first open scope when this is the last one.</summary>
        public void Dispose()
        {
            if (flag is null) return;
            lock (Gate)
            {
                if (--s_open == 0) flag.Set(flag.Context(), s_before);
            }
        }
    }

    /// <summary>
    /// Compares the float32 input gradient of a 24-channel 5x5 convolution with the float64 one (which never takes
    /// oneDNN). On a correct CPU they agree to about 1e-5; the defect gives NaN or errors of order 1.
    /// </summary>
    private static bool ProbeDefective()
    {
        using var scope = NewDisposeScope();
        using var gradients = enable_grad();
        using var generator = new Generator(20261202, CPU);
        var weight = randn([24, 3, 5, 5], generator: generator).mul_(0.2);
        var input = randn([1, 3, 16, 16], generator: generator);
        var upstream = randn([1, 24, 16, 16], generator: generator);
        var single = InputGradient(input, weight, upstream);
        var reference = InputGradient(input.to(float64), weight.to(float64), upstream.to(float64)).to(float32);
        return !single.allclose(reference, rtol: 1e-3, atol: 1e-3);
    }

    private static Tensor InputGradient(Tensor input, Tensor weight, Tensor upstream)
    {
        var x = input.detach().requires_grad_(true);
        var y = nn.functional.conv2d(x, weight, padding: [2, 2]);
        return autograd.grad([y.mul(upstream).sum()], [x])[0];
    }

    /// <summary>libtorch's <c>at::globalContext()</c> and the <c>mkldnn</c> flag's accessors on it (Itanium C++ ABI).</summary>
    internal sealed class Switch(IntPtr context, IntPtr get, IntPtr set)
    {
        public IntPtr Context() => ((delegate* unmanaged<IntPtr>)context)();

        public bool Get(IntPtr target) => ((delegate* unmanaged<IntPtr, byte>)get)(target) != 0;

        public void Set(IntPtr target, bool enabled) => ((delegate* unmanaged<IntPtr, byte, void>)set)(target, enabled ? (byte)1 : (byte)0);
    }

    private static Switch? Resolve()
    {
        if (!OperatingSystem.IsLinux()) return null;
        TorchRuntime.EnsureLoaded();
        var path = LibTorchPackage.Locate()?.PathOf("libtorch_cpu.so") ?? "libtorch_cpu.so";
        if (!NativeLibrary.TryLoad(path, out var library)) return null;
        return NativeLibrary.TryGetExport(library, "_ZN2at13globalContextEv", out var context)
               && NativeLibrary.TryGetExport(library, "_ZNK2at7Context17userEnabledMkldnnEv", out var get)
               && NativeLibrary.TryGetExport(library, "_ZN2at7Context20setUserEnabledMkldnnEb", out var set)
            ? new Switch(context, get, set)
            : null;
    }
}
