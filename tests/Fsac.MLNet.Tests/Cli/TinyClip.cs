using Fsac.MLNet.Encoders.Clip;
using Fsac.MLNet.Tests.TestDoubles;
using SixLabors.ImageSharp;

namespace Fsac.MLNet.Tests.Cli;

/// <summary>
/// The tiny CLIP of the shared fixtures as a user may have it: a model folder without a vocabulary (read-only
/// <c>clip-reference/tiny-vit</c>) and the vocabulary file elsewhere (<c>clip-reference/vocab</c>); and small images.
/// </summary>
internal static class TinyClip
{
    public static string Folder => SharedData.Path("clip-reference", "tiny-vit");

    public static string Vocabulary => SharedData.Path("clip-reference", "vocab", ClipTokenizer.BpeGzFileName);

    /// <summary>Writes <paramref name="count"/> synthetic 40x40 normal images as PNGs into <paramref name="folder"/>.</summary>
    public static string[] Images(string folder, int count, int seed = 0)
    {
        Directory.CreateDirectory(folder);
        var rng = new Random(seed);
        return [.. Enumerable.Range(0, count).Select(i =>
        {
            using var image = SyntheticImages.Normal(rng);
            var path = Path.Combine(folder, $"n{i}.png");
            image.SaveAsPng(path);
            return path;
        })];
    }
}
