using SixLabors.ImageSharp;
using SixLabors.ImageSharp.PixelFormats;

namespace Fsac.MLNet.Synthesis;

/// <summary>
/// The images a patch may be cut from during one synthesis: a random one of the context's sources, or the normal
/// image itself when there are none. Each is copied into a pixel buffer once, when first picked.
/// </summary>
internal sealed class PatchSources(Image<Rgb24> normal, IReadOnlyList<Image<Rgb24>>? sources) : IDisposable
{
    private readonly RgbBuffer?[] _buffers = new RgbBuffer?[(sources?.Count ?? 0) + 1]; // the last slot is the normal image

    /// <summary>A random source and its index in the context's sources (-1 for the normal image).</summary>
    public (RgbBuffer Buffer, int Index) Pick(Random rng)
    {
        int count = sources?.Count ?? 0;
        if (count == 0) return (_buffers[0] ??= RgbBuffer.From(normal), -1);
        int index = rng.Next(count);
        return (_buffers[index] ??= RgbBuffer.From(sources![index]), index);
    }

    public void Dispose()
    {
        foreach (var buffer in _buffers) buffer?.Dispose();
    }
}
