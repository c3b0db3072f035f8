using Fsac.MLNet.Classifiers;
using Microsoft.ML.Runtime;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.PixelFormats;

namespace Fsac.MLNet.Pipeline;

/// <summary>
/// Fits and restores <see cref="IAnomalyClassifier"/>s on one backbone with one set of
/// <see cref="FewShotAnomalyOptions"/>. An <see cref="IBackboneResolver"/> creates it; the ML.NET estimator
/// calls it with the sampled normal shots.
/// </summary>
public interface IClassifierFactory
{
    /// <summary>Fits a model on normal images only (anomalies are synthesised inside, if at all).</summary>
    /// <param name="normals">The normal shots, already decoded; the caller owns and disposes them.</param>
    /// <param name="channel">ML.NET channel for progress and diagnostics (ends up in <c>MLContext.Log</c>).</param>
    /// <param name="cancellationToken">Stops fitting early with <see cref="OperationCanceledException"/>.</param>
    IAnomalyClassifier Fit(IReadOnlyList<Image<Rgb24>> normals, IChannel channel, CancellationToken cancellationToken);

    /// <summary>Restores a model written by <see cref="IAnomalyClassifier.Save"/> on the same backbone.</summary>
    IAnomalyClassifier Load(Stream stream);
}
