namespace Fsac.Cli.Predictions;

/// <summary>The outcome for one input image of <c>fsac predict</c>: a score and decision, or why it was skipped.</summary>
/// <param name="Image">The image file as given (or found in a given folder).</param>
/// <param name="Score">Anomaly score in [0, 1]; null when the image could not be read.</param>
/// <param name="Anomalous">Whether the score is at or above the model's threshold; null when skipped.</param>
/// <param name="Heatmap">The saliency overlay written for it, if any.</param>
/// <param name="Error">Why the image was skipped; null when it was scored.</param>
public sealed record ImagePrediction(string Image, float? Score, bool? Anomalous, string? Heatmap, string? Error);
