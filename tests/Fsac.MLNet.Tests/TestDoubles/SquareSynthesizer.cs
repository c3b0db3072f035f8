using Fsac.MLNet.Synthesis;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.PixelFormats;

namespace Fsac.MLNet.Tests.TestDoubles;

/// <summary>Paints one square of a random colour, 10–30 % of the shorter side, at a random place.</summary>
public sealed class SquareSynthesizer : IAnomalySynthesizer
{
    public string Name => "square";

    /// <summary>Number of anomalies made so far.</summary>
    public int Calls { get; private set; }

    public SyntheticAnomaly Synthesize(Image<Rgb24> normal, Random rng, SynthesisContext? context = null)
    {
        Calls++;
        int shorter = Math.Min(normal.Width, normal.Height);
        int side = Math.Max(1, (int)(shorter * (0.1 + 0.2 * rng.NextDouble())));
        int x0 = rng.Next(normal.Width - side + 1), y0 = rng.Next(normal.Height - side + 1);
        var colour = new Rgb24((byte)rng.Next(256), (byte)rng.Next(256), (byte)rng.Next(256));
        var image = normal.Clone();
        var mask = new Image<L8>(normal.Width, normal.Height);
        for (int y = y0; y < y0 + side; y++)
            for (int x = x0; x < x0 + side; x++)
            {
                if (!image[x, y].Equals(colour)) mask[x, y] = new L8(255);
                image[x, y] = colour;
            }
        return new SyntheticAnomaly(image, mask);
    }
}
