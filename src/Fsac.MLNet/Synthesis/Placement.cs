using SixLabors.ImageSharp;
using SixLabors.ImageSharp.PixelFormats;

namespace Fsac.MLNet.Synthesis;

/// <summary>
/// Where anomalies may go in one image: anywhere, or (with a foreground mask) on the object. Answers
/// "is this pixel on the object" and "what fraction of this rectangle is object" in O(1).
/// </summary>
internal sealed class Placement
{
    /// <summary>Foreground mask values at or above this count as object.</summary>
    public const byte ForegroundThreshold = 128;

    private const int MaxTries = 100;

    private readonly int _width;
    private readonly int _height;
    private readonly bool[]? _inside;
    private readonly int[]? _objectPixels;
    private readonly int[]? _integral; // (width + 1) x (height + 1) summed-area table of _inside

    private Placement(int width, int height, bool[]? inside)
    {
        _width = width;
        _height = height;
        if (inside is null) return;
        _inside = inside;
        _integral = new int[(width + 1) * (height + 1)];
        for (int y = 0; y < height; y++)
        {
            int rowSum = 0;
            for (int x = 0; x < width; x++)
            {
                if (inside[y * width + x]) rowSum++;
                _integral[(y + 1) * (width + 1) + x + 1] = _integral[y * (width + 1) + x + 1] + rowSum;
            }
        }
        _objectPixels = new int[_integral[^1]];
        for (int i = 0, n = 0; i < inside.Length; i++)
            if (inside[i]) _objectPixels[n++] = i;
    }

    public bool HasForeground => _inside is not null;

    /// <summary>Placement for <paramref name="normal"/>, restricted to <paramref name="foreground"/> when given.</summary>
    /// <exception cref="ArgumentException">The mask has another size than the image, or marks no pixel.</exception>
    public static Placement For(Image<Rgb24> normal, Image<L8>? foreground)
    {
        if (foreground is null) return new Placement(normal.Width, normal.Height, null);
        if (foreground.Width != normal.Width || foreground.Height != normal.Height)
            throw new ArgumentException(
                $"The foreground mask is {foreground.Width}x{foreground.Height} but the image is {normal.Width}x{normal.Height}; they must be the same size.",
                nameof(foreground));
        var values = new L8[foreground.Width * foreground.Height];
        foreground.CopyPixelDataTo(values);
        var inside = new bool[values.Length];
        bool any = false;
        for (int i = 0; i < values.Length; i++)
        {
            inside[i] = values[i].PackedValue >= ForegroundThreshold;
            any |= inside[i];
        }
        if (!any)
            throw new ArgumentException(
                $"The foreground mask marks no object pixel (none is {ForegroundThreshold} or more); pass null for textures.",
                nameof(foreground));
        return new Placement(normal.Width, normal.Height, inside);
    }

    /// <summary>True when the pixel may change: always without a foreground mask, else when it is on the object.</summary>
    public bool Allows(int x, int y) => _inside is null || _inside[y * _width + x];

    /// <summary>Fraction of <paramref name="r"/> (inside the image) that lies on the object; 1 without a mask.</summary>
    public double ObjectFraction(Rectangle r)
    {
        if (_integral is null) return 1;
        int s = _width + 1;
        int sum = _integral[r.Bottom * s + r.Right] - _integral[r.Top * s + r.Right]
                - _integral[r.Bottom * s + r.Left] + _integral[r.Top * s + r.Left];
        return (double)sum / ((long)r.Width * r.Height);
    }

    /// <summary>
    /// Puts a <paramref name="width"/> x <paramref name="height"/> rectangle at least <paramref name="margin"/> pixels
    /// from the image border. Without a mask the position is uniform. With one, the rectangle covers a random object
    /// pixel (shifted inside the allowed area if needed) and must have at least <paramref name="minObjectFraction"/>
    /// of its area on the object; null when no such position was found in a bounded number of tries.
    /// </summary>
    public Rectangle? TryPlace(Random rng, int width, int height, int margin, double minObjectFraction)
    {
        int maxLeft = _width - margin - width, maxTop = _height - margin - height;
        if (width < 1 || height < 1 || maxLeft < margin || maxTop < margin)
            throw new ArgumentOutOfRangeException(nameof(width), $"A {width}x{height} region does not fit a {_width}x{_height} image with a {margin}-pixel margin.");
        if (_objectPixels is null)
            return new Rectangle(rng.Next(margin, maxLeft + 1), rng.Next(margin, maxTop + 1), width, height);
        for (int t = 0; t < MaxTries; t++)
        {
            int p = _objectPixels[rng.Next(_objectPixels.Length)];
            int left = Math.Clamp(p % _width - width / 2, margin, maxLeft);
            int top = Math.Clamp(p / _width - height / 2, margin, maxTop);
            var r = new Rectangle(left, top, width, height);
            if (ObjectFraction(r) >= minObjectFraction) return r;
        }
        return null;
    }
}
