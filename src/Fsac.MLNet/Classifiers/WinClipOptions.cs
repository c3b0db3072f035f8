using Fsac.MLNet.Encoders;
using Fsac.MLNet.Head;
using System.Text.Json.Serialization;

namespace Fsac.MLNet.Classifiers;

/// <summary>
/// Settings of a WinCLIP+ fit (<see cref="WinClipClassifier"/>): the class name of the prompt ensemble, the softmax
/// temperature, the window scales of the zero-shot map, the layers of the few-shot memory, the map smoothing and the
/// threshold calibration. Stored with a saved model.
/// </summary>
public sealed record WinClipOptions
{
    /// <summary>Largest window side accepted, in patches.</summary>
    public const int MaxWindowSize = 32;

    /// <summary>The object or texture name the compositional prompt ensemble describes, e.g. <c>bottle</c>.</summary>
    [JsonInclude]
    internal string ClassName { get; init; } = "object";

    /// <summary>τ of the softmax over the cosines to [T⁺, T⁻] (CLIP's 0.07, as WinCLIP).</summary>
    public double ScoreTemperature { get; init; } = 0.07;

    /// <summary>
    /// Sides (in patches) of the square sliding windows of the zero-shot map, stride 1, each at least 2; single
    /// patches (1×1) are always scored as well. WinCLIP uses 2×2 and 3×3. Sides larger than the patch grid are skipped.
    /// </summary>
    public IReadOnlyList<int> WindowSizes { get; init; } = [2, 3];

    /// <summary>
    /// 1-based transformer blocks whose residual-stream patch tokens (class token dropped, L2-normalised) form the
    /// few-shot memory, one memory per layer and the layers' maps averaged (WinCLIP uses mid-layer tokens); null uses
    /// the projected final patch tokens. Needs a <see cref="Encoders.ClipEncoder"/>, and rules out scoring cached
    /// patch features (<see cref="WinClipClassifier.ScoreEncoded"/>).
    /// </summary>
    public IReadOnlyList<int>? MemoryLayers { get; init; }

    /// <summary>σ of the Gaussian that smooths anomaly maps, in input pixels (4 by default); 0 turns smoothing off.</summary>
    public double MapSigma { get; init; } = 4.0;

    /// <summary>Synthetic anomalies (Gaussian noise) per shot for the threshold.</summary>
    public int CalibrationAnomaliesPerNormal { get; init; } = 4;

    // Seed, batch size and class name come from the options that hold these (AnomalyMethodOptions and its FsacOptions),
    // so a user sets each once; the library passes them down here.

    /// <summary>Seed of the calibration anomalies.</summary>
    [JsonInclude]
    internal int Seed { get; init; }

    /// <summary>Images encoded together.</summary>
    [JsonInclude]
    internal int InferenceBatchSize { get; init; } = 16;

    /// <summary>Checks that every value is usable.</summary>
    /// <exception cref="ArgumentException">A value is out of range; the message and the parameter name name the property.</exception>
    public void Validate()
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(ClassName, nameof(ClassName));
        if (!(ScoreTemperature > 0) || double.IsInfinity(ScoreTemperature))
            throw new ArgumentOutOfRangeException(nameof(ScoreTemperature), ScoreTemperature, "ScoreTemperature must be positive and finite.");
        if (WindowSizes is null) throw new ArgumentNullException(nameof(WindowSizes), "WindowSizes must be a list (empty for single patches only).");
        foreach (var size in WindowSizes)
            if (size < 2 || size > MaxWindowSize)
                throw new ArgumentOutOfRangeException(nameof(WindowSizes), size, $"WindowSizes must lie between 2 and {MaxWindowSize} patches (1x1 is always included).");
        if (WindowSizes.Distinct().Count() != WindowSizes.Count)
            throw new ArgumentException("WindowSizes must not repeat a size.", nameof(WindowSizes));
        if (MemoryLayers is not null)
        {
            if (MemoryLayers.Count == 0)
                throw new ArgumentException("MemoryLayers must name at least one layer, or be null for the projected final tokens.", nameof(MemoryLayers));
            foreach (var layer in MemoryLayers)
                if (layer < 1) throw new ArgumentOutOfRangeException(nameof(MemoryLayers), layer, "MemoryLayers are 1-based block indices.");
            if (MemoryLayers.Distinct().Count() != MemoryLayers.Count)
                throw new ArgumentException("MemoryLayers must not repeat a layer.", nameof(MemoryLayers));
        }
        if (!(MapSigma >= 0) || double.IsInfinity(MapSigma))
            throw new ArgumentOutOfRangeException(nameof(MapSigma), MapSigma, "MapSigma must be 0 or positive.");
        if (CalibrationAnomaliesPerNormal < 1)
            throw new ArgumentOutOfRangeException(nameof(CalibrationAnomaliesPerNormal), CalibrationAnomaliesPerNormal, "CalibrationAnomaliesPerNormal must be at least 1.");
        if (InferenceBatchSize < 1)
            throw new ArgumentOutOfRangeException(nameof(InferenceBatchSize), InferenceBatchSize, "InferenceBatchSize must be at least 1.");
    }
}
