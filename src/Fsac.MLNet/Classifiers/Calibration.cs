namespace Fsac.MLNet.Classifiers;

/// <summary>Turning unbounded scores into probabilities with the scores a fit calibrated its threshold on.</summary>
internal static class Calibration
{
    /// <summary>
    /// 1 / (1 + exp(−(score − threshold) / scale)), the scale being half the standard deviation of all calibration
    /// scores (floored), so 0.5 at the threshold, continuous and ordered like the scores.
    /// </summary>
    public static float Logistic(float score, float threshold, IReadOnlyCollection<float> normals, IReadOnlyCollection<float> anomalies)
        => (float)(1 / (1 + Math.Exp(-(score - threshold) / Scale(normals, anomalies))));

    /// <summary>The logistic's scale: half the standard deviation of all calibration scores, floored.</summary>
    public static double Scale(IReadOnlyCollection<float> normals, IReadOnlyCollection<float> anomalies)
    {
        var all = normals.Concat(anomalies).ToArray();
        double mean = all.Average(), std = Math.Sqrt(all.Average(v => (v - mean) * (v - mean)));
        return Math.Max(std / 2, 1e-6 * Math.Max(1, Math.Abs(mean)));
    }

    /// <summary>The same logistic for the ONNX export.</summary>
    public static Export.Logistic ForExport(float threshold, IReadOnlyCollection<float> normals, IReadOnlyCollection<float> anomalies)
        => new(threshold, Scale(normals, anomalies));
}
