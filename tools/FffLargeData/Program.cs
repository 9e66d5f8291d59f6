// Trains one epoch of a binary FFF on a synthetic IDataView of N rows x 100 features that is generated lazily, row by row
// (never materialized by the caller), and reports wall time and the process's peak resident memory (VmHWM).
//   dotnet run --project tools/FffLargeData -c Release -- [rows=5000000] [features=100]
using System;
using System.Diagnostics;
using System.IO;
using System.Linq;
using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Fff;
using Microsoft.ML.Fff.FastFeedForward;

long rows = args.Length > 0 ? long.Parse(args[0]) : 5_000_000;
int features = args.Length > 1 ? int.Parse(args[1]) : 100;
var mlContext = new MLContext(seed: 0);
mlContext.Log += (_, e) =>
{
    if (e.Message.StartsWith("FFF", StringComparison.Ordinal))
        Console.WriteLine($"  [{DateTime.Now:HH:mm:ss}] {e.Message}");
};
var data = new SyntheticDataView(rows, features);
var trainer = mlContext.BinaryClassification.Trainers.FastFeedForward(new FastFeedForwardBinaryTrainer.Options
{
    Depth = 3,
    LeafWidth = 32,
    NumberOfEpochs = 1,
    BatchSize = 256,
    HardFineTuneFraction = 0,
});
var clock = Stopwatch.StartNew();
var model = trainer.Fit(data);
double seconds = clock.Elapsed.TotalSeconds;
var metrics = mlContext.BinaryClassification.Evaluate(model.Transform(new SyntheticDataView(20_000, features, offset: rows)));
Console.WriteLine($"rows {rows:N0} x {features} features, 1 epoch: {seconds:F1} s ({rows / seconds:N0} rows/s); held-out AUC {metrics.AreaUnderRocCurve:F4}");
Console.WriteLine($"peak RSS (VmHWM): {PeakRssMegabytes():N0} MiB; data size if materialized: {rows * features * 4 / (1 << 20):N0} MiB");

static long PeakRssMegabytes()
{
    string line = File.ReadLines("/proc/self/status").First(l => l.StartsWith("VmHWM:", StringComparison.Ordinal));
    return long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1]) / 1024;
}

/// <summary>Rows computed on demand from their index: nothing is stored.</summary>
internal sealed class SyntheticDataView : IDataView
{
    private readonly long _rows;
    private readonly int _features;
    private readonly long _offset;

    public SyntheticDataView(long rows, int features, long offset = 0)
    {
        _rows = rows;
        _features = features;
        _offset = offset;
        var builder = new DataViewSchema.Builder();
        builder.AddColumn("Features", new VectorDataViewType(NumberDataViewType.Single, features));
        builder.AddColumn("Label", BooleanDataViewType.Instance);
        Schema = builder.ToSchema();
    }

    public bool CanShuffle => false;
    public DataViewSchema Schema { get; }
    public long? GetRowCount() => _rows;
    public DataViewRowCursor GetRowCursor(System.Collections.Generic.IEnumerable<DataViewSchema.Column> columnsNeeded, Random? rand = null) => new Cursor(this);
    public DataViewRowCursor[] GetRowCursorSet(System.Collections.Generic.IEnumerable<DataViewSchema.Column> columnsNeeded, int n, Random? rand = null) => new[] { GetRowCursor(columnsNeeded, rand) };

    private sealed class Cursor : DataViewRowCursor
    {
        private readonly SyntheticDataView _view;
        private readonly float[] _x;
        private long _position = -1;

        public Cursor(SyntheticDataView view)
        {
            _view = view;
            _x = new float[view._features];
        }

        public override DataViewSchema Schema => _view.Schema;
        public override long Position => _position;
        public override long Batch => 0;

        public override bool MoveNext()
        {
            if (_position + 1 >= _view._rows)
                return false;
            _position++;
            // A cheap deterministic generator per row (SplitMix64).
            ulong state = (ulong)(_position + _view._offset) * 0x9E3779B97F4A7C15UL;
            for (int j = 0; j < _x.Length; j++)
            {
                state += 0x9E3779B97F4A7C15UL;
                ulong z = state;
                z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
                z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
                z ^= z >> 31;
                _x[j] = (float)((z >> 40) / (double)(1UL << 24) * 2 - 1);
            }
            return true;
        }

        public override ValueGetter<TValue> GetGetter<TValue>(DataViewSchema.Column column)
        {
            if (column.Index == 0)
            {
                ValueGetter<VBuffer<float>> features = (ref VBuffer<float> value) =>
                {
                    var editor = VBufferEditor.Create(ref value, _x.Length);
                    _x.CopyTo(editor.Values);
                    value = editor.Commit();
                };
                return (ValueGetter<TValue>)(Delegate)features;
            }
            ValueGetter<bool> label = (ref bool value) => value = _x[0] + _x[1] * _x[2] > 0;
            return (ValueGetter<TValue>)(Delegate)label;
        }

        public override ValueGetter<DataViewRowId> GetIdGetter() => (ref DataViewRowId value) => value = new DataViewRowId((ulong)_position, 0);
        public override bool IsColumnActive(DataViewSchema.Column column) => true;
    }
}
