using System;
using System.Collections.Generic;
using Microsoft.ML.Data;
using Microsoft.ML.Runtime;

namespace Microsoft.ML.Fff.Training;

/// <summary>
/// The training (or validation) data after one validating pass through the <see cref="IDataView"/>: row count, the
/// statistics that feature and label scaling need, a fixed evaluation sample, and the rows themselves — kept in memory
/// when they fit under the limit, otherwise streamed again from the data view every epoch in shuffled chunks, so memory
/// stays bounded whatever the data size.
/// </summary>
internal sealed class TrainingData
{
    private readonly IExceptionContext _ectx;
    private readonly RoleMappedData _data;
    private readonly LabelKind _kind;
    // Per slot: a training value other than 0 and 1 was seen (see IsMeasured).
    private readonly bool[] _measured;
    // Per slot: the smallest and largest stored training value (a sparse row's unstored zeros are added by FeatureRange).
    private readonly float[] _featureMin;
    private readonly float[] _featureMax;
    private bool _sawSparseRow;
    private int[]? _inMemoryOrder;

    private TrainingData(IExceptionContext ectx, RoleMappedData data, LabelKind kind, int featureCount, int classCount, bool sparse)
    {
        _ectx = ectx;
        _data = data;
        _kind = kind;
        FeatureCount = featureCount;
        ClassCount = classCount;
        IsSparse = sparse;
        FeatureSum = new double[featureCount];
        FeatureSumOfSquares = new double[featureCount];
        FeatureMaxAbs = new float[featureCount];
        _featureMin = new float[featureCount];
        _featureMax = new float[featureCount];
        Array.Fill(_featureMin, float.PositiveInfinity);
        Array.Fill(_featureMax, float.NegativeInfinity);
        _measured = new bool[featureCount];
    }

    public int FeatureCount { get; }
    public int ClassCount { get; }
    public bool IsSparse { get; private set; }
    public long RowCount { get; private set; }
    public long StoredValues { get; private set; }
    public bool HasWeights => _data.Schema.Weight.HasValue;

    /// <summary>The label column's name, for messages.</summary>
    public string LabelColumnName => _data.Schema.Label?.Name ?? "Label";

    /// <summary>Every row, when the data fit under the in-memory limit; otherwise null and <see cref="Epoch"/> streams.</summary>
    public TrainingTable? InMemory { get; private set; }

    /// <summary>A seeded reservoir sample of rows used to evaluate each epoch.</summary>
    public TrainingTable EvaluationSample { get; private set; } = null!;

    public double[] FeatureSum { get; }
    public double[] FeatureSumOfSquares { get; }
    public float[] FeatureMaxAbs { get; }

    /// <summary>Whether slot <paramref name="slot"/> held a training value other than 0 and 1 (else it is an indicator).</summary>
    public bool IsMeasured(int slot) => _measured[slot];

    /// <summary>
    /// The smallest and largest training value of slot <paramref name="slot"/>; with sparse rows the range includes 0 (a row may
    /// leave the slot unstored). A slot that never held a value has the range [0, 0].
    /// </summary>
    public (float Min, float Max) FeatureRange(int slot)
    {
        float min = _featureMin[slot], max = _featureMax[slot];
        if (_sawSparseRow || min > max)
            (min, max) = (Math.Min(min, 0), Math.Max(max, 0));
        return (min, max);
    }
    public double LabelSum { get; private set; }
    public double LabelSumOfSquares { get; private set; }
    public long PositiveCount { get; private set; }

    /// <summary>Average bytes one row takes in a chunk (dense or CSR).</summary>
    public long BytesPerRow => IsSparse ? 16 + 8 * Math.Max(1, StoredValues / Math.Max(1, RowCount)) : 8 + 4L * FeatureCount;

