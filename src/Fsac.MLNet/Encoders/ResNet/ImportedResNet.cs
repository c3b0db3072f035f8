using Fsac.MLNet.Checkpoints;

namespace Fsac.MLNet.Encoders.ResNet;

/// <summary>A ResNet read from an ONNX graph: its architecture, its weights by torchvision-style name, and its input side.</summary>
/// <param name="Config">Architecture.</param>
/// <param name="State">Weights and batch-norm statistics keyed as <see cref="ResNetBackbone"/> names them.</param>
/// <param name="ImageSize">Side of the square input the graph declares.</param>
internal sealed record ImportedResNet(ResNetConfig Config, IReadOnlyDictionary<string, TensorData> State, long ImageSize);
