using Fsac.MLNet.Encoders;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.PixelFormats;
using static TorchSharp.torch;

namespace Fsac.MLNet.Tests.TestDoubles;

/// <summary>
/// Wraps an encoder (owned) so that, once <see cref="Arm"/> is called, the next <see cref="Encode"/> signals
/// <see cref="Entered"/> and blocks until <see cref="Open"/>: a test can hold a scoring call inside the encoder for as
/// long as it needs. Blocks at most <see cref="MaxBlock"/>, then fails the call, so that a broken test cannot hang.
/// </summary>
public sealed class GatedEncoder(IImageEncoder inner) : IImageEncoder
{
    private static readonly TimeSpan MaxBlock = TimeSpan.FromSeconds(30);
    private readonly ManualResetEventSlim gate = new(initialState: true);
    private volatile bool armed;
    private int disposed;

    /// <summary>Set when an armed <see cref="Encode"/> is entered (and blocked).</summary>
    public ManualResetEventSlim Entered { get; } = new(initialState: false);

    /// <summary>True once <see cref="Dispose"/> was called.</summary>
    public bool Disposed => Volatile.Read(ref disposed) != 0;

    /// <summary>Makes the next encode calls block until <see cref="Open"/>.</summary>
    public void Arm()
    {
        gate.Reset();
        armed = true;
    }

    /// <summary>Lets the blocked and later encode calls run.</summary>
    public void Open()
    {
        armed = false;
        gate.Set();
    }

    public string Name => inner.Name;
    public int FeatureDim => inner.FeatureDim;
    public int PatchDim => inner.PatchDim;
    public int ImageSize => inner.ImageSize;
    public InputLayout Layout(int width, int height) => inner.Layout(width, height);
    public Tensor Preprocess(IReadOnlyList<Image<Rgb24>> images) => inner.Preprocess(images);
    public IImageEncoder WithResolution(int shorterSide) => inner.WithResolution(shorterSide);

    public EncodedImages Encode(Tensor pixels, EncoderOutputs outputs)
    {
        if (armed)
        {
            Entered.Set();
            if (!gate.Wait(MaxBlock)) throw new TimeoutException("the gated encoder was never opened");
        }
        ObjectDisposedException.ThrowIf(Disposed, this);
        return inner.Encode(pixels, outputs);
    }

    public void Dispose()
    {
        if (Interlocked.Exchange(ref disposed, 1) != 0) return;
        inner.Dispose();
    }
}
