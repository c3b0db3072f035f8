namespace Fsac.MLNet.Tests.Synthesis;

/// <summary>Checks of samples against distributions derived in the tests.</summary>
internal static class Distributions
{
    /// <summary>Each value in [min, max] occurs about equally often: within 5 standard deviations of n / k.</summary>
    public static void AssertUniformCounts(IReadOnlyList<int> values, int min, int max, string what)
    {
        int k = max - min + 1;
        double expected = (double)values.Count / k, sd = Math.Sqrt(values.Count * (1.0 / k) * (1 - 1.0 / k));
        for (int v = min; v <= max; v++)
        {
            int seen = values.Count(x => x == v);
            Assert.AreEqual(expected, seen, 5 * sd, $"{what}: {v} seen {seen} times of {values.Count}, expected about {expected:F0}");
        }
        Assert.IsTrue(values.All(x => x >= min && x <= max), $"{what}: a value outside [{min}, {max}]");
    }

    /// <summary>
    /// The empirical distribution function of <paramref name="samples"/> is within <paramref name="tolerance"/> of
    /// <paramref name="cdf"/> at each of <paramref name="points"/>.
    /// </summary>
    public static void AssertCdf(IReadOnlyList<double> samples, Func<double, double> cdf, IEnumerable<double> points, double tolerance, string what)
    {
        foreach (double x in points)
        {
            double empirical = (double)samples.Count(s => s <= x) / samples.Count;
            Assert.AreEqual(cdf(x), empirical, tolerance, $"{what}: P(X <= {x})");
        }
    }

    /// <summary>Standard normal CDF (Abramowitz and Stegun 7.1.26 for erf; error below 1e-6).</summary>
    public static double NormalCdf(double z)
    {
        double x = Math.Abs(z) / Math.Sqrt(2), t = 1 / (1 + 0.3275911 * x);
        double erf = 1 - t * (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429)))) * Math.Exp(-x * x);
        return z >= 0 ? 0.5 * (1 + erf) : 0.5 * (1 - erf);
    }
}
