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
        foreach (var (name, type) in AddedColumns(options)) builder.AddColumn(name, type);
        return new ScoringSchema(input, builder.ToSchema(), image, kind);
    }

    /// <summary>The estimator's output shape: validated from the shape alone, without data or a model.</summary>
    public static SchemaShape CreateShape(SchemaShape input, FewShotAnomalyOptions options)
    {
        SchemaValidation.Check(input, options.ImageColumnName, options.LabelColumnName);
        var added = AddedColumnShapes.Of(AddedColumns(options));
        var names = added.Select(c => c.Name).ToHashSet();
        return new SchemaShape(input.Where(c => !names.Contains(c.Name)).Concat(added));
    }

    /// <summary>The added columns in order: Score, PredictedLabel, Probability and, when asked for, AnomalyMap.</summary>
    private static List<(string Name, DataViewType Type)> AddedColumns(FewShotAnomalyOptions options)
    {
        List<(string Name, DataViewType Type)> added =
        [
            (options.ScoreColumnName, NumberDataViewType.Single),
            (options.PredictedLabelColumnName, BooleanDataViewType.Instance),
            (options.ProbabilityColumnName, NumberDataViewType.Single),
        ];
        if (options.AnomalyMapColumnName is { } map)
        {
            added.Add((map, options.AnomalyMapWidth > 0
                ? new VectorDataViewType(NumberDataViewType.Single, options.AnomalyMapHeight, options.AnomalyMapWidth)
                : new VectorDataViewType(NumberDataViewType.Single)));
        }
        return added;
    }
}
