using Microsoft.ML;

namespace Fsac.MLNet.Pipeline;

/// <summary>The lazy result of <see cref="FewShotAnomalyTransformer.Transform"/>: nothing runs until a cursor moves.</summary>
internal sealed class ScoredDataView(IDataView input, ScoringSchema schema, SharedModel model, FewShotAnomalyOptions options)
    : IDataView
{
    /// <summary>False: the look-ahead cursor and the main cursor must see one row order.</summary>
    public bool CanShuffle => false;

    public DataViewSchema Schema => schema.Output;

    public long? GetRowCount() => input.GetRowCount();

    public DataViewRowCursor GetRowCursor(IEnumerable<DataViewSchema.Column> columnsNeeded, Random? rand = null) =>
        new ScoringCursor(input, schema, model, options, columnsNeeded);

    public DataViewRowCursor[] GetRowCursorSet(IEnumerable<DataViewSchema.Column> columnsNeeded, int n, Random? rand = null) =>
        [GetRowCursor(columnsNeeded, rand)];
}
