using Microsoft.ML;
using Microsoft.ML.Data;

namespace Fsac.MLNet.Pipeline;

/// <summary>
/// The output schema of the transformer: every input column at its own index, then Score, PredictedLabel,
/// Probability and, when asked for, AnomalyMap (an added column hides an input column of the same name).
/// </summary>
internal sealed class ScoringSchema
{
    private ScoringSchema(DataViewSchema input, DataViewSchema output, DataViewSchema.Column image, ImageSourceKind kind)
    {
        Input = input;
        Output = output;
        Image = image;
        ImageKind = kind;
    }

    public DataViewSchema Input { get; }
    public DataViewSchema Output { get; }
    public DataViewSchema.Column Image { get; }
    public ImageSourceKind ImageKind { get; }

    /// <summary>Index of the first added column; Score, PredictedLabel, Probability, AnomalyMap follow in that order.</summary>
    public int FirstOutput => Input.Count;

    public int ScoreIndex => FirstOutput;
    public int PredictedLabelIndex => FirstOutput + 1;
    public int ProbabilityIndex => FirstOutput + 2;
    public int AnomalyMapIndex => FirstOutput + 3;

    public bool HasAnomalyMap => Output.Count > AnomalyMapIndex;

    /// <summary>Validates <paramref name="input"/> (image column only) and builds the output schema.</summary>
    public static ScoringSchema Create(DataViewSchema input, FewShotAnomalyOptions options)
    {
        var (image, kind) = SchemaValidation.RequireImage(input, options.ImageColumnName);
        var builder = new DataViewSchema.Builder();
        foreach (var column in input) builder.AddColumn(column.Name, column.Type, column.Annotations);
        builder.AddColumn(options.ScoreColumnName, NumberDataViewType.Single);
        builder.AddColumn(options.PredictedLabelColumnName, BooleanDataViewType.Instance);
        builder.AddColumn(options.ProbabilityColumnName, NumberDataViewType.Single);
        if (options.AnomalyMapColumnName is { } map)
        {
            builder.AddColumn(map, options.AnomalyMapWidth > 0
                ? new VectorDataViewType(NumberDataViewType.Single, options.AnomalyMapHeight, options.AnomalyMapWidth)
                : new VectorDataViewType(NumberDataViewType.Single));
        }
        return new ScoringSchema(input, builder.ToSchema(), image, kind);
    }

    /// <summary>The estimator's output shape: validated from the shape alone, without data or a model.</summary>
    public static SchemaShape CreateShape(SchemaShape input, FewShotAnomalyOptions options)
    {
        SchemaValidation.Check(input, options.ImageColumnName, options.LabelColumnName);
        const SchemaShape.Column.VectorKind scalar = SchemaShape.Column.VectorKind.Scalar;
        var added = new List<SchemaShape.Column>
        {
            MLNetInterop.ShapeColumn(options.ScoreColumnName, scalar, NumberDataViewType.Single),
            MLNetInterop.ShapeColumn(options.PredictedLabelColumnName, scalar, BooleanDataViewType.Instance),
            MLNetInterop.ShapeColumn(options.ProbabilityColumnName, scalar, NumberDataViewType.Single),
        };
        if (options.AnomalyMapColumnName is { } map)
        {
            added.Add(MLNetInterop.ShapeColumn(map, options.AnomalyMapWidth > 0
                ? SchemaShape.Column.VectorKind.Vector
                : SchemaShape.Column.VectorKind.VariableVector, NumberDataViewType.Single));
        }
        var names = added.Select(c => c.Name).ToHashSet();
        return new SchemaShape(input.Where(c => !names.Contains(c.Name)).Concat(added));
    }
}
