using SixLabors.ImageSharp;
using SixLabors.ImageSharp.PixelFormats;
using TorchSharp;

namespace Fsac.MLNet.Encoders;

/// <summary>
/// A frozen image backbone: turns decoded images into one feature vector each.
/// CLIP's vision tower and image-only models such as ResNet18 both implement it, so the
/// CLIP-FSAC head runs unchanged on either.
/// </summary>
public interface IImageEncoder : IDisposable
{
    /// <summary>Stable identity of the backbone and its weights (recorded in saved models).</summary>
    string Name { get; }

    /// <summary>Length D of one feature vector.</summary>
    int FeatureDim { get; }

    /// <summary>Side S of the square input the encoder expects after preprocessing.</summary>
    int ImageSize { get; }

    /// <summary>Resizes, crops and normalises images into a float32 batch <c>[N, 3, S, S]</c>.</summary>
    torch.Tensor Preprocess(IReadOnlyList<Image<Rgb24>> images);

    /// <summary>
    /// Encodes a preprocessed batch <c>[N, 3, S, S]</c> into unnormalised features <c>[N, D]</c> (float32).
    /// Differentiable: when <paramref name="pixels"/> requires grad, gradients flow back to it (saliency).
    /// Each row depends on its own image only.
    /// </summary>
    torch.Tensor EncodeImage(torch.Tensor pixels);
}

/// <summary>A backbone that also has a text tower sharing the image feature space (CLIP).</summary>
public interface ITextEncoder
{
    /// <summary>Encodes texts into unnormalised features <c>[M, D]</c> (float32), D equal to the image features'.</summary>
    torch.Tensor EncodeText(IReadOnlyList<string> texts);
}
