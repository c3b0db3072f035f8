using TorchSharp;

namespace Fsac.MLNet.Encoders;

/// <summary>
/// What one forward pass of an <see cref="IImageEncoder"/> produced: the pooled features and/or the patch grid.
/// The tensors belong to the caller's dispose scope.
/// </summary>
/// <param name="Global">Unnormalised pooled features <c>[N, D]</c> (float32), when <see cref="EncoderOutputs.Global"/> was asked for.</param>
/// <param name="Patches">
/// Local features <c>[N, C, h, w]</c> (float32), when <see cref="EncoderOutputs.Patches"/> was asked for. The grid covers
/// the preprocessed input evenly: cell (i, j) looks at the input's rows <c>[i·H/h, (i+1)·H/h)</c> and columns
/// <c>[j·W/w, (j+1)·W/w)</c>; <see cref="IImageEncoder.Layout"/> places the input on the original image.
/// </param>
public readonly record struct EncodedImages(torch.Tensor? Global, torch.Tensor? Patches);
