namespace Fsac.MLNet.Evaluation;

/// <summary>
/// Everything kept of one run per category for pictures: the test labels, every method's scores (histograms), the
/// training curve of the first CLIP-FSAC variant (checkpoints, losses) and its worst cases with saliency maps.
/// </summary>
/// <param name="Category">Category name.</param>
/// <param name="Shots">k of the run.</param>
/// <param name="Seed">Seed of the run.</param>
/// <param name="Paths">The test images of the run (shots excluded).</param>
/// <param name="Labels">True for anomalous test images, in the order of <paramref name="Paths"/>.</param>
/// <param name="Scores">Scores of each method (by name), in the order of <paramref name="Paths"/>.</param>
/// <param name="Training">The training curve, when a CLIP-FSAC variant ran.</param>
/// <param name="WorstCases">Lowest-scored anomalies and highest-scored normals of <paramref name="WorstCasesMethod"/>, with its anomaly maps.</param>
/// <param name="WorstCasesMethod">The method the worst cases and their maps come from (the first patch method, else the first CLIP-FSAC variant).</param>
public sealed record RunDiagnostics(string Category, int Shots, int Seed, IReadOnlyList<string> Paths, IReadOnlyList<bool> Labels,
    IReadOnlyDictionary<string, float[]> Scores, TrainingCurve? Training, IReadOnlyList<WorstCase> WorstCases, string? WorstCasesMethod = null);
