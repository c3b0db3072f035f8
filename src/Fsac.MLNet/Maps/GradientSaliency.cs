using Fsac.MLNet.Encoders;
using Fsac.MLNet.Native;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.PixelFormats;
using TorchSharp;
using static TorchSharp.torch;

namespace Fsac.MLNet.Maps;

/// <summary>
/// Gradient saliency (§3.5): |∂score/∂x| over the preprocessed input, averaged over the colour channels and placed on
/// the original image through the encoder's <see cref="InputLayout"/> (a centre crop's margin scores 0). Pixels whose
/// gradient is not finite count as 0. The backward pass avoids libtorch's defective oneDNN convolution gradients
/// (<see cref="ConvolutionGradients"/>).
/// </summary>
internal static class GradientSaliency
{
    /// <summary>
    /// The map of <paramref name="image"/>, row-major at its size, for a differentiable score that
    /// <paramref name="score"/> computes from the preprocessed pixels <c>[1, 3, H, W]</c> (which require grad).
    /// </summary>
    public static float[] Of(IImageEncoder encoder, Image<Rgb24> image, Func<Tensor, Tensor> score, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(encoder);
        ArgumentNullException.ThrowIfNull(image);
        ArgumentNullException.ThrowIfNull(score);
        cancellationToken.ThrowIfCancellationRequested();
        using var scope = NewDisposeScope();
        using var gradients = enable_grad();
        var pixels = encoder.Preprocess([image]).detach().requires_grad_(true);
        var output = score(pixels).sum();
        Tensor gradient;
        using (ConvolutionGradients.ForBackward())
            gradient = autograd.grad([output], [pixels])[0];
        // A backward pass can overflow to inf or NaN where a score saturates; such pixels carry no usable direction.
        var map = gradient.abs().mean([1]).select(0, 0).nan_to_num(0, 0, 0);
        return AnomalyMapBuilder.Place(map, encoder.Layout(image.Width, image.Height), image.Width, image.Height, image.Width, image.Height);
    }
}
