using Microsoft.ML;
using Microsoft.ML.Data;

namespace Fsac.MLNet.Pipeline;

/// <summary>Row-at-a-time mapping (prediction engines, composed row mappers): one model call a row.</summary>
internal sealed class ScoringRowMapper(ScoringSchema schema, SharedModel model, FewShotAnomalyOptions options) : IRowToRowMapper
{
    public DataViewSchema InputSchema => schema.Input;

    public DataViewSchema OutputSchema => schema.Output;

    public IEnumerable<DataViewSchema.Column> GetDependencies(IEnumerable<DataViewSchema.Column> dependingColumns)
    {
        var columns = dependingColumns.ToList();
        var needed = columns.Where(c => c.Index < schema.FirstOutput).Select(c => schema.Input[c.Index]).ToList();
        if (columns.Any(c => c.Index >= schema.FirstOutput)) needed.Add(schema.Image);
        return needed.DistinctBy(c => c.Index);
    }

    public DataViewRow GetRow(DataViewRow input, IEnumerable<DataViewSchema.Column> activeColumns) =>
        new ScoredRow(input, schema, model, options, activeColumns);
}
