using Microsoft.ML;
using Microsoft.ML.Data;

namespace Fsac.MLNet.Pipeline;

/// <summary>
/// The shapes (<see cref="SchemaShape.Column"/>) of the transformer's added columns, through ML.NET's public API.
/// ML.NET 5 gives a third-party estimator no public way to make one (the column's constructor and
/// <c>SchemaShape.Create(DataViewSchema)</c> are internal), but <c>mlContext.Transforms.CustomMapping</c>'s estimator
/// reports the shapes of its output columns, named and typed by a <see cref="SchemaDefinition"/>, with that same
/// conversion. So a custom mapping that is never fitted or run, with no input columns and the added columns as its
/// output, gives them.
/// </summary>
internal static class AddedColumnShapes
{
    /// <summary>The row type's members, in the order of the added columns.</summary>
    private static readonly string[] Members =
        [nameof(AddedRow.Score), nameof(AddedRow.PredictedLabel), nameof(AddedRow.Probability), nameof(AddedRow.AnomalyMap)];

    /// <summary>
    /// The shapes of <paramref name="columns"/>, named and typed as given: Score (Single), PredictedLabel (Boolean),
    /// Probability (Single) and optionally AnomalyMap (a vector of Single), in that order.
    /// </summary>
    public static IReadOnlyList<SchemaShape.Column> Of(IReadOnlyList<(string Name, DataViewType Type)> columns)
    {
        var byMember = Members.Zip(columns).ToDictionary(p => p.First, p => p.Second);
        var definition = SchemaDefinition.Create(typeof(AddedRow), SchemaDefinition.Direction.Write);
        definition.RemoveAll(column => !byMember.ContainsKey(column.MemberName));
        foreach (var column in definition) (column.ColumnName, column.ColumnType) = byMember[column.MemberName];
        var shape = new MLContext().Transforms
            .CustomMapping<NoColumns, AddedRow>(static (_, _) => { }, contractName: null, outputSchemaDefinition: definition)
            .GetOutputSchema(new SchemaShape([]));
        return columns.Select(added => shape.Single(c => c.Name == added.Name)).ToList();
    }

    /// <summary>The mapping's input: no columns.</summary>
    private sealed class NoColumns;

    /// <summary>The mapping's output: one member for each added column, of a type that column's type accepts.</summary>
    private sealed class AddedRow
    {
        public float Score { get; set; }
        public bool PredictedLabel { get; set; }
        public float Probability { get; set; }
        public VBuffer<float> AnomalyMap { get; set; }
    }
}
