using Microsoft.ML;
using Microsoft.ML.Data;

namespace Fsac.MLNet.Tests.MLNet;

/// <summary>
/// A data view of file paths that breaks the usual contract on purpose: each new cursor starts one row later
/// (rotated order), while row ids stay tied to the rows.
/// </summary>
public sealed class UnstableOrderDataView(IReadOnlyList<string> paths) : IDataView
{
    private int _cursors;

    public bool CanShuffle => false;

    public DataViewSchema Schema { get; } = Build();

    public long? GetRowCount() => paths.Count;

    public DataViewRowCursor GetRowCursor(IEnumerable<DataViewSchema.Column> columnsNeeded, Random? rand = null) =>
        new Cursor(this, paths, Interlocked.Increment(ref _cursors));

    public DataViewRowCursor[] GetRowCursorSet(IEnumerable<DataViewSchema.Column> columnsNeeded, int n, Random? rand = null) =>
        [GetRowCursor(columnsNeeded, rand)];

    private static DataViewSchema Build()
    {
        var builder = new DataViewSchema.Builder();
        builder.AddColumn("ImagePath", TextDataViewType.Instance);
        return builder.ToSchema();
    }

    private sealed class Cursor(UnstableOrderDataView view, IReadOnlyList<string> paths, int shift) : DataViewRowCursor
    {
        private long _position = -1;

        public override DataViewSchema Schema => view.Schema;
        public override long Position => _position;
        public override long Batch => 0;
        private int Row => (int)((_position + shift) % paths.Count);

        public override bool MoveNext() => ++_position < paths.Count;

        public override ValueGetter<TValue> GetGetter<TValue>(DataViewSchema.Column column) =>
            (ValueGetter<TValue>)(Delegate)(ValueGetter<ReadOnlyMemory<char>>)((ref ReadOnlyMemory<char> value) => value = paths[Row].AsMemory());

        public override ValueGetter<DataViewRowId> GetIdGetter() => (ref DataViewRowId value) => value = new DataViewRowId((ulong)Row, 0);

        public override bool IsColumnActive(DataViewSchema.Column column) => true;
    }
}
