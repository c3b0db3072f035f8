using Microsoft.ML;
using Microsoft.ML.Data;

namespace Fsac.MLNet.Pipeline;

/// <summary>
/// What a <see cref="ScoredRow"/> and a <see cref="ScoringCursor"/> share: which output columns are active, the
/// <see cref="ScoredBatch"/> when an added column is active, and getters that pass an input column through and read
/// an added column from that batch.
/// </summary>
internal sealed class ScoredColumns
{
    private readonly ScoringSchema _schema;
    private readonly bool[] _active;
    private readonly string _holder;

    /// <param name="schema">The output schema.</param>
    /// <param name="model">The model that scores the batch.</param>
    /// <param name="options">The transformer's settings.</param>
    /// <param name="activeColumns">The output columns asked for.</param>
    /// <param name="holder">What reads the columns ("row", "cursor"), for messages.</param>
    public ScoredColumns(ScoringSchema schema, SharedModel model, FewShotAnomalyOptions options,
        IEnumerable<DataViewSchema.Column> activeColumns, string holder)
    {
        _schema = schema;
        _holder = holder;
        _active = new bool[schema.Output.Count];
        foreach (var column in activeColumns) _active[column.Index] = true;
        if (_active.Skip(schema.FirstOutput).Any(a => a))
            Scored = new ScoredBatch(model, options, schema.HasAnomalyMap && _active[schema.AnomalyMapIndex]);
    }

    public DataViewSchema Schema => _schema.Output;

    /// <summary>The added columns' values; null when none of them is active, and then the model is never called.</summary>
    public ScoredBatch? Scored { get; }

    /// <summary>The input columns that active output columns pass through.</summary>
    public IEnumerable<DataViewSchema.Column> ActiveInputs => _schema.Input.Where(c => _active[c.Index]);

    public bool IsActive(DataViewSchema.Column column) => _active[column.Index];

    /// <summary>
    /// The getter of output column <paramref name="column"/>: an input column's from <paramref name="input"/>, an added
    /// column's from <see cref="Scored"/> at the index that <paramref name="current"/> returns (it may compute the batch).
    /// </summary>
    public ValueGetter<TValue> Getter<TValue>(DataViewSchema.Column column, DataViewRow input, Func<int> current)
    {
        if (!IsActive(column))
            throw new InvalidOperationException($"Column '{column.Name}' was not requested when this {_holder} was created.");
        if (column.Index < _schema.FirstOutput) return input.GetGetter<TValue>(_schema.Input[column.Index]);
        return Scored!.Getter(column.Index - _schema.FirstOutput, current) as ValueGetter<TValue>
            ?? throw new InvalidOperationException(
                $"Invalid TValue in GetGetter for column '{column.Name}': the column holds {column.Type.RawType.Name}, not {typeof(TValue).Name}.");
    }
}
