using Fsac.MLNet.Classifiers;
using Fsac.MLNet.Encoders;
using Fsac.MLNet.Head;
using Fsac.MLNet.Imaging;
using Fsac.MLNet.Metrics;
using Fsac.MLNet.Synthesis;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.PixelFormats;
using TorchSharp;
using static TorchSharp.torch;

namespace Fsac.MLNet.Fitting;

/// <summary>
/// Chooses the decision threshold of a fitted head without any real anomaly. Policy: the F1-optimal threshold
/// between (a) held-out normals — label-preserving variants of the shots (<see cref="NormalAugmentations"/>), since
/// the shots themselves were trained on — and (b) fresh synthetic anomalies that training never saw. The threshold
/// sits halfway between the two classes where they separate, leaving a margin on both sides.
/// </summary>
internal static class ThresholdSelector
{
    /// <summary>The F1-optimal threshold (an image is anomalous when its score is at least it) between two sets of scores.</summary>
    /// <exception cref="ArgumentException">Either set is empty.</exception>
    public static float F1Optimal(IReadOnlyList<float> normalScores, IReadOnlyList<float> anomalyScores)
    {
        ArgumentNullException.ThrowIfNull(normalScores);
        ArgumentNullException.ThrowIfNull(anomalyScores);
        if (normalScores.Count == 0 || anomalyScores.Count == 0)
            throw new ArgumentException("Both normal and anomaly scores are required to choose a threshold.");
        float[] scores = [.. normalScores, .. anomalyScores];
        bool[] labels = [.. normalScores.Select(_ => false), .. anomalyScores.Select(_ => true)];
        return ImageMetrics.BestF1(scores, labels).Threshold;
    }

    /// <summary>
    /// Scores <see cref="FsacOptions.CalibrationNormals"/> augmented normals (<see cref="NormalAugmentations.Spread"/>)
    /// and <see cref="FsacOptions.CalibrationAnomaliesPerNormal"/> fresh synthetic anomalies per shot with the fitted
    /// head and returns <see cref="F1Optimal"/> of the two.
    /// </summary>
    /// <param name="head">The trained head.</param>
    /// <param name="psi">Its adapted anchors [AT⁺; AT⁻].</param>
    /// <param name="encoder">The frozen encoder.</param>
    /// <param name="normals">The normal shots.</param>
    /// <param name="synthesizer">The synthesizer used for training (with a different random stream here).</param>
    /// <param name="options">Fit options (score temperature, batch size, calibration count).</param>
    /// <param name="random">Randomness of the fresh anomalies, independent of the one used for the training pool.</param>
    /// <param name="cancellationToken">Checked between batches.</param>
    public static float Calibrate(FsacHead head, Tensor psi, IImageEncoder encoder, IReadOnlyList<Image<Rgb24>> normals,
        IAnomalySynthesizer synthesizer, FsacOptions options, Random random, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(head);
        ArgumentNullException.ThrowIfNull(options);
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var variants = NormalAugmentations.Spread(normals, options.CalibrationNormals);
        Tensor normalFeatures;
        try
        {
            normalFeatures = encoder.EncodeImages(variants, options.InferenceBatchSize, cancellationToken);
        }
        finally
        {
            foreach (var v in variants) v.Dispose();
        }
        var anomalyFeatures = FeatureCache.EncodeAnomalies(encoder, normals, synthesizer, options.CalibrationAnomaliesPerNormal,
            random, options.InferenceBatchSize, cancellationToken).reshape(-1, encoder.FeatureDim);
        // On AS's logit, which orders images as AS does without rounding to 1 (FsacClassifier.Score).
        var normalScores = head.Logit(normalFeatures, psi, options.ScoreTemperature).data<float>().ToArray();
        var anomalyScores = head.Logit(anomalyFeatures, psi, options.ScoreTemperature).data<float>().ToArray();
        return F1Optimal(normalScores, anomalyScores);
    }
}
