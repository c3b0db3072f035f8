namespace Fsac.MLNet.Checkpoints.Pickle;

/// <summary>A tensor as pickled by PyTorch: a strided view of a storage, not yet read.</summary>
/// <param name="Storage">The storage the view reads from.</param>
/// <param name="Offset">Index (in elements) of the view's first element in the storage.</param>
/// <param name="Shape">Dimensions, outermost first.</param>
/// <param name="Stride">Step (in elements) along each dimension.</param>
internal sealed record TorchTensorRef(TorchStorageRef Storage, long Offset, long[] Shape, long[] Stride);
