using Fsac.MLNet.Encoders;
using TorchSharp;

namespace Fsac.Cli.Fitting;

/// <summary>A <see cref="CountingEncoder"/> over an encoder with a text tower, which it forwards too.</summary>
public sealed class CountingTextEncoder : CountingEncoder, ITextEncoder
{
    internal CountingTextEncoder(IImageEncoder inner, Action<int> encoded) : base(inner, encoded)
    {
        if (inner is not ITextEncoder) throw new ArgumentException("the encoder has no text tower.", nameof(inner));
    }

    /// <inheritdoc />
    public torch.Tensor EncodeText(IReadOnlyList<string> texts) => ((ITextEncoder)Inner).EncodeText(texts);
}
