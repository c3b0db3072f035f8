using Fsac.MLNet.Encoders;

namespace Fsac.MLNet.Classifiers;

/// <summary>Image scores and the patch scores behind them.</summary>
/// <param name="Scores">One anomaly score per image, higher is more anomalous.</param>
/// <param name="PatchMaps">
/// Per image, its non-negative patch scores row-major over its <see cref="Encoders.PatchGrid"/>, higher where a defect
/// is likelier (the anomaly map before upsampling).
/// </param>
public sealed record PatchScores(float[] Scores, float[][] PatchMaps);
