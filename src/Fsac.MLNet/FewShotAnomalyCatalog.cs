// Catalog extensions live in ML.NET's namespace, as ML.NET's own packages do, so that
// mlContext.Transforms.FewShotAnomaly(...) needs no extra using.

using Fsac.MLNet;
using Fsac.MLNet.Classifiers;
using Fsac.MLNet.Head;
using Fsac.MLNet.Pipeline;

namespace Microsoft.ML;

/// <summary>
/// <c>mlContext.FewShotAnomaly(...)</c> and <c>mlContext.Transforms.FewShotAnomaly(...)</c>: few-shot industrial anomaly
/// classification and localisation.
/// </summary>
/// <remarks>
/// Both create the same estimator, whose log and seed are the context's. The <see cref="MLContext"/> extensions use
/// the context directly, through ML.NET's public API. A catalog does not expose its context publicly, so the
/// <see cref="TransformsCatalog"/> extensions reach it through an ML.NET internal, by reflection; a future
/// Microsoft.ML that moves it makes them throw <see cref="InvalidOperationException"/> naming the member, while the
/// <see cref="MLContext"/> extensions keep working.
/// </remarks>
public static class FewShotAnomalyCatalog
{
    /// <summary>
    /// Fits on the normal images of the training data (rows whose <paramref name="labelColumnName"/> is false, or all
    /// rows without that column) and adds Score, PredictedLabel and Probability columns, ready for
    /// <c>mlContext.BinaryClassification.EvaluateNonCalibrated</c>. Other settings keep the paper's defaults; use the
    /// <see cref="FewShotAnomalyOptions"/> overload for all of them.
    /// </summary>
    /// <param name="context">The context whose log receives the fitting's progress and whose seed drives it.</param>
    /// <param name="imageColumnName">Image column: file path (String), <c>MLImage</c> or encoded bytes (Vector&lt;Byte&gt;).</param>
    /// <param name="scoreColumnName">Output decision margin (anomaly score minus threshold).</param>
    /// <param name="predictedLabelColumnName">Output decision (true = anomalous).</param>
    /// <param name="probabilityColumnName">Output anomaly score in [0, 1].</param>
    /// <param name="labelColumnName">Optional Boolean label column (true = anomalous) used at fit time to keep normal rows only.</param>
    /// <param name="className">Object name used in CLIP-FSAC's text prompts.</param>
    /// <param name="backbone"><c>resnet18</c> (built in, offline), a CLIP model folder or a <c>name:tag</c>.</param>
    /// <param name="shots">Number of normal images to fit on.</param>
    /// <param name="seed">Seed of the shot sampling and fitting; null derives it from the <c>MLContext</c>'s seed.</param>
    /// <param name="method">The method; <see cref="AnomalyMethod.Default"/>, the one that scored best on real images, unless named.</param>
    public static FewShotAnomalyEstimator FewShotAnomaly(this MLContext context,
        string imageColumnName = "Image",
        string scoreColumnName = "Score",
        string predictedLabelColumnName = "PredictedLabel",
        string probabilityColumnName = "Probability",
        string? labelColumnName = "Label",
        string className = "object",
        string backbone = "resnet18",
        int shots = 4,
        int? seed = null,
        AnomalyMethod method = AnomalyMethod.Default) =>
        context.FewShotAnomaly(Options(imageColumnName, scoreColumnName, predictedLabelColumnName, probabilityColumnName,
            labelColumnName, className, backbone, shots, seed, method));

    /// <summary>The same with every setting of <see cref="FewShotAnomalyOptions"/> (copied; later changes have no effect).</summary>
    /// <param name="context">The context whose log receives the fitting's progress and whose seed drives it.</param>
    /// <param name="options">All settings.</param>
    public static FewShotAnomalyEstimator FewShotAnomaly(this MLContext context, FewShotAnomalyOptions options)
    {
        ArgumentNullException.ThrowIfNull(context);
        return new FewShotAnomalyEstimator(context, options);
    }

    /// <summary>
    /// <see cref="FewShotAnomaly(MLContext, string, string, string, string, string?, string, string, int, int?, AnomalyMethod)"/>
    /// from the context's transforms catalog, which is reached by reflection (see the class's remarks).
    /// </summary>
    /// <param name="catalog">The transforms catalog.</param>
    /// <param name="imageColumnName">Image column: file path (String), <c>MLImage</c> or encoded bytes (Vector&lt;Byte&gt;).</param>
    /// <param name="scoreColumnName">Output decision margin (anomaly score minus threshold).</param>
    /// <param name="predictedLabelColumnName">Output decision (true = anomalous).</param>
    /// <param name="probabilityColumnName">Output anomaly score in [0, 1].</param>
    /// <param name="labelColumnName">Optional Boolean label column (true = anomalous) used at fit time to keep normal rows only.</param>
    /// <param name="className">Object name used in CLIP-FSAC's text prompts.</param>
    /// <param name="backbone"><c>resnet18</c> (built in, offline), a CLIP model folder or a <c>name:tag</c>.</param>
    /// <param name="shots">Number of normal images to fit on.</param>
    /// <param name="seed">Seed of the shot sampling and fitting; null derives it from the <c>MLContext</c>'s seed.</param>
    /// <param name="method">The method; <see cref="AnomalyMethod.Default"/>, the one that scored best on real images, unless named.</param>
    /// <exception cref="InvalidOperationException">This Microsoft.ML does not expose a catalog's context where Fsac.MLNet looks for it.</exception>
    public static FewShotAnomalyEstimator FewShotAnomaly(this TransformsCatalog catalog,
        string imageColumnName = "Image",
        string scoreColumnName = "Score",
        string predictedLabelColumnName = "PredictedLabel",
        string probabilityColumnName = "Probability",
        string? labelColumnName = "Label",
        string className = "object",
        string backbone = "resnet18",
        int shots = 4,
        int? seed = null,
        AnomalyMethod method = AnomalyMethod.Default) =>
        catalog.FewShotAnomaly(Options(imageColumnName, scoreColumnName, predictedLabelColumnName, probabilityColumnName,
            labelColumnName, className, backbone, shots, seed, method));

    /// <summary>
    /// <see cref="FewShotAnomaly(MLContext, FewShotAnomalyOptions)"/> from the context's transforms catalog, which is
    /// reached by reflection (see the class's remarks).
    /// </summary>
    /// <param name="catalog">The transforms catalog.</param>
    /// <param name="options">All settings.</param>
    /// <exception cref="InvalidOperationException">This Microsoft.ML does not expose a catalog's context where Fsac.MLNet looks for it.</exception>
    public static FewShotAnomalyEstimator FewShotAnomaly(this TransformsCatalog catalog, FewShotAnomalyOptions options)
    {
        ArgumentNullException.ThrowIfNull(catalog);
        return new FewShotAnomalyEstimator(MLNetInterop.EnvironmentOf(catalog), options);
    }

    private static FewShotAnomalyOptions Options(string imageColumnName, string scoreColumnName,
        string predictedLabelColumnName, string probabilityColumnName, string? labelColumnName, string className,
        string backbone, int shots, int? seed, AnomalyMethod method) => new()
    {
        ImageColumnName = imageColumnName,
        ScoreColumnName = scoreColumnName,
        PredictedLabelColumnName = predictedLabelColumnName,
        ProbabilityColumnName = probabilityColumnName,
        LabelColumnName = labelColumnName,
        Method = method,
        Fsac = FsacPreset.MVTec with { ClassName = className },
        Backbone = backbone,
        Shots = shots,
        Seed = seed,
    };
}
