namespace Fsac.MLNet.Evaluation;

/// <summary>Size and encoding cost of one evaluated category.</summary>
/// <param name="Name">Category name.</param>
/// <param name="NormalPool">Normal images the shots were drawn from.</param>
/// <param name="TestImages">Test images before the shots were removed.</param>
/// <param name="TestAnomalies">Anomalous test images.</param>
/// <param name="EncodeMsPerImage">Milliseconds to load and encode one test image (measured once for the category).</param>
public sealed record CategorySummary(string Name, int NormalPool, int TestImages, int TestAnomalies, double EncodeMsPerImage);