    /// <summary>
    /// Reads <paramref name="data"/> once: checks the schema, validates every value (throwing with the column and row),
    /// gathers statistics, samples <paramref name="evaluationRows"/> rows, and keeps all rows if they take at most
    /// <paramref name="inMemoryLimitBytes"/>.
    /// </summary>
    public static TrainingData Scan(IExceptionContext ectx, RoleMappedData data, LabelKind kind, long inMemoryLimitBytes, int evaluationRows, int seed)
    {
        (int featureCount, int classCount) = CheckSchema(ectx, data, kind);
        TrainingData result;
        using (var reader = new RowReader(ectx, data, kind, classCount))
        {
            bool any = reader.MoveNext();
            if (!any)
                throw ectx.Except("The training data has no rows. Check the data loader and any filter before the trainer.");
            // A column whose first row is sparse is kept sparse: text n-grams must not be densified.
            result = new TrainingData(ectx, data, kind, featureCount, classCount, sparse: !reader.Features.IsDense);
            var builder = new TrainingTable.Builder(featureCount, result.IsSparse, reader.FeatureColumn, classCount, result.HasWeights);
            TrainingTable.Builder? all = inMemoryLimitBytes > 0 ? builder : null;
            var reservoir = new Reservoir(evaluationRows, new Random(seed ^ 0x3C6EF372));
            double weightSum = 0;
            do
            {
                ref readonly VBuffer<float> row = ref reader.Features;
                result.Accumulate(row, reader.Label);
                weightSum += reader.Weight;
                reservoir.Offer(row, reader.Label, reader.Weight);
                if (all != null)
                {
                    if (all.Bytes + result.BytesPerRowEstimate(row) > inMemoryLimitBytes)
                        all = null;   // Too big to keep: stream it every epoch instead.
                    else
                        all.Add(row, reader.Label, reader.Weight);
                }
            }
            while (reader.MoveNext());
            if (result.HasWeights && weightSum == 0)
                throw ectx.Except($"Every example weight in column '{data.Schema.Weight!.Value.Name}' is zero; nothing can be learned.");
            result.InMemory = all?.Build();
            result.EvaluationSample = reservoir.Build(featureCount, result.IsSparse, reader.FeatureColumn, classCount, result.HasWeights);
        }
        return result;
    }

    /// <summary>Scans <paramref name="data"/> outside a trainer (diagnostics and tests).</summary>
    internal static TrainingData Scan(MLContext mlContext, IDataView data, string featureColumn, string labelColumn, string? weightColumn,
        LabelKind kind, long inMemoryLimitBytes, int evaluationRows, int seed)
        => Scan(mlContext, new RoleMappedData(data, label: labelColumn, feature: featureColumn, weight: weightColumn), kind, inMemoryLimitBytes, evaluationRows, seed);

    /// <summary>
    /// One epoch's rows as (chunk, order) pairs: in memory, the whole table in a fresh permutation; streamed, consecutive
    /// chunks of <paramref name="chunkRows"/> rows, each permuted (a block shuffle: bounded memory, local mixing).
    /// </summary>
    public IEnumerable<(TrainingTable Chunk, int[] Order)> Epoch(Random random, int chunkRows)
    {
        if (InMemory != null)
        {
            // A fresh permutation of 0..n-1 each epoch: the same sequence a single streamed chunk would get, so data that
            // fits in one chunk trains identically whether it is held in memory or streamed.
            _inMemoryOrder ??= new int[InMemory.RowCount];
            for (int i = 0; i < _inMemoryOrder.Length; i++)
                _inMemoryOrder[i] = i;
            Shuffle(_inMemoryOrder, random);
            yield return (InMemory, _inMemoryOrder);
            yield break;
        }
        using var reader = new RowReader(_ectx, _data, _kind, ClassCount);
        var builder = new TrainingTable.Builder(FeatureCount, IsSparse, reader.FeatureColumn, ClassCount, HasWeights);
        while (reader.MoveNext())
        {
            builder.Add(reader.Features, reader.Label, reader.Weight);
            if (builder.RowCount == chunkRows)
            {
                yield return Permuted(builder.Build(), random);
                builder = new TrainingTable.Builder(FeatureCount, IsSparse, reader.FeatureColumn, ClassCount, HasWeights);
            }
        }
        if (builder.RowCount > 0)
            yield return Permuted(builder.Build(), random);
    }

