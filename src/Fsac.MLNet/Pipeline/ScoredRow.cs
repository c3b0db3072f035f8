using Microsoft.ML;
using Microsoft.ML.Data;

namespace Fsac.MLNet.Pipeline;

/// <summary>One input row plus the added columns, scored (one model call) when first read at each new position.</summary>
internal sealed class ScoredRow : DataViewRow
{
    private readonly DataViewRow _input;
    private readonly ScoredColumns _columns;
    private readonly ImageReader? _reader;
    private long _scoredPosition = -1;

    public ScoredRow(DataViewRow input, ScoringSchema schema, SharedModel model, FewShotAnomalyOptions options,
        IEnumerable<DataViewSchema.Column> activeColumns)
    {
        _input = input;
        _columns = new ScoredColumns(schema, model, options, activeColumns, "row");
        if (_columns.Scored is not null) _reader = new ImageReader(input, schema.Image, schema.ImageKind);
    }

    public override DataViewSchema Schema => _columns.Schema;
    public override long Position => _input.Position;
    public override long Batch => _input.Batch;

    public override ValueGetter<DataViewRowId> GetIdGetter() => _input.GetIdGetter();

    public override bool IsColumnActive(DataViewSchema.Column column) => _columns.IsActive(column);

    public override ValueGetter<TValue> GetGetter<TValue>(DataViewSchema.Column column) =>
        _columns.Getter<TValue>(column, _input, Current);

    private int Current()
    {
        if (_scoredPosition != _input.Position)
        {
            using var image = _reader!.Read();
            _columns.Scored!.Compute([image]);
            _scoredPosition = _input.Position;
        }
        return 0;
    }
}
