namespace Fsac.MLNet.Evaluation;

/// <summary>One method with k shots on one category (or the mean of all categories), as mean ± std over seeds.</summary>
/// <param name="Method">Method name.</param>
/// <param name="Shots">k.</param>
/// <param name="Category">Category name, or null for the mean over categories (per seed, then over seeds).</param>
/// <param name="Auroc">I-AUROC.</param>
/// <param name="Aupr">I-AUPR.</param>
/// <param name="F1Max">F1-max.</param>
/// <param name="FitSeconds">Fit time.</param>
/// <param name="ScoreMsPerImage">Scoring time per image.</param>
/// <param name="PixelAuroc">P-AUROC over the seeds that have it, or null when none has (no ground-truth masks).</param>
/// <param name="Aupro">AUPRO over the seeds that have it, or null when none has.</param>
public sealed record SummaryRow(string Method, int Shots, string? Category, MeanStd Auroc, MeanStd Aupr, MeanStd F1Max,
    MeanStd FitSeconds, MeanStd ScoreMsPerImage, MeanStd? PixelAuroc = null, MeanStd? Aupro = null);
