using Fsac.MLNet.Classifiers;
using Fsac.MLNet.Synthesis;
using System.Text.Json.Serialization;

namespace Fsac.MLNet.Head;

/// <summary>
/// Everything that defines a CLIP-FSAC fit. The defaults are the paper's MVTec-AD setting (§4.1), the same as
/// <see cref="FsacPreset.MVTec"/>; <see cref="FsacPreset.VisA"/> gives the VisA setting. Stored with a saved model.
/// </summary>
public sealed record FsacOptions
{
    /// <summary>The object or texture name used in the prompts, e.g. <c>bottle</c>.</summary>
    public string ClassName { get; init; } = "object";

    /// <summary>Extra normal prompts appended to the CPE ones; <c>{}</c> is replaced by <see cref="ClassName"/>.</summary>
    public IReadOnlyList<string> ExtraNormalPrompts { get; init; } = [];

    /// <summary>Extra anomalous prompts appended to the CPE ones; <c>{}</c> is replaced by <see cref="ClassName"/>.</summary>
    public IReadOnlyList<string> ExtraAnomalousPrompts { get; init; } = [];

    /// <summary>
    /// When true each encoded prompt is L2-normalised before the per-class mean. Default false: T⁺/T⁻ are means of
    /// the raw encodings, as in WinCLIP and the authors' code; features are normalised only when compared.
    /// </summary>
    public bool NormalizePromptsBeforeAveraging { get; init; }

    /// <summary>α₁ of Eq. 3, the weight of the adapted image feature A_f(F). Paper: 1.</summary>
    public float Alpha1 { get; init; } = 1f;

    /// <summary>α₂ of Eq. 3, the weight of the original image feature F. Paper: 1.</summary>
    public float Alpha2 { get; init; } = 1f;

    /// <summary>β₁ of Eq. 4, the weight of the adapted text feature A_g(T). Paper: 0.1 (MVTec-AD), 1 (VisA).</summary>
    public float Beta1 { get; init; } = 0.1f;

    /// <summary>β₂ of Eq. 4, the weight of the original text feature T. Paper: 0.9 (MVTec-AD), 1 (VisA).</summary>
    public float Beta2 { get; init; } = 0.9f;

    /// <summary>
    /// Number of MLP blocks (Linear C→4C, GELU, Linear 4C→C) in the image adapter A_f. Default 2, the authors'
    /// code ("2-layer MLP" in §4.1); the text adapter A_g always has one block.
    /// </summary>
    public int ImageAdapterBlocks { get; init; } = 2;

    /// <summary>Whether the image-to-text cross-attention (Eq. 5–6) is used; false is the "w/o CA" ablation of Table 4.</summary>
    public bool UseCrossAttention { get; init; } = true;

    /// <summary>Training schedule; <see cref="FsacTrainingMode.TwoStage"/> is the paper's method.</summary>
    public FsacTrainingMode TrainingMode { get; init; } = FsacTrainingMode.TwoStage;

    /// <summary>Epochs per stage (joint training runs this many epochs once). Paper: 100.</summary>
    public int EpochsPerStage { get; init; } = 100;

    /// <summary>Adam learning rate of the image adapter and cross-attention. Paper: 5e-4.</summary>
    public double ImageLearningRate { get; init; } = 5e-4;

    /// <summary>Adam learning rate of the text adapter. Paper: 1e-4.</summary>
    public double TextLearningRate { get; init; } = 1e-4;

    /// <summary>
    /// Temperature dividing the cosine similarities in the training loss (Eq. 7–9). Default 1: the equations use
    /// exp(s(·,·)) with no temperature, and the authors' code uses 0.99, which is practically the same.
    /// </summary>
    public double TrainingTemperature { get; init; } = 1.0;

    /// <summary>τ of Eq. 10–11, the temperature of the anomaly score. Paper and WinCLIP: 0.07.</summary>
    public double ScoreTemperature { get; init; } = 0.07;

