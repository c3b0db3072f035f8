using Fsac.MLNet.Encoders;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.PixelFormats;
using TorchSharp;

namespace Fsac.Cli.Fitting;

/// <summary>
/// Forwards to an encoder and reports how many images each call encoded, for progress bars. Disposing it disposes
/// the encoder. Use <see cref="Wrap"/> so that a CLIP encoder keeps its text tower.
/// </summary>
public class CountingEncoder : IImageEncoder
{
    private readonly Action<int> encoded;

    /// <summary>Wraps <paramref name="inner"/>; <paramref name="encoded"/> receives the batch size after each encoding.</summary>
    protected CountingEncoder(IImageEncoder inner, Action<int> encoded)
    {
        Inner = inner;
        this.encoded = encoded;
    }

    /// <summary>A counting wrapper that is an <see cref="ITextEncoder"/> exactly when <paramref name="inner"/> is.</summary>
    public static CountingEncoder Wrap(IImageEncoder inner, Action<int> encoded)
        => inner is ITextEncoder ? new CountingTextEncoder(inner, encoded) : new CountingEncoder(inner, encoded);

    /// <summary>The wrapped encoder.</summary>
    protected IImageEncoder Inner { get; }

    /// <inheritdoc />
    public string Name => Inner.Name;

    /// <inheritdoc />
    public int FeatureDim => Inner.FeatureDim;

    /// <inheritdoc />
    public int ImageSize => Inner.ImageSize;

    /// <inheritdoc />
    public torch.Tensor Preprocess(IReadOnlyList<Image<Rgb24>> images) => Inner.Preprocess(images);

    /// <inheritdoc />
    public int PatchDim => Inner.PatchDim;

    /// <inheritdoc />
    public InputLayout Layout(int width, int height) => Inner.Layout(width, height);

    /// <inheritdoc />
    public EncodedImages Encode(torch.Tensor pixels, EncoderOutputs outputs)
    {
        var features = Inner.Encode(pixels, outputs);
        encoded((int)pixels.shape[0]);
        return features;
    }

    /// <summary>A counting view at another resolution; it borrows the weights, as <see cref="IImageEncoder.WithResolution"/> says.</summary>
    public IImageEncoder WithResolution(int shorterSide) => new CountingEncoder(Inner.WithResolution(shorterSide), encoded);

    /// <inheritdoc />
    public void Dispose()
    {
        Inner.Dispose();
        GC.SuppressFinalize(this);
    }

}
