// Where a Train model's featurization step spends its per-row time, without a PredictionEngine (docs/tabular.md, "Per-row
// latency of Train models"): the step's row mapper runs on an array-backed input row, and a pass over the test rows calling one
// getter per row is timed, the best of many passes. Program.cs runs it for --featurizer-timing.
//   input getters      every column the step reads, read once per row (what the step cannot avoid);
//   featurizer getter  the step's Features getter (input getters included);
//   whole model        Score read through the model's own row mappers (featurizer, prediction transformer and network).
// The best pass, not the median: these are sub-100-ns calls on a shared machine, and the minimum is the stable statistic.
#nullable enable
using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Globalization;
using System.IO;
using System.Linq;
using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Fff;

namespace MlNetFff.Tools.Tabular;

internal static class FeaturizerTiming
{
    private const int Passes = 300;
    private const int RowsPerPass = 1024;

    /// <summary>Trains the set's one-call model on the suite's split (as <see cref="LatencyBreakdown"/>) and times its featurization.</summary>
    public static void Run(TabularSet set, IDataView data, TextWriter log)
    {
        var mlContext = new MLContext(seed: 0);
        DataOperationsCatalog.TrainTestData split = mlContext.Data.TrainTestSplit(data, testFraction: 0.2, seed: 0);
        IDataView train = mlContext.Data.Cache(split.TrainSet), test = mlContext.Data.Cache(split.TestSet);
        ITransformer model = mlContext.Fff().Train(train, TabularSuite.LabelColumn);
        ITransformer[] steps = model is TransformerChain<ITransformer> chain ? chain.ToArray() : new[] { model };
        // The featurization step: everything up to the first step that adds a feature vector (a multiclass model starts with
        // the label's key step, which adds a key column).
        int last = Array.FindIndex(steps, step => step.GetOutputSchema(test.Schema).Any(c => c.Type is VectorDataViewType && test.Schema.GetColumnOrNull(c.Name) is null));
        ITransformer featurizer = new TransformerChain<ITransformer>(steps.Take(last + 1).ToArray());
        var input = new ArrayRow(test, RowsPerPass);
        DataViewSchema featurized = featurizer.GetOutputSchema(test.Schema);
        DataViewSchema.Column features = featurized[featurized.Count - 1];

        // The columns the step reads: those its output depends on.
        IRowToRowMapper mapper = featurizer.GetRowToRowMapper(test.Schema);
        DataViewSchema.Column[] read = mapper.GetDependencies(new[] { mapper.OutputSchema[features.Name] }).ToArray();
        Action[] inputs = read.Select(input.Reader).ToArray();
        double inputsNs = Best(input, () =>
        {
            foreach (Action reader in inputs)
                reader();
        });

        DataViewRow row = mapper.GetRow(input, new[] { mapper.OutputSchema[features.Name] });
        ValueGetter<VBuffer<float>> getter = row.GetGetter<VBuffer<float>>(row.Schema[features.Name]);
        VBuffer<float> vector = default;
        double featurizerNs = Best(input, () => getter(ref vector));
        int dense = 0, stored = 0;
        for (int r = 0; r < input.Count; r++)
        {
            input.MoveTo(r);
            getter(ref vector);
            dense += vector.IsDense ? 1 : 0;
            stored += vector.GetValues().Length;
        }

        IRowToRowMapper whole = model.GetRowToRowMapper(test.Schema);
        DataViewSchema.Column score = whole.OutputSchema["Score"];
        DataViewRow scored = whole.GetRow(input, new[] { score });
        double wholeNs = score.Type is VectorDataViewType
            ? Best(input, Getter<VBuffer<float>>(scored, score))
            : Best(input, Getter<float>(scored, score));

        // The same model with each feature vector made dense between the featurizer and the prediction step: what scoring dense
        // vectors would cost with the network trained as it is (densifying costs a copy, included).
        var rest = new TransformerChain<ITransformer>(steps.Skip(last + 1).ToArray());
        DataViewRow featurizedRow = mapper.GetRow(input, new[] { mapper.OutputSchema[features.Name] });
        IRowToRowMapper restMapper = ((ITransformer)rest).GetRowToRowMapper(featurizedRow.Schema);
        DataViewSchema.Column restScore = restMapper.OutputSchema["Score"];
        DataViewRow densified = restMapper.GetRow(new DensifiedRow(featurizedRow, features.Index), new[] { restScore });
        double densifiedNs = restScore.Type is VectorDataViewType
            ? Best(input, Getter<VBuffer<float>>(densified, restScore))
            : Best(input, Getter<float>(densified, restScore));

        log.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"| {set.Name} | {read.Length} ({read.Count(c => c.Type is TextDataViewType)} String) | {((VectorDataViewType)features.Type).Size} | " +
            $"{100.0 * dense / input.Count:F0} % | {(double)stored / input.Count:F1} | {inputsNs:F1} | {featurizerNs:F1} | {featurizerNs - inputsNs:F1} | {wholeNs:F1} | {densifiedNs:F1} |"));
    }

    public const string Header = "| set | columns read | slots | dense rows | stored entries / row | input getters ns | featurizer getter ns | featurizer's own ns | whole model ns | whole model, vectors densified ns |\n" +
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |";

    private static Action Getter<T>(DataViewRow row, DataViewSchema.Column column)
    {
        ValueGetter<T> getter = row.GetGetter<T>(column);
        T value = default!;
        return () => getter(ref value);
    }

    /// <summary>Nanoseconds per row of the best of <see cref="Passes"/> passes over the rows (after a warm-up for tiered compilation).</summary>
    private static double Best(ArrayRow input, Action call)
    {
        var warmup = Stopwatch.StartNew();
        while (warmup.Elapsed.TotalSeconds < 1)
            Pass(input, call);
        long best = long.MaxValue;
        for (int p = 0; p < Passes; p++)
            best = Math.Min(best, Pass(input, call));
        return best * 1e9 / Stopwatch.Frequency / input.Count;
    }

    private static long Pass(ArrayRow input, Action call)
    {
        long start = Stopwatch.GetTimestamp();
        for (int r = 0; r < input.Count; r++)
        {
            input.MoveTo(r);
            call();
        }
        return Stopwatch.GetTimestamp() - start;
    }

    /// <summary>A row whose feature vector column reads back dense (a copy of the inner row's vector); every other column as it is.</summary>
    private sealed class DensifiedRow : DataViewRow
    {
        private readonly DataViewRow _inner;
        private readonly int _features;
        private VBuffer<float> _vector;

        public DensifiedRow(DataViewRow inner, int features) => (_inner, _features) = (inner, features);

        public override long Position => _inner.Position;

        public override long Batch => _inner.Batch;

        public override DataViewSchema Schema => _inner.Schema;

        public override bool IsColumnActive(DataViewSchema.Column column) => _inner.IsColumnActive(column);

        public override ValueGetter<DataViewRowId> GetIdGetter() => _inner.GetIdGetter();

        public override ValueGetter<TValue> GetGetter<TValue>(DataViewSchema.Column column)
        {
            if (column.Index != _features)
                return _inner.GetGetter<TValue>(column);
            ValueGetter<VBuffer<float>> inner = _inner.GetGetter<VBuffer<float>>(column);
            ValueGetter<VBuffer<float>> dense = (ref VBuffer<float> value) =>
            {
                inner(ref _vector);
                VBufferEditor<float> editor = VBufferEditor.Create(ref value, _vector.Length);
                _vector.CopyTo(editor.Values);
                value = editor.Commit();
            };
            return (ValueGetter<TValue>)(Delegate)dense;
        }
    }

    /// <summary>The first rows of a view held in arrays, one row current at a time: a row whose getters cost only an array read.</summary>
    private sealed class ArrayRow : DataViewRow
    {
        private readonly Array[] _columns;
        private long _position;

        public ArrayRow(IDataView data, int rows)
        {
            Schema = data.Schema;
            _columns = Schema.Select(c => Read(data, c, rows)).ToArray();
            Count = _columns.Max(c => c.Length);
        }

        public int Count { get; }

        public override long Position => _position;

        public void MoveTo(int row) => _position = row;

        public override long Batch => 0;

        public override DataViewSchema Schema { get; }

        public override bool IsColumnActive(DataViewSchema.Column column) => true;

        public override ValueGetter<TValue> GetGetter<TValue>(DataViewSchema.Column column)
        {
            var values = (TValue[])_columns[column.Index];
            return (ref TValue value) => value = values[_position];
        }

        public override ValueGetter<DataViewRowId> GetIdGetter() => (ref DataViewRowId id) => id = new DataViewRowId((ulong)_position, 0);

        /// <summary>Reads one column once per call into a sink, as a featurizer's getter would.</summary>
        public Action Reader(DataViewSchema.Column column) => column.Type switch
        {
            TextDataViewType => Sink(GetGetter<ReadOnlyMemory<char>>(column)),
            NumberDataViewType n when n == NumberDataViewType.Single => Sink(GetGetter<float>(column)),
            BooleanDataViewType => Sink(GetGetter<bool>(column)),
            _ => throw new NotSupportedException($"Column '{column.Name}' is {column.Type}."),
        };

        private static Action Sink<T>(ValueGetter<T> getter)
        {
            T value = default!;
            return () => getter(ref value);
        }

        private static Array Read(IDataView data, DataViewSchema.Column column, int rows) => column.Type switch
        {
            TextDataViewType => ReadAs<ReadOnlyMemory<char>>(data, column, rows),
            NumberDataViewType n when n == NumberDataViewType.Single => ReadAs<float>(data, column, rows),
            BooleanDataViewType => ReadAs<bool>(data, column, rows),
            _ => Array.Empty<int>(),
        };

        private static T[] ReadAs<T>(IDataView data, DataViewSchema.Column column, int rows)
        {
            var values = new List<T>();
            using DataViewRowCursor cursor = data.GetRowCursor(new[] { column });
            ValueGetter<T> getter = cursor.GetGetter<T>(column);
            while (values.Count < rows && cursor.MoveNext())
            {
                T value = default!;
                getter(ref value);
                values.Add(value);
            }
            return values.ToArray();
        }
    }
}
