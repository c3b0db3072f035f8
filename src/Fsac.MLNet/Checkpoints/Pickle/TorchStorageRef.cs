using TorchSharp;

namespace Fsac.MLNet.Checkpoints.Pickle;

/// <summary>A storage of a <c>torch.save</c> archive: the record <c>data/&lt;Key&gt;</c> holding <paramref name="ElementCount"/> elements.</summary>
/// <param name="Key">The record name inside the archive's <c>data/</c> folder.</param>
/// <param name="DType">Element type.</param>
/// <param name="ElementCount">Number of elements the pickle says the storage holds.</param>
internal sealed record TorchStorageRef(string Key, torch.ScalarType DType, long ElementCount);