    /// <summary>
    /// M, the synthetic anomalies made and encoded once per normal shot; each epoch samples one of them per shot (the
    /// paper asks for more than one per image and gives no number). Default 4: on real images (ResNet18, 4 shots, 5
    /// seeds) it gave the global head the I-AUROC of 8 (chosen on cookies and three PCB groups, confirmed on two
    /// solar-cell sets; see the changelog) with half the encoding.
    /// </summary>
    public int AnomaliesPerNormal { get; init; } = 4;

    /// <summary>Fresh synthetic anomalies per normal shot, never trained on, used only to choose the decision threshold.</summary>
    public int CalibrationAnomaliesPerNormal { get; init; } = 4;

    /// <summary>
    /// Held-out normals scored to choose the decision threshold of the global head (<see cref="AnomalyMethod.Fsac"/>),
    /// in all: label-preserving variants of the shots (corner crops, a darker and a brighter copy), spread evenly over
    /// the shots, at most six from each. Default 12: all six variants of each shot up to 2 shots, and fewer per shot
    /// beyond, so the held-out set does not grow with k. On real images (ResNet18, 4 shots, 5 seeds) 12 chose
    /// thresholds as good as 24 did (chosen on cookies and three PCB groups, confirmed on two solar-cell sets; see the
    /// changelog).
    /// </summary>
    public int CalibrationNormals { get; init; } = 12;

    /// <summary>
    /// Name of the anomaly synthesis method (<c>gaussian</c>, <c>uniform</c>, <c>nsa</c>, ...), resolved to an
    /// <see cref="Synthesis.IAnomalySynthesizer"/> by the caller. Paper: random (Gaussian) perturbation on MVTec-AD, NSA on VisA.
    /// </summary>
    public string SynthesisMethod { get; init; } = "gaussian";

    // Seed and batch size come from the options that hold these (AnomalyMethodOptions, FewShotAnomalyOptions), so a
    // user sets each once; the library passes them down here.

    /// <summary>Seed of everything random in a fit: head initialisation, synthesis and sampling.</summary>
    [JsonInclude]
    internal int Seed { get; init; }

    /// <summary>Images preprocessed and encoded together when scoring or caching features.</summary>
    [JsonInclude]
    internal int InferenceBatchSize { get; init; } = 16;

    /// <summary>Checks that every value is usable.</summary>
    /// <exception cref="ArgumentException">A value is out of range; the message names it.</exception>
    public void Validate()
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(ClassName, nameof(ClassName));
        ArgumentNullException.ThrowIfNull(ExtraNormalPrompts, nameof(ExtraNormalPrompts));
        ArgumentNullException.ThrowIfNull(ExtraAnomalousPrompts, nameof(ExtraAnomalousPrompts));
        ArgumentException.ThrowIfNullOrWhiteSpace(SynthesisMethod, nameof(SynthesisMethod));
        foreach (var (value, name) in new[] { (Alpha1, nameof(Alpha1)), (Alpha2, nameof(Alpha2)), (Beta1, nameof(Beta1)), (Beta2, nameof(Beta2)) })
            if (!float.IsFinite(value)) throw new ArgumentOutOfRangeException(name, value, "must be a finite number.");
        ArgumentOutOfRangeException.ThrowIfLessThan(ImageAdapterBlocks, 1, nameof(ImageAdapterBlocks));
        ArgumentOutOfRangeException.ThrowIfLessThan(EpochsPerStage, 0, nameof(EpochsPerStage));
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(ImageLearningRate, nameof(ImageLearningRate));
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(TextLearningRate, nameof(TextLearningRate));
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(TrainingTemperature, nameof(TrainingTemperature));
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(ScoreTemperature, nameof(ScoreTemperature));
        ArgumentOutOfRangeException.ThrowIfLessThan(AnomaliesPerNormal, 1, nameof(AnomaliesPerNormal));
        ArgumentOutOfRangeException.ThrowIfLessThan(CalibrationAnomaliesPerNormal, 1, nameof(CalibrationAnomaliesPerNormal));
        ArgumentOutOfRangeException.ThrowIfLessThan(CalibrationNormals, 1, nameof(CalibrationNormals));
        ArgumentOutOfRangeException.ThrowIfLessThan(InferenceBatchSize, 1, nameof(InferenceBatchSize));
    }
}
