using Fsac.MLNet.Evaluation.Datasets;
using Fsac.MLNet.Head;

namespace Fsac.MLNet.Evaluation;

/// <summary>Everything needed to rerun an evaluation, recorded with its results.</summary>
/// <param name="Backbone">The encoder's name (architecture and weights checksum).</param>
/// <param name="FeatureDim">Width of the encoder's features.</param>
/// <param name="TextTower">Whether the backbone has a text tower (prompt anchors, zero-shot); otherwise FSAC uses prototype anchors.</param>
/// <param name="DataRoot">The data set folder, when the run discovered it.</param>
/// <param name="Layout">The data set layout, when the run discovered it.</param>
/// <param name="Shots">The shot counts k.</param>
/// <param name="Seeds">The seeds.</param>
/// <param name="Methods">The method names actually run (zero-shot dropped without a text tower).</param>
/// <param name="Fsac">The CLIP-FSAC options (before each method's training mode, the seed and the class name are set).</param>
/// <param name="CheckpointInterval">Epochs between reported training checkpoints (0: none).</param>
/// <param name="Threads">libtorch intra-op threads.</param>
public sealed record EvaluationSettings(string Backbone, int FeatureDim, bool TextTower, string? DataRoot, DatasetLayout? Layout,
    IReadOnlyList<int> Shots, IReadOnlyList<int> Seeds, IReadOnlyList<string> Methods, FsacOptions Fsac, int CheckpointInterval, int Threads);
