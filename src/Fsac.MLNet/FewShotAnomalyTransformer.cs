using Fsac.MLNet.Classifiers;
using Fsac.MLNet.Pipeline;
using Microsoft.ML;
using Microsoft.ML.Data;

namespace Fsac.MLNet;

/// <summary>
/// Scores images with a fitted <see cref="IAnomalyClassifier"/>, adding Score (decision margin: anomaly score minus
/// threshold, positive = anomalous), PredictedLabel, Probability (anomaly score in [0, 1]) and optionally AnomalyMap.
/// Transforming is lazy and streaming, scores images in batches, and is safe from several threads.
/// Save it with <c>mlContext.Model.SaveWithFewShotAnomaly</c>, which writes a file atomically (a failed save leaves
/// the old file as it was); <c>mlContext.Model.Save</c> cannot carry it, and when given a path it creates the file
/// before asking the transformer, so its refusal leaves an incomplete file there.
/// </summary>
public sealed class FewShotAnomalyTransformer : ITransformer, IDisposable
{
    private readonly SharedModel shared;

    internal FewShotAnomalyTransformer(IAnomalyClassifier model, FewShotAnomalyOptions options)
    {
        shared = new SharedModel(model);
        Options = options;
    }

    /// <summary>The fitted model (backbone, threshold, maps); do not dispose it yourself, dispose the transformer.</summary>
    public IAnomalyClassifier Model => shared.Model;

    /// <summary>The settings it was fitted with (a private copy; never changed).</summary>
    internal FewShotAnomalyOptions Options { get; }

    /// <summary>Always true: each output row depends on its own input row only.</summary>
    public bool IsRowToRowMapper => true;

    /// <summary>The input schema plus the added columns; throws when the image column is missing or of the wrong type.</summary>
    public DataViewSchema GetOutputSchema(DataViewSchema inputSchema)
    {
        ArgumentNullException.ThrowIfNull(inputSchema);
        return ScoringSchema.Create(inputSchema, Options).Output;
    }

    /// <summary>A lazy view of <paramref name="input"/> with the added columns; images are read when a cursor moves.</summary>
    public IDataView Transform(IDataView input)
    {
        ArgumentNullException.ThrowIfNull(input);
        shared.ThrowIfReleased();
        return new ScoredDataView(input, ScoringSchema.Create(input.Schema, Options), shared, Options);
    }

    /// <summary>
    /// A row-at-a-time mapper (used by prediction engines). Each mapper counts as a holder of the model, because
    /// ML.NET's <c>PredictionEngine</c> asks for one and disposes the transformer when it is disposed itself.
    /// </summary>
    public IRowToRowMapper GetRowToRowMapper(DataViewSchema inputSchema)
    {
        ArgumentNullException.ThrowIfNull(inputSchema);
        var schema = ScoringSchema.Create(inputSchema, Options);
        shared.AddHolder();
        return new ScoringRowMapper(schema, shared, Options);
    }

    /// <summary>
    /// Adds the normal rows of <paramref name="normals"/> (label false, or every row without the label column) to a
    /// memory model without refitting: the memory grows and the threshold is chosen again
    /// (<see cref="FewShotAnomalyClassifier.AddNormals"/>). Views created before keep working and see the grown model.
    /// Not safe while another thread transforms with this transformer.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">The image or label column is missing or has the wrong type.</exception>
    /// <exception cref="NotSupportedException">The model cannot grow (a trained CLIP-FSAC head): fit again.</exception>
    public void AddNormals(IDataView normals, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(normals);
        if (shared.Model is not FewShotAnomalyClassifier { CanAddNormals: true } model)
            throw new NotSupportedException("This FewShotAnomaly model cannot add normal images (only the memory methods, default and patchcore, can); fit it again on all the normal images.");
        var (image, kind) = SchemaValidation.RequireImage(normals.Schema, Options.ImageColumnName);
        var label = SchemaValidation.OptionalLabel(normals.Schema, Options.LabelColumnName);
        var images = ShotSampler.AllNormal(normals, image, kind, label, cancellationToken);
        try
        {
            shared.Use(_ =>
            {
                model.AddNormals(images, cancellationToken);
                return 0;
            });
        }
        finally
        {
            foreach (var i in images) i.Dispose();
        }
    }

    /// <summary>The fitted model's backbone name and saved bytes, under one lease: a Dispose meanwhile cannot free it mid-save.</summary>
    /// <exception cref="ObjectDisposedException">The transformer was disposed.</exception>
    internal (string BackboneName, MemoryStream Model) SaveModel() => shared.Use(model =>
    {
        var bytes = new MemoryStream();
        model.Save(bytes);
        return (model.BackboneName, bytes);
    });

    /// <summary>
    /// ML.NET's model files can only hold transformers that ML.NET itself can construct; this one refuses rather
    /// than write a file that cannot be loaded. ML.NET's <c>Model.Save(model, schema, path)</c> has already created
    /// the file by then, so the message says so.
    /// </summary>
    void ICanSaveModel.Save(ModelSaveContext ctx) => throw new NotSupportedException(
        $"{nameof(FewShotAnomalyTransformer)} cannot be saved with mlContext.Model.Save: ML.NET's model format cannot " +
        "load third-party transformers (given a path, Model.Save has already created that file, and it is incomplete). " +
        "Use mlContext.Model.SaveWithFewShotAnomaly(model, inputSchema, path), which writes the file atomically, and " +
        "mlContext.Model.LoadWithFewShotAnomaly(path, out inputSchema) (namespace Microsoft.ML, package Fsac.MLNet).");

    /// <summary>
    /// Releases this holder of the model (the transformer, or a prediction engine that owns it). The model is freed when
    /// the last holder lets go and no call is running, so disposing one prediction engine never frees the model under
    /// another; after that, scoring throws <see cref="ObjectDisposedException"/>. Inside a <c>TransformerChain</c> only the
    /// chain's first Dispose reaches this transformer, so with per-request engines on a chain the model is freed by the
    /// garbage collector rather than by the last Dispose.
    /// </summary>
    public void Dispose() => shared.Release();
}
