using SixLabors.ImageSharp;
using SixLabors.ImageSharp.PixelFormats;
using TorchSharp;
using static TorchSharp.torch;

namespace Fsac.MLNet.Encoders;

/// <summary>Batched, gradient-free feature extraction with any <see cref="IImageEncoder"/>.</summary>
public static class ImageEncoderExtensions
{
    /// <summary>
    /// Preprocesses and encodes <paramref name="images"/> in batches of <paramref name="batchSize"/> without
    /// gradients, returning features <c>[N, D]</c> (the caller disposes them). Intermediate tensors are freed per batch.
    /// </summary>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled between batches.</exception>
    public static Tensor EncodeImages(this IImageEncoder encoder, IReadOnlyList<Image<Rgb24>> images, int batchSize, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(encoder);
        ArgumentNullException.ThrowIfNull(images);
        ArgumentOutOfRangeException.ThrowIfLessThan(batchSize, 1);
        using var outer = NewDisposeScope();
        using var noGrad = no_grad();
        var parts = new List<Tensor>();
        for (int start = 0; start < images.Count; start += batchSize)
        {
            cancellationToken.ThrowIfCancellationRequested();
            using var scope = NewDisposeScope();
            var batch = new Image<Rgb24>[Math.Min(batchSize, images.Count - start)];
            for (int i = 0; i < batch.Length; i++) batch[i] = images[start + i];
            var features = encoder.EncodeImage(encoder.Preprocess(batch));
            parts.Add(features.MoveToOuterDisposeScope());
        }
        var result = parts.Count == 0 ? zeros(0, encoder.FeatureDim) : cat(parts, 0);
        return result.MoveToOuterDisposeScope();
    }
}
