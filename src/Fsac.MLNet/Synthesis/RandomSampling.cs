namespace Fsac.MLNet.Synthesis;

/// <summary>Draws from the distributions the synthesizers need, using only the caller's <see cref="Random"/>.</summary>
internal static class RandomSampling
{
    private const int MaxRejections = 10_000;

    /// <summary>Uniform in [<paramref name="min"/>, <paramref name="max"/>).</summary>
    public static double Uniform(Random rng, double min, double max) => min + (max - min) * rng.NextDouble();

    /// <summary>Log-uniform in [<paramref name="min"/>, <paramref name="max"/>), both positive.</summary>
    public static double LogUniform(Random rng, double min, double max) =>
        Math.Exp(Uniform(rng, Math.Log(min), Math.Log(max)));

    /// <summary>Two independent standard normal values (Marsaglia's polar method).</summary>
    public static (double First, double Second) StandardNormalPair(Random rng)
    {
        while (true)
        {
            double u = 2 * rng.NextDouble() - 1, v = 2 * rng.NextDouble() - 1;
            double s = u * u + v * v;
            if (s is > 0 and < 1)
            {
                double f = Math.Sqrt(-2 * Math.Log(s) / s);
                return (u * f, v * f);
            }
        }
    }

    /// <summary>Gamma(<paramref name="shape"/>, <paramref name="scale"/>) by Marsaglia and Tsang's method.</summary>
    public static double Gamma(Random rng, double shape, double scale)
    {
        if (shape < 1)
        {
            // Gamma(a) = Gamma(a + 1) * U^(1/a).
            double u = rng.NextDouble();
            return Gamma(rng, shape + 1, scale) * Math.Pow(u, 1 / shape);
        }
        double d = shape - 1.0 / 3, c = 1 / Math.Sqrt(9 * d);
        while (true)
        {
            double x, v;
            do
            {
                x = StandardNormalPair(rng).First;
                v = 1 + c * x;
            }
            while (v <= 0);
            v = v * v * v;
            double w = rng.NextDouble();
            if (w < 1 - 0.0331 * x * x * x * x || Math.Log(w) < 0.5 * x * x + d * (1 - v + Math.Log(v)))
                return d * v * scale;
        }
    }

    /// <summary>
    /// <c>location + Gamma(shape, scale)</c> truncated to [<paramref name="min"/>, <paramref name="max"/>] by rejection.
    /// </summary>
    /// <exception cref="InvalidOperationException">The distribution puts almost no mass in the interval.</exception>
    public static double TruncatedGamma(Random rng, double shape, double scale, double location, double min, double max)
    {
        for (int i = 0; i < MaxRejections; i++)
        {
            double x = location + Gamma(rng, shape, scale);
            if (x >= min && x <= max) return x;
        }
        throw new InvalidOperationException(
            $"The Gamma distribution (shape {shape}, scale {scale}, location {location}) has almost no mass in [{min}, {max}]; " +
            "widen the bounds or change the Gamma parameters.");
    }
}
