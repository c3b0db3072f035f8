using Fsac.MLNet.Encoders;
using Fsac.MLNet.PatchCore;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.PixelFormats;

namespace Fsac.MLNet.Classifiers;

/// <summary>
/// The method used when none is named (<c>FewShotAnomaly(...)</c>, <c>fsac fit</c>, <c>fsac eval --methods default</c>):
/// few-shot PatchCore that sees the whole image at 224 px on its shorter side (aspect ratio kept, no centre crop),
/// compares unit-length patch features (their pattern, not their magnitude), adds flipped and rotated copies of the
/// shots to the memory, keeps at most 4096 patches (greedy coreset), and scores an image by the mean of its 10 most
/// distant patches. Chosen on elpv/mono and
/// deeppcb groups 12100 and 12300 against PatchCore's own settings (224x224 centre crop, raw features, no copies, the
/// single most distant patch), then confirmed on cookies, elpv/poly and deeppcb group 44000 (README, Results). On a
/// fixed-input backbone (a ViT) the input stays the backbone's own.
/// </summary>
public static class DefaultMethod
{
    /// <summary>The default's settings.</summary>
    public static PatchCoreOptions Options { get; } = new()
    {
        Resolution = 224,
        Normalize = true,
        Augmentations = PatchAugmentations.All,
        TopK = 10,
        MemoryLimit = 4096,
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
