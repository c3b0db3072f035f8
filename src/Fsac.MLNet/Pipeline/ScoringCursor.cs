using Microsoft.ML;
using Microsoft.ML.Data;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.PixelFormats;

namespace Fsac.MLNet.Pipeline;

/// <summary>
/// Streams the transformer's output. When an added column is active, a look-ahead cursor over the image column
/// reads up to <see cref="FewShotAnomalyOptions.BatchSize"/> rows ahead and scores them with one model call, while
/// the main cursor moves in lock-step over the pass-through columns; the row ids of the two are compared at every
/// row, so an input that returns rows in a different order to two cursors fails instead of misaligning.
/// When no added column is active the model is never called.
/// </summary>
internal sealed class ScoringCursor : DataViewRowCursor
{
    private readonly ScoredColumns _columns;
    private readonly DataViewRowCursor _main;
    private readonly int _batchSize;
    private readonly DataViewRowCursor? _lookAhead;
    private readonly ImageReader? _reader;
    private readonly ValueGetter<DataViewRowId>? _mainId;
    private readonly ValueGetter<DataViewRowId>? _lookAheadId;
    private readonly DataViewRowId[] _ids;
    private int _index = -1;

    public ScoringCursor(IDataView input, ScoringSchema schema, SharedModel model, FewShotAnomalyOptions options,
        IEnumerable<DataViewSchema.Column> columnsNeeded)
    {
        _columns = new ScoredColumns(schema, model, options, columnsNeeded, "cursor");
        _batchSize = options.BatchSize;
        _ids = new DataViewRowId[_batchSize];
        _main = input.GetRowCursor(_columns.ActiveInputs);
        if (_columns.Scored is null) return;

        _lookAhead = input.GetRowCursor([schema.Image]);
        _reader = new ImageReader(_lookAhead, schema.Image, schema.ImageKind);
        _mainId = _main.GetIdGetter();
        _lookAheadId = _lookAhead.GetIdGetter();
    }

    public override DataViewSchema Schema => _columns.Schema;
    public override long Position => _main.Position;
    public override long Batch => _main.Batch;

    public override bool MoveNext()
    {
        if (!_main.MoveNext()) return false;
        if (_columns.Scored is not { } scored) return true;
        if (++_index >= scored.Count)
        {
            ReadBatch();
            _index = 0;
        }
        var id = default(DataViewRowId);
        _mainId!(ref id);
        if (!id.Equals(_ids[_index])) throw OrderLost();
        return true;
    }

    public override ValueGetter<DataViewRowId> GetIdGetter() => _main.GetIdGetter();

    public override bool IsColumnActive(DataViewSchema.Column column) => _columns.IsActive(column);

    public override ValueGetter<TValue> GetGetter<TValue>(DataViewSchema.Column column) =>
        _columns.Getter<TValue>(column, _main, Current);

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            _main.Dispose();
            _lookAhead?.Dispose();
        }
        base.Dispose(disposing);
    }

    private int Current() => _index >= 0 && _index < _columns.Scored!.Count
        ? _index
        : throw new InvalidOperationException("The cursor is not on a row: call MoveNext first.");

    private void ReadBatch()
    {
        var images = new List<Image<Rgb24>>(_batchSize);
        try
        {
            while (images.Count < _batchSize && _lookAhead!.MoveNext())
            {
                _lookAheadId!(ref _ids[images.Count]);
                images.Add(_reader!.Read());
            }
            if (images.Count == 0) throw OrderLost();
            _columns.Scored!.Compute(images);
        }
        finally
        {
            foreach (var image in images) image.Dispose();
        }
    }

    private static InvalidOperationException OrderLost() => new(
        "The input data view returned its rows in different orders to two cursors. FewShotAnomaly reads images " +
        "ahead in batches with a second cursor and needs a repeatable row order (cache the data view first).");
}
