using Microsoft.ML;
using Microsoft.ML.Data;

namespace Fsac.MLNet.Pipeline;

/// <summary>One input row plus the added columns, scored when first read at each new position.</summary>
internal sealed class ScoredRow : DataViewRow
{
    private readonly DataViewRow _input;
    private readonly ScoringSchema _schema;
    private readonly bool[] _active;
    private readonly ImageReader? _reader;
    private readonly ScoredRows? _rows;
    private long _scoredPosition = -1;

    public ScoredRow(DataViewRow input, ScoringSchema schema, SharedModel model, FewShotAnomalyOptions options,
        IEnumerable<DataViewSchema.Column> activeColumns)
    {
        _input = input;
        _schema = schema;
        _active = new bool[schema.Output.Count];
        foreach (var column in activeColumns) _active[column.Index] = true;
        if (!_active.Skip(schema.FirstOutput).Any(a => a)) return;
        _reader = new ImageReader(input, schema.Image, schema.ImageKind);
        _rows = new ScoredRows(model, options, schema.HasAnomalyMap && _active[schema.AnomalyMapIndex]);
    }

    public override DataViewSchema Schema => _schema.Output;
    public override long Position => _input.Position;
    public override long Batch => _input.Batch;

    public override ValueGetter<DataViewRowId> GetIdGetter() => _input.GetIdGetter();

    public override bool IsColumnActive(DataViewSchema.Column column) => _active[column.Index];

    public override ValueGetter<TValue> GetGetter<TValue>(DataViewSchema.Column column)
    {
        if (!IsColumnActive(column))
            throw new InvalidOperationException($"Column '{column.Name}' was not requested when this row was created.");
        if (column.Index < _schema.FirstOutput) return _input.GetGetter<TValue>(_schema.Input[column.Index]);
        return ScoredRows.Typed<TValue>(_rows!.Getter(column.Index - _schema.FirstOutput, Current), column);
    }

    private int Current()
    {
        if (_scoredPosition != _input.Position)
        {
            using var image = _reader!.Read();
            _rows!.Compute([image]);
            _scoredPosition = _input.Position;
        }
        return 0;
    }
}
