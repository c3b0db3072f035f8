using SixLabors.ImageSharp;

namespace Fsac.MLNet.Synthesis;

/// <summary>Writes blocks of noise into an image, leaving pixels off the object as they are.</summary>
internal static class NoiseRegions
{
    /// <summary>Whether noise for <paramref name="image"/> is grey under <paramref name="colour"/>.</summary>
    public static bool IsGrey(NoiseColour colour, RgbBuffer image)
    {
        if (colour != NoiseColour.Auto) return colour == NoiseColour.Grey;
        var data = image.Pixels;
        for (int k = 0; k < data.Length; k += 3)
            if (data[k] != data[k + 1] || data[k] != data[k + 2]) return false;
        return true;
    }

    /// <summary>
    /// Fills <paramref name="r"/> of <paramref name="work"/> with noise that <paramref name="draw"/> writes into a
    /// buffer of one value per pixel (<paramref name="grey"/>) or three (interleaved RGB).
    /// </summary>
    public static void Fill(RgbBuffer work, Placement placement, Rectangle r, bool grey, Action<byte[]> draw)
    {
        int perPixel = grey ? 1 : 3, green = grey ? 0 : 1, blue = grey ? 0 : 2;
        var noise = new byte[perPixel * r.Width * r.Height];
        draw(noise);
        var data = work.Data;
        for (int y = 0; y < r.Height; y++)
        {
            int dst = 3 * ((r.Y + y) * work.Width + r.X), src = perPixel * y * r.Width;
            if (!grey && !placement.HasForeground)
            {
                noise.AsSpan(src, 3 * r.Width).CopyTo(data.AsSpan(dst, 3 * r.Width));
                continue;
            }
            for (int x = 0; x < r.Width; x++, dst += 3, src += perPixel)
            {
                if (!placement.Allows(r.X + x, r.Y + y)) continue;
                data[dst] = noise[src];
                data[dst + 1] = noise[src + green];
                data[dst + 2] = noise[src + blue];
            }
        }
    }
}
