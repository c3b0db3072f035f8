using SixLabors.ImageSharp;
using SixLabors.ImageSharp.PixelFormats;
using TorchSharp;

namespace Fsac.MLNet.Encoders;

/// <summary>
/// A frozen image backbone: turns decoded images into a pooled feature vector and/or a grid of local (patch)
/// features each, from one forward pass. CLIP's vision tower and image-only models such as ResNet18 both implement
/// it, so every method runs unchanged on either.
/// </summary>
public interface IImageEncoder : IDisposable
{
    /// <summary>Stable identity of the backbone and its weights (recorded in saved models).</summary>
    string Name { get; }

    /// <summary>Length D of one pooled feature vector.</summary>
    int FeatureDim { get; }

    /// <summary>Channels C of one patch feature.</summary>
    int PatchDim { get; }

    /// <summary>The shorter side of the input after preprocessing (the side of a square input).</summary>
    int ImageSize { get; }

    /// <summary>The input size an image of this size is preprocessed to, and the part of the image it shows.</summary>
    InputLayout Layout(int width, int height);

    /// <summary>
    /// Resizes, crops and normalises images into a float32 batch <c>[N, 3, H, W]</c>. Every image of one call must
    /// have the same <see cref="Layout"/> size (<see cref="ImageEncoderExtensions"/> groups them).
    /// </summary>
    /// <exception cref="ArgumentException">The images' layouts differ in size.</exception>
    torch.Tensor Preprocess(IReadOnlyList<Image<Rgb24>> images);

    /// <summary>
    /// Encodes a preprocessed batch into the features <paramref name="outputs"/> names (float32). Differentiable: when
    /// <paramref name="pixels"/> requires grad, gradients flow back to it. Each row depends on its own image only.
    /// </summary>
    EncodedImages Encode(torch.Tensor pixels, EncoderOutputs outputs);

    /// <summary>
    /// An encoder on the same weights whose input keeps each image's aspect ratio with its shorter side at
    /// <paramref name="shorterSide"/> pixels (the whole image, no crop), for finding small defects. The view borrows
    /// the weights: disposing it does nothing, and it must not outlive this encoder.
    /// </summary>
    /// <exception cref="NotSupportedException">The network takes one fixed input size (a ViT); the message names it.</exception>
    IImageEncoder WithResolution(int shorterSide);
}

/// <summary>A backbone that also has a text tower sharing the image feature space (CLIP).</summary>
public interface ITextEncoder
{
    /// <summary>Encodes texts into unnormalised features <c>[M, D]</c> (float32), D equal to the image features'.</summary>
    torch.Tensor EncodeText(IReadOnlyList<string> texts);
}
