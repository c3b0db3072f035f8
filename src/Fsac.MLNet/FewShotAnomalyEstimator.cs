using Fsac.MLNet.Pipeline;
using Microsoft.ML;
using Microsoft.ML.Runtime;

namespace Fsac.MLNet;

/// <summary>
/// Fits a few-shot anomaly classifier (CLIP encoding, anomaly synthesis and two-stage fitting) on the normal images of
/// a data view. Create it with <c>mlContext.FewShotAnomaly(...)</c> or <c>mlContext.Transforms.FewShotAnomaly(...)</c>.
/// </summary>
public sealed class FewShotAnomalyEstimator : IEstimator<FewShotAnomalyTransformer>
{
    private readonly IHostEnvironment _env;
    private readonly FewShotAnomalyOptions _options;

    internal FewShotAnomalyEstimator(IHostEnvironment env, FewShotAnomalyOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        _env = env;
        _options = options.Copy();
    }

    /// <summary>
    /// Samples the shots among the normal rows (label false), fits the model on them and returns the transformer.
    /// The sample and the fitting's progress go to the <c>MLContext</c>'s log.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">The image or label column is missing or has the wrong type.</exception>
    /// <exception cref="InvalidOperationException">No normal row, an unreadable image, or an unavailable backbone.</exception>
    public FewShotAnomalyTransformer Fit(IDataView input) => Fit(input, CancellationToken.None);

    /// <summary><see cref="Fit(IDataView)"/>, which <paramref name="cancellationToken"/> can stop.</summary>
    public FewShotAnomalyTransformer Fit(IDataView input, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(input);
        var (image, kind) = SchemaValidation.RequireImage(input.Schema, _options.ImageColumnName);
        var label = SchemaValidation.OptionalLabel(input.Schema, _options.LabelColumnName);

        var host = _env.Register(nameof(FewShotAnomalyEstimator), _options.Seed);
        using var channel = host.Start("Fit");
        var shots = ShotSampler.Sample(input, image, kind, label, _options, host.Rand, channel, cancellationToken);
        try
        {
            // The fit's own seed: the given one, else the next draw from the MLContext-derived random source.
            var fitOptions = _options.Copy();
            fitOptions.Seed = _options.Seed ?? host.Rand.Next();
            var factory = (_options.BackboneResolver ?? BuiltInBackboneResolver.Instance).CreateFactory(fitOptions);
            var model = factory.Fit(shots, channel, cancellationToken);
            channel.Info(MessageSensitivity.None, $"FewShotAnomaly: fitted on backbone '{model.BackboneName}', threshold {model.Threshold}.");
            return new FewShotAnomalyTransformer(model, _options);
        }
        finally
        {
            foreach (var shot in shots) shot.Dispose();
        }
    }

    /// <summary>The output shape (input columns plus Score, PredictedLabel, Probability and optional AnomalyMap), checked without data or model.</summary>
    /// <exception cref="ArgumentOutOfRangeException">The image or label column is missing or has the wrong type.</exception>
    public SchemaShape GetOutputSchema(SchemaShape inputSchema)
    {
        ArgumentNullException.ThrowIfNull(inputSchema);
        return ScoringSchema.CreateShape(inputSchema, _options);
    }
}
