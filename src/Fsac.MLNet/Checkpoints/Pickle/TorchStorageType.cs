using TorchSharp;

namespace Fsac.MLNet.Checkpoints.Pickle;

/// <summary>A typed-storage class such as <c>torch.FloatStorage</c>, named in a storage's persistent id.</summary>
/// <param name="Name">The class name, e.g. <c>FloatStorage</c>.</param>
/// <param name="DType">The element type its storages hold.</param>
internal sealed record TorchStorageType(string Name, torch.ScalarType DType);
