using Fsac.MLNet.Classifiers;
using Fsac.MLNet.Encoders;
using System.Text.Json.Serialization;

namespace Fsac.MLNet.PatchCore;

/// <summary>
/// Settings of a few-shot PatchCore fit: the encoder's layer2 + layer3 patches of every shot form the memory, and an
/// image scores the distance of its most distant patch to its nearest memory patch. Stored with a saved model.
/// </summary>
public sealed record PatchCoreOptions
{
    /// <summary>
    /// The input's shorter side in pixels, the image's aspect ratio kept (<see cref="Encoders.IImageEncoder.WithResolution"/>);
    /// null uses the encoder's own input (224x224 centre crop for ResNet18, the fixed size of a ViT). A multiple of 32.
    /// Larger finds smaller defects, at a cost that grows with its square.
    /// </summary>
    public int? Resolution { get; init; }

    /// <summary>Flipped and rotated copies of the shots added to the memory.</summary>
    public PatchAugmentations Augmentations { get; init; } = PatchAugmentations.None;

    /// <summary>The most patches the memory keeps; a larger memory is subsampled to this size by greedy coreset selection.</summary>
    public int MemoryLimit { get; init; } = 40_000;

    /// <summary>The image score is the mean of its this many largest patch distances; 1 (the default) is PatchCore's max.</summary>
    public int TopK { get; init; } = 1;

    /// <summary>
    /// When true every patch feature is scaled to unit length before it enters the memory or is searched, so distances
    /// compare patterns, not feature magnitudes (which follow, for example, how much ink a board crop has).
    /// </summary>
    public bool Normalize { get; init; }

    /// <summary>
    /// How the nearest memory patch is found: <see cref="SearchPrecision.Auto"/> (the default) ranks candidates in
    /// bfloat16 where the CPU does that natively and re-checks them in float32.
    /// </summary>
    public SearchPrecision Search { get; init; } = SearchPrecision.Auto;

    /// <summary>σ of the Gaussian that smooths anomaly maps, in input pixels (PatchCore: 4); 0 turns smoothing off.</summary>
    public double MapSigma { get; init; } = 4.0;

    /// <summary>Synthesis method of the anomalies the threshold is calibrated on (never part of the memory).</summary>
    public string SynthesisMethod { get; init; } = "gaussian";

    /// <summary>Synthetic anomalies per shot for the threshold.</summary>
    public int CalibrationAnomaliesPerNormal { get; init; } = 4;

    // Seed and batch size come from the options that hold these (AnomalyMethodOptions, FewShotAnomalyOptions), so a
    // user sets each once; the library passes them down here.

    /// <summary>Seed of the coreset selection and of the calibration anomalies.</summary>
    [JsonInclude]
    internal int Seed { get; init; }

    /// <summary>Images encoded together.</summary>
    [JsonInclude]
    internal int InferenceBatchSize { get; init; } = 16;

    /// <summary>Checks that every value is usable.</summary>
    /// <exception cref="ArgumentException">A value is out of range; the message names it.</exception>
    public void Validate()
    {
        if (Resolution is { } r && (r < 32 || r > 2048 || r % 32 != 0))
            throw new ArgumentOutOfRangeException(nameof(Resolution), r, "must be a multiple of 32 between 32 and 2048 pixels (e.g. 224, 320, 448).");
        if ((Augmentations & ~PatchAugmentations.All) != 0) throw new ArgumentOutOfRangeException(nameof(Augmentations), Augmentations, "unknown augmentation.");
        ArgumentOutOfRangeException.ThrowIfLessThan(MemoryLimit, 1, nameof(MemoryLimit));
        if (!Enum.IsDefined(Search)) throw new ArgumentOutOfRangeException(nameof(Search), Search, "unknown search precision.");
        ArgumentOutOfRangeException.ThrowIfLessThan(TopK, 1, nameof(TopK));
        if (!(MapSigma >= 0) || double.IsInfinity(MapSigma)) throw new ArgumentOutOfRangeException(nameof(MapSigma), MapSigma, "must be 0 or positive.");
        ArgumentException.ThrowIfNullOrWhiteSpace(SynthesisMethod, nameof(SynthesisMethod));
        ArgumentOutOfRangeException.ThrowIfLessThan(CalibrationAnomaliesPerNormal, 1, nameof(CalibrationAnomaliesPerNormal));
        ArgumentOutOfRangeException.ThrowIfLessThan(InferenceBatchSize, 1, nameof(InferenceBatchSize));
    }
}
