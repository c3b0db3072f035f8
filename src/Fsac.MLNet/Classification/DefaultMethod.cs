using Fsac.MLNet.Encoders;
using Fsac.MLNet.PatchCore;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.PixelFormats;

namespace Fsac.MLNet.Classification;

/// <summary>
/// The method used when none is named (<c>FewShotAnomaly(...)</c>, <c>fsac fit</c>, <c>fsac eval --methods default</c>):
/// the one that scored best on real images. It was chosen on half of the development categories and confirmed on the
/// other half (README, Results).
/// </summary>
public static class DefaultMethod
{
    /// <summary>The default's settings: few-shot PatchCore at a higher, aspect-preserving resolution.</summary>
    public static PatchCoreOptions Options { get; } = new()
    {
        Resolution = 320,
        Augmentations = PatchAugmentations.None,
        TopK = 1,
    };

    /// <summary>The default's options with <paramref name="seed"/> and <paramref name="batchSize"/>.</summary>
    public static PatchCoreOptions With(int seed, int batchSize = 16) => Options with { Seed = seed, InferenceBatchSize = batchSize };

    /// <summary>
    /// The options the default uses on <paramref name="encoder"/>: a fixed-input backbone (a ViT) keeps its own input
    /// size, since only convolutional ones can change resolution.
    /// </summary>
    public static PatchCoreOptions For(IImageEncoder encoder, int seed, int batchSize = 16)
    {
        ArgumentNullException.ThrowIfNull(encoder);
        var options = With(seed, batchSize);
        if (options.Resolution is not { } resolution) return options;
        try
        {
            using var view = encoder.WithResolution(resolution);
            return options;
        }
        catch (NotSupportedException)
        {
            return options with { Resolution = null };
        }
    }

    /// <summary>Fits the default on <paramref name="encoder"/> (borrowed).</summary>
    public static PatchCoreClassifier Fit(IImageEncoder encoder, IReadOnlyList<Image<Rgb24>> normals, int seed, CancellationToken cancellationToken = default)
        => PatchCoreClassifier.Fit(encoder, normals, For(encoder, seed), cancellationToken: cancellationToken);
}
