using SixLabors.ImageSharp;
using SixLabors.ImageSharp.PixelFormats;
using TorchSharp;
using static TorchSharp.torch;

namespace Fsac.MLNet.Encoders;

/// <summary>Batched, gradient-free feature extraction with any <see cref="IImageEncoder"/>.</summary>
public static class ImageEncoderExtensions
{
    /// <summary>The pooled features <c>[N, D]</c> of a preprocessed batch (see <see cref="IImageEncoder.Encode"/>); differentiable.</summary>
    public static Tensor EncodeImage(this IImageEncoder encoder, Tensor pixels)
    {
        ArgumentNullException.ThrowIfNull(encoder);
        return encoder.Encode(pixels, EncoderOutputs.Global).Global
               ?? throw new InvalidOperationException($"The encoder '{encoder.Name}' returned no pooled features.");
    }

    /// <summary>
    /// Preprocesses and encodes <paramref name="images"/> in batches of <paramref name="batchSize"/> without
    /// gradients, returning pooled features <c>[N, D]</c> (the caller disposes them). Intermediate tensors are freed per batch.
    /// </summary>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled between batches.</exception>
    public static Tensor EncodeImages(this IImageEncoder encoder, IReadOnlyList<Image<Rgb24>> images, int batchSize, CancellationToken cancellationToken = default)
    {
        var (global, _) = encoder.EncodeBatches(images, batchSize, EncoderOutputs.Global, cancellationToken);
        return global!;
    }

    /// <summary>The patch features of <paramref name="images"/>, encoded in batches without gradients (the caller disposes them).</summary>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled between batches.</exception>
    public static PatchFeatures EncodePatches(this IImageEncoder encoder, IReadOnlyList<Image<Rgb24>> images, int batchSize, CancellationToken cancellationToken = default)
    {
        var (_, patches) = encoder.EncodeBatches(images, batchSize, EncoderOutputs.Patches, cancellationToken);
        return patches!;
    }

    /// <summary>
    /// Encodes <paramref name="images"/> in batches of at most <paramref name="batchSize"/> images that share one input
    /// size, without gradients: pooled features <c>[N, D]</c> in the images' order and/or their patch features, as
    /// <paramref name="outputs"/> asks. Each image is encoded once; the caller disposes what is returned.
    /// </summary>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled between batches.</exception>
    public static (Tensor? Global, PatchFeatures? Patches) EncodeBatches(this IImageEncoder encoder, IReadOnlyList<Image<Rgb24>> images,
        int batchSize, EncoderOutputs outputs, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(encoder);
        ArgumentNullException.ThrowIfNull(images);
        ArgumentOutOfRangeException.ThrowIfLessThan(batchSize, 1);
        bool wantGlobal = outputs.HasFlag(EncoderOutputs.Global), wantPatches = outputs.HasFlag(EncoderOutputs.Patches);
        if (!wantGlobal && !wantPatches) throw new ArgumentException("Ask for pooled features, patches or both.", nameof(outputs));
        using var outer = NewDisposeScope();
        using var noGrad = no_grad();
        var layouts = images.Select(i => encoder.Layout(i.Width, i.Height)).ToArray();
        var globals = new Tensor?[images.Count];
        var patchRows = new List<(int Image, Tensor Rows)>(images.Count);
        var grids = new PatchGrid[images.Count];
        foreach (var batch in Batches(layouts, batchSize))
        {
            cancellationToken.ThrowIfCancellationRequested();
            using var scope = NewDisposeScope();
            var encoded = encoder.Encode(encoder.Preprocess([.. batch.Select(i => images[i])]), outputs);
            for (int b = 0; b < batch.Count; b++)
            {
                int i = batch[b];
                if (wantGlobal) globals[i] = encoded.Global!.select(0, b).MoveToOuterDisposeScope();
                if (!wantPatches) continue;
                var grid = encoded.Patches!.select(0, b);                     // [C, h, w]
                grids[i] = new PatchGrid((int)grid.shape[1], (int)grid.shape[2], layouts[i], images[i].Width, images[i].Height);
                patchRows.Add((i, grid.flatten(1).t().MoveToOuterDisposeScope()));
            }
        }
        Tensor? global = null;
        if (wantGlobal)
            global = (images.Count == 0 ? zeros(0, encoder.FeatureDim) : stack(globals!, 0)).MoveToOuterDisposeScope();
        PatchFeatures? patches = null;
        if (wantPatches)
        {
            var ordered = patchRows.OrderBy(p => p.Image).Select(p => p.Rows).ToList();
            patches = new PatchFeatures(ordered.Count == 0 ? zeros(0, encoder.PatchDim) : cat(ordered, 0).contiguous(), grids);
        }
        return (global, patches);
    }

    // Consecutive runs of images with the same input size, cut at batchSize; a data set of one camera is one run.
    private static IEnumerable<List<int>> Batches(InputLayout[] layouts, int batchSize)
    {
        var batch = new List<int>(batchSize);
        for (int i = 0; i < layouts.Length; i++)
        {
            if (batch.Count > 0 && (batch.Count == batchSize || !SameSize(layouts[batch[0]], layouts[i])))
            {
                yield return batch;
                batch = new List<int>(batchSize);
            }
            batch.Add(i);
        }
        if (batch.Count > 0) yield return batch;
    }

    private static bool SameSize(InputLayout a, InputLayout b) => a.Width == b.Width && a.Height == b.Height;
}
