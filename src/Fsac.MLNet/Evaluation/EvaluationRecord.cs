using Fsac.MLNet.Metrics;
using System.Text.Json.Serialization;

namespace Fsac.MLNet.Evaluation;

/// <summary>The result of one method on one category with k shots drawn with one seed.</summary>
/// <param name="Category">Category name.</param>
/// <param name="Method">Method name (<see cref="EvaluationMethods.NameOf"/>).</param>
/// <param name="Shots">k, the normal shots the method saw.</param>
/// <param name="Seed">The seed that drew the shots and seeded the fit.</param>
/// <param name="Auroc">I-AUROC on the test images (<see cref="ImageMetrics.Auroc"/>).</param>
/// <param name="Aupr">I-AUPR, average precision (<see cref="ImageMetrics.AveragePrecision"/>).</param>
/// <param name="F1Max">F1-max (<see cref="ImageMetrics.F1Max"/>); <c>f1max</c> in JSON.</param>
/// <param name="FitSeconds">Wall time of the whole fit, encoding of the shots and synthetic anomalies included.</param>
/// <param name="ScoreMsPerImage">Milliseconds to score one test image: loading and encoding (measured once per category) plus the method's head.</param>
/// <param name="TestNormals">Normal test images (the shots excluded).</param>
/// <param name="TestAnomalies">Anomalous test images.</param>
/// <param name="PixelAuroc">
/// P-AUROC over the pixels of the test images (<see cref="PixelMetrics.PixelAuroc"/>); <c>pixel_auroc</c> in JSON.
/// Null, and left out of the JSON, when the category has no ground-truth masks.
/// </param>
/// <param name="Aupro">
/// AUPRO up to FPR 0.3 (<see cref="PixelMetrics.Aupro"/>); <c>aupro</c> in JSON. Null, and left out of the JSON,
/// when the category has no ground-truth masks.
/// </param>
public sealed record EvaluationRecord(string Category, string Method, int Shots, int Seed, double Auroc, double Aupr, [property: JsonPropertyName("f1max")] double F1Max,
    double FitSeconds, double ScoreMsPerImage, int TestNormals, int TestAnomalies,
    [property: JsonPropertyName("pixel_auroc"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] double? PixelAuroc = null,
    [property: JsonPropertyName("aupro"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] double? Aupro = null);
