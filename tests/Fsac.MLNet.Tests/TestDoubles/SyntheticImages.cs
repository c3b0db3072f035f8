using SixLabors.ImageSharp;
using SixLabors.ImageSharp.PixelFormats;

namespace Fsac.MLNet.Tests.TestDoubles;

/// <summary>
/// A synthetic inspection task: "normal" images are a bluish-grey surface with pixel noise and a random global
/// brightness; "defective" ones shift the colour of a small rectangle by ±30–60 per channel.
/// </summary>
public static class SyntheticImages
{
    public static Image<Rgb24> Normal(Random rng, int width = 40, int height = 40)
    {
        var image = new Image<Rgb24>(width, height);
        int shift = rng.Next(-10, 11);
        for (int y = 0; y < height; y++)
            for (int x = 0; x < width; x++)
            {
                int n = rng.Next(-12, 13);
                image[x, y] = new Rgb24(Clamp(90 + shift + n), Clamp(110 + shift + n), Clamp(130 + shift + n));
            }
        return image;
    }

    public static Image<Rgb24> Defective(Random rng, int width = 40, int height = 40)
    {
        var image = Normal(rng, width, height);
        int w = rng.Next(width / 10, width / 6 + 1), h = rng.Next(height / 10, height / 6 + 1);
        int x0 = rng.Next(width - w + 1), y0 = rng.Next(height - h + 1);
        int dr = Offset(rng), dg = Offset(rng), db = Offset(rng);
        for (int y = y0; y < y0 + h; y++)
            for (int x = x0; x < x0 + w; x++)
            {
                var p = image[x, y];
                image[x, y] = new Rgb24(Clamp(p.R + dr), Clamp(p.G + dg), Clamp(p.B + db));
            }
        return image;
    }

    public static List<Image<Rgb24>> Normals(int count, int seed)
    {
        var rng = new Random(seed);
        return [.. Enumerable.Range(0, count).Select(_ => Normal(rng))];
    }

    private static int Offset(Random rng) => (rng.Next(2) == 0 ? -1 : 1) * rng.Next(30, 61);

    private static byte Clamp(int v) => (byte)Math.Clamp(v, 0, 255);
}