    /// <summary>Optimizer steps in one epoch for the given batch size and chunking (matches <see cref="Epoch"/>).</summary>
    public long StepsPerEpoch(int batchSize, int chunkRows)
    {
        if (InMemory != null)
            return (RowCount + batchSize - 1) / batchSize;
        long fullChunks = RowCount / chunkRows, rest = RowCount % chunkRows;
        return fullChunks * ((chunkRows + batchSize - 1) / batchSize) + (rest + batchSize - 1) / batchSize;
    }

    private static (TrainingTable, int[]) Permuted(TrainingTable chunk, Random random)
    {
        int[] order = CreateOrder(chunk.RowCount);
        Shuffle(order, random);
        return (chunk, order);
    }

    private static int[] CreateOrder(int count)
    {
        var order = new int[count];
        for (int i = 0; i < count; i++)
            order[i] = i;
        return order;
    }

    public static void Shuffle(int[] order, Random random)
    {
        for (int i = order.Length - 1; i > 0; i--)
        {
            int j = random.Next(i + 1);
            (order[i], order[j]) = (order[j], order[i]);
        }
    }

    private long BytesPerRowEstimate(in VBuffer<float> row) => IsSparse ? 16 + 8L * row.GetValues().Length : 8 + 4L * FeatureCount;

    private void Accumulate(in VBuffer<float> row, float label)
    {
        RowCount++;
        ReadOnlySpan<float> values = row.GetValues();
        StoredValues += values.Length;
        if (row.IsDense)
        {
            for (int j = 0; j < values.Length; j++)
                AccumulateSlot(j, values[j]);
        }
        else
        {
            _sawSparseRow = true;
            ReadOnlySpan<int> indices = row.GetIndices();
            for (int k = 0; k < indices.Length; k++)
                AccumulateSlot(indices[k], values[k]);
        }
        LabelSum += label;
        LabelSumOfSquares += (double)label * label;
        if (_kind == LabelKind.Binary && label == 1)
            PositiveCount++;
    }

    private void AccumulateSlot(int slot, float value)
    {
        FeatureSum[slot] += value;
        FeatureSumOfSquares[slot] += (double)value * value;
        if (value != 0 && value != 1)
            _measured[slot] = true;
        float abs = Math.Abs(value);
        if (abs > FeatureMaxAbs[slot])
            FeatureMaxAbs[slot] = abs;
        if (value < _featureMin[slot])
            _featureMin[slot] = value;
        if (value > _featureMax[slot])
            _featureMax[slot] = value;
    }

    private static (int FeatureCount, int ClassCount) CheckSchema(IExceptionContext ectx, RoleMappedData data, LabelKind kind)
    {
        DataViewSchema.Column featureColumn = data.Schema.Feature!.Value;
        DataViewSchema.Column labelColumn = data.Schema.Label!.Value;
        if (featureColumn.Type is not VectorDataViewType { IsKnownSize: true } featureType || featureType.ItemType != NumberDataViewType.Single)
        {
            throw ectx.ExceptUserArg("featureColumnName",
                $"Feature column '{featureColumn.Name}' must be a known-size vector of Single, but is {featureColumn.Type}. Use Concatenate / ConvertType to build it.");
        }
        int classCount = 1;
        if (kind == LabelKind.Multiclass)
        {
            if (labelColumn.Type is not KeyDataViewType keyType)
                throw ectx.ExceptUserArg("labelColumnName", $"Label column '{labelColumn.Name}' must be a key type for multiclass classification, but is {labelColumn.Type}. Add mlContext.Transforms.Conversion.MapValueToKey(\"{labelColumn.Name}\") before the trainer.");
            if (keyType.Count > int.MaxValue - 1)
                throw ectx.ExceptUserArg("labelColumnName", $"Label column '{labelColumn.Name}' declares {keyType.Count} classes; that is too many.");
            classCount = (int)keyType.Count;
        }
        return (featureType.Size, classCount);
    }

