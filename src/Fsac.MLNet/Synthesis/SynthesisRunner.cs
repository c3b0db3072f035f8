using System.Buffers;
using System.Runtime.InteropServices;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.PixelFormats;

namespace Fsac.MLNet.Synthesis;

/// <summary>
/// The part all synthesizers share: argument checks, the retry loop and the change mask computed by comparing bytes.
/// </summary>
internal static class SynthesisRunner
{
    /// <summary>How many times a synthesizer may draw a new anomaly when one changed nothing or could not be placed.</summary>
    public const int MaxAttempts = 20;

    /// <summary>
    /// One attempt: changes <c>work</c> (a fresh copy of the normal image) and returns the placed regions, or null when
    /// the regions could not be placed.
    /// </summary>
    public delegate IReadOnlyList<SynthesizedRegion>? Attempt(RgbBuffer work, Placement placement, Random rng);

    public static SyntheticAnomaly Run(string method, Image<Rgb24> normal, Random rng, SynthesisContext? context, Attempt attempt)
    {
        ArgumentNullException.ThrowIfNull(normal);
        ArgumentNullException.ThrowIfNull(rng);
        if (context is not null)
        {
            ArgumentNullException.ThrowIfNull(context.Sources, nameof(context));
            for (int i = 0; i < context.Sources.Count; i++)
                if (context.Sources[i] is null)
                    throw new ArgumentException($"SynthesisContext.Sources[{i}] is null.", nameof(context));
        }
        var placement = Placement.For(normal, context?.Foreground);
        using var work = RgbBuffer.From(normal);
        var mask = ArrayPool<byte>.Shared.Rent(normal.Width * normal.Height);
        try
        {
            for (int a = 0; a < MaxAttempts; a++)
            {
                if (a > 0) work.CopyFrom(normal);
                var regions = attempt(work, placement, rng);
                if (regions is null) continue;
                if (ChangeMask(normal, work, mask) > 0)
                {
                    var maskImage = Image.LoadPixelData<L8>(mask.AsSpan(0, normal.Width * normal.Height), normal.Width, normal.Height);
                    return new SyntheticAnomaly(work.ToImage(), maskImage, regions);
                }
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(mask);
        }
        string where = placement.HasForeground ? " within the foreground mask" : "";
        throw new InvalidOperationException(
            $"{method}: could not make an anomaly that changes any pixel of the {normal.Width}x{normal.Height} image{where} " +
            $"in {MaxAttempts} attempts (is the image, or its foreground, too small or uniform?).");
    }

    /// <summary>
    /// Writes 255 where any byte of a pixel of <paramref name="work"/> differs from <paramref name="normal"/>, else 0,
    /// into the first pixels of <paramref name="mask"/>; byte-identical rows are skipped quickly. Returns the number of
    /// changed pixels.
    /// </summary>
    private static int ChangeMask(Image<Rgb24> normal, RgbBuffer work, byte[] mask)
    {
        int w = work.Width, rowBytes = 3 * w, changed = 0;
        var data = work.Data;
        Array.Clear(mask, 0, w * work.Height);
        normal.ProcessPixelRows(accessor =>
        {
            for (int y = 0; y < accessor.Height; y++)
            {
                ReadOnlySpan<byte> before = MemoryMarshal.AsBytes(accessor.GetRowSpan(y));
                var after = data.AsSpan(y * rowBytes, rowBytes);
                if (before.SequenceEqual(after)) continue;
                for (int x = 0, k = 0; x < w; x++, k += 3)
                {
                    if (before[k] != after[k] || before[k + 1] != after[k + 1] || before[k + 2] != after[k + 2])
                    {
                        mask[y * w + x] = 255;
                        changed++;
                    }
                }
            }
        });
        return changed;
    }
}