    /// <summary>A validating cursor over the feature, label and weight columns.</summary>
    private sealed class RowReader : IDisposable
    {
        private readonly IExceptionContext _ectx;
        private readonly DataViewRowCursor _cursor;
        private readonly ValueGetter<VBuffer<float>> _getFeatures;
        private readonly Func<float> _getLabel;
        private readonly ValueGetter<float>? _getWeight;
        private readonly string? _weightColumn;
        private VBuffer<float> _features;
        private long _row = -1;

        public RowReader(IExceptionContext ectx, RoleMappedData data, LabelKind kind, int classCount)
        {
            _ectx = ectx;
            DataViewSchema.Column feature = data.Schema.Feature!.Value;
            DataViewSchema.Column label = data.Schema.Label!.Value;
            DataViewSchema.Column? weight = data.Schema.Weight;
            FeatureColumn = feature.Name;
            var columns = new List<DataViewSchema.Column> { feature, label };
            if (weight.HasValue)
                columns.Add(weight.Value);
            _cursor = data.Data.GetRowCursor(columns);
            _getFeatures = _cursor.GetGetter<VBuffer<float>>(feature);
            _getLabel = TrainingTable.MakeLabelGetter(ectx, _cursor, label, kind, classCount);
            if (weight.HasValue)
            {
                _getWeight = TrainingTable.MakeWeightGetter(ectx, _cursor, weight.Value);
                _weightColumn = weight.Value.Name;
            }
        }

        public string FeatureColumn { get; }
        public ref readonly VBuffer<float> Features => ref _features;
        public float Label { get; private set; }
        public float Weight { get; private set; } = 1;

        public bool MoveNext()
        {
            if (!_cursor.MoveNext())
                return false;
            _row++;
            if (_row > int.MaxValue / 2)
                throw _ectx.Except("The data has more rows than this trainer supports (about 1 billion).");
            _getFeatures(ref _features);
            Label = _getLabel();
            if (_getWeight != null)
            {
                float weight = 0;
                _getWeight(ref weight);
                if (!float.IsFinite(weight) || weight < 0)
                    throw _ectx.Except($"Weight column '{_weightColumn}' has the invalid weight {weight} at row {_row}; weights must be finite and non-negative.");
                Weight = weight;
            }
            ReadOnlySpan<float> values = _features.GetValues();
            for (int k = 0; k < values.Length; k++)
            {
                if (!float.IsFinite(values[k]))
                {
                    int slot = _features.IsDense ? k : _features.GetIndices()[k];
                    throw _ectx.Except(
                        $"Feature column '{FeatureColumn}' has the value {values[k]} at row {_row}, slot {slot}. " +
                        "Features must be finite: replace missing values (mlContext.Transforms.ReplaceMissingValues) or filter the rows first.");
                }
            }
            return true;
        }

        public void Dispose() => _cursor.Dispose();
    }

    /// <summary>Algorithm R over the stream: a uniform, seeded sample of at most <c>capacity</c> rows, kept in stream order of arrival slots.</summary>
    private sealed class Reservoir
    {
        private readonly int _capacity;
        private readonly Random _random;
        private readonly List<(VBuffer<float> Row, float Label, float Weight)> _rows = new();
        private long _seen;

        public Reservoir(int capacity, Random random)
        {
            _capacity = capacity;
            _random = random;
        }

        public void Offer(in VBuffer<float> row, float label, float weight)
        {
            _seen++;
            int slot;
            if (_rows.Count < _capacity)
            {
                slot = _rows.Count;
                _rows.Add(default);
            }
            else
            {
                long j = _random.NextInt64(_seen);
                if (j >= _capacity)
                    return;
                slot = (int)j;
            }
            VBuffer<float> copy = _rows[slot].Row;
            row.CopyTo(ref copy);
            _rows[slot] = (copy, label, weight);
        }

        public TrainingTable Build(int featureCount, bool sparse, string featureColumn, int classCount, bool hasWeights)
        {
            var builder = new TrainingTable.Builder(featureCount, sparse, featureColumn, classCount, hasWeights);
            foreach ((VBuffer<float> row, float label, float weight) in _rows)
                builder.Add(row, label, weight);
            return builder.Build();
        }
    }
}
