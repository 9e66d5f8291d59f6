using System;
using Microsoft.ML.Data;
using Microsoft.ML.Runtime;

namespace Microsoft.ML.Fff.Training;

/// <summary>How the label column is interpreted.</summary>
internal enum LabelKind
{
    /// <summary>Boolean label; stored as 0 / 1.</summary>
    Binary,
    /// <summary>Key label; stored as the zero-based class index.</summary>
    Multiclass,
    /// <summary>Single label; stored as is.</summary>
    Regression,
}

/// <summary>
/// Training rows in memory: features dense (row-major) or, when the column is sparse, in compressed sparse rows so
/// text-sized vectors are never densified; labels and optional weights. Holds either the whole data set or one
/// streamed chunk (see <see cref="TrainingData"/>).
/// </summary>
internal sealed class TrainingTable
{
    private TrainingTable(int featureCount, bool sparse, string featureColumn)
    {
        FeatureCount = featureCount;
        IsSparse = sparse;
        FeatureColumn = featureColumn;
    }

    public int FeatureCount { get; }
    public bool IsSparse { get; }
    public string FeatureColumn { get; }
    public int RowCount { get; private set; }

    /// <summary>Dense features, <c>RowCount * FeatureCount</c> values (when not sparse; the array may be longer).</summary>
    public float[] Dense { get; private set; } = Array.Empty<float>();

    /// <summary>Sparse features: row <c>r</c> holds entries <c>[RowStart[r], RowStart[r+1])</c> of <see cref="Indices"/>/<see cref="Values"/>.</summary>
    public long[] RowStart { get; private set; } = Array.Empty<long>();
    public int[] Indices { get; private set; } = Array.Empty<int>();
    public float[] Values { get; private set; } = Array.Empty<float>();

    public float[] Labels { get; private set; } = Array.Empty<float>();
    public float[]? Weights { get; private set; }

    /// <summary>Number of classes for multiclass labels (from the key type), 1 otherwise.</summary>
    public int ClassCount { get; private set; } = 1;

    /// <summary>Appends rows one at a time; the table it builds is dense or CSR as decided by the caller.</summary>
    internal sealed class Builder
    {
        private readonly int _featureCount;
        private readonly bool _sparse;
        private readonly string _featureColumn;
        private readonly int _classCount;
        private readonly GrowableArray<float> _dense = new();
        private readonly GrowableArray<long> _rowStart = new();
        private readonly GrowableArray<int> _indices = new();
        private readonly GrowableArray<float> _values = new();
        private readonly GrowableArray<float> _labels = new();
        private readonly GrowableArray<float>? _weights;

        public Builder(int featureCount, bool sparse, string featureColumn, int classCount, bool hasWeights)
        {
            _featureCount = featureCount;
            _sparse = sparse;
            _featureColumn = featureColumn;
            _classCount = classCount;
            _weights = hasWeights ? new GrowableArray<float>() : null;
        }

        public int RowCount => _labels.Count;

        /// <summary>Bytes held so far (what the in-memory limit is checked against).</summary>
        public long Bytes => 4L * (_dense.Count + _values.Count + _indices.Count + _labels.Count + (_weights?.Count ?? 0)) + 8L * _rowStart.Count;

        public void Add(in VBuffer<float> row, float label, float weight)
        {
            ReadOnlySpan<float> rowValues = row.GetValues();
            if (_sparse)
            {
                _rowStart.Add(_values.Count);
                if (row.IsDense)
                {
                    for (int k = 0; k < rowValues.Length; k++)
                    {
                        if (rowValues[k] != 0)
                        {
                            _indices.Add(k);
                            _values.Add(rowValues[k]);
                        }
                    }
                }
                else
                {
                    _indices.AddRange(row.GetIndices());
                    _values.AddRange(rowValues);
                }
            }
            else if (row.IsDense)
            {
                _dense.AddRange(rowValues);
            }
            else
            {
                Span<float> target = _dense.AddZeros(_featureCount);
                ReadOnlySpan<int> rowIndices = row.GetIndices();
                for (int k = 0; k < rowIndices.Length; k++)
                    target[rowIndices[k]] = rowValues[k];
            }
            _labels.Add(label);
            _weights?.Add(weight);
        }

        public TrainingTable Build()
        {
            var table = new TrainingTable(_featureCount, _sparse, _featureColumn)
            {
                RowCount = _labels.Count,
                Labels = _labels.ToArray(),
                Weights = _weights?.ToArray(),
                ClassCount = _classCount,
            };
            if (_sparse)
            {
                var rowStart = new GrowableArray<long>();
                rowStart.AddRange(_rowStart.AsSpan());
                rowStart.Add(_values.Count);
                table.RowStart = rowStart.ToArray();
                // The big arrays are handed over, not copied: a table near the in-memory limit must not exist twice.
                table.Indices = _indices.Detach();
                table.Values = _values.Detach();
            }
            else
            {
                table.Dense = _dense.Detach();
            }
            return table;
        }
    }

    /// <summary>Copies row <paramref name="row"/> into <paramref name="destination"/> (length FeatureCount) as a dense vector.</summary>
    public void CopyDenseRow(int row, Span<float> destination)
    {
        if (!IsSparse)
        {
            Dense.AsSpan(row * FeatureCount, FeatureCount).CopyTo(destination);
            return;
        }
        destination.Slice(0, FeatureCount).Clear();
        for (long k = RowStart[row]; k < RowStart[row + 1]; k++)
            destination[Indices[k]] = Values[k];
    }

    /// <summary>Number of stored entries of row <paramref name="row"/> (FeatureCount when dense).</summary>
    public int StoredCount(int row) => IsSparse ? (int)(RowStart[row + 1] - RowStart[row]) : FeatureCount;

    internal static Func<float> MakeLabelGetter(IExceptionContext ectx, DataViewRowCursor cursor, DataViewSchema.Column column, LabelKind kind, int classCount)
    {
        long row = 0;
        switch (kind)
        {
            case LabelKind.Binary:
                if (column.Type != BooleanDataViewType.Instance)
                    throw ectx.ExceptUserArg("labelColumnName", $"Label column '{column.Name}' must be Boolean for binary classification, but is {column.Type}.");
                {
                    ValueGetter<bool> getter = cursor.GetGetter<bool>(column);
                    bool value = false;
                    return () =>
                    {
                        getter(ref value);
                        row++;
                        return value ? 1f : 0f;
                    };
                }
            case LabelKind.Regression:
                if (column.Type != NumberDataViewType.Single)
                    throw ectx.ExceptUserArg("labelColumnName", $"Label column '{column.Name}' must be Single for regression, but is {column.Type}. Use mlContext.Transforms.Conversion.ConvertType.");
                {
                    ValueGetter<float> getter = cursor.GetGetter<float>(column);
                    float value = 0;
                    return () =>
                    {
                        getter(ref value);
                        if (!float.IsFinite(value))
                            throw ectx.Except($"Label column '{column.Name}' has the value {value} at row {row}; regression labels must be finite. Filter those rows first.");
                        row++;
                        return value;
                    };
                }
            default:
                {
                    // Keys may be stored as Byte, UInt16, UInt32 or UInt64; 0 means missing.
                    Func<ulong> read = column.Type.RawType switch
                    {
                        Type t when t == typeof(byte) => KeyReader<byte>(cursor, column, v => v),
                        Type t when t == typeof(ushort) => KeyReader<ushort>(cursor, column, v => v),
                        Type t when t == typeof(uint) => KeyReader<uint>(cursor, column, v => v),
                        _ => KeyReader<ulong>(cursor, column, v => v),
                    };
                    return () =>
                    {
                        ulong value = read();
                        if (value == 0 || value > (ulong)classCount)
                            throw ectx.Except($"Label column '{column.Name}' has a missing or out-of-range key value at row {row}; every row needs one of the {classCount} classes. Filter rows with missing labels first.");
                        row++;
                        return value - 1;
                    };
                }
        }
    }

    private static Func<ulong> KeyReader<T>(DataViewRowCursor cursor, DataViewSchema.Column column, Func<T, ulong> widen)
    {
        ValueGetter<T> getter = cursor.GetGetter<T>(column);
        T value = default!;
        return () =>
        {
            getter(ref value);
            return widen(value);
        };
    }

    internal static ValueGetter<float> MakeWeightGetter(IExceptionContext ectx, DataViewRowCursor cursor, DataViewSchema.Column column)
    {
        if (column.Type != NumberDataViewType.Single)
            throw ectx.ExceptUserArg("exampleWeightColumnName", $"Weight column '{column.Name}' must be Single, but is {column.Type}.");
        return cursor.GetGetter<float>(column);
    }

    /// <summary>A list of unmanaged values that hands out spans (List&lt;T&gt; has no AddRange for spans without copying twice).</summary>
    internal sealed class GrowableArray<T> where T : unmanaged
    {
        private T[] _items = new T[16];

        public int Count { get; private set; }

        public void Add(T item)
        {
            Reserve(1);
            _items[Count++] = item;
        }

        public void AddRange(ReadOnlySpan<T> items)
        {
            Reserve(items.Length);
            items.CopyTo(_items.AsSpan(Count));
            Count += items.Length;
        }

        public Span<T> AddZeros(int count)
        {
            Reserve(count);
            Span<T> span = _items.AsSpan(Count, count);
            span.Clear();
            Count += count;
            return span;
        }

        public T[] ToArray() => _items.AsSpan(0, Count).ToArray();

        public ReadOnlySpan<T> AsSpan() => _items.AsSpan(0, Count);

        /// <summary>Hands over the backing array (its length may exceed <see cref="Count"/>) without copying it.</summary>
        public T[] Detach()
        {
            T[] items = _items;
            _items = Array.Empty<T>();
            Count = 0;
            return items;
        }

        private void Reserve(int extra)
        {
            if (Count + (long)extra <= _items.Length)
                return;
            long size = Math.Max(Math.Max(_items.Length * 2L, 64), Count + (long)extra);
            if (size > Array.MaxLength)
                throw new InvalidOperationException("The training data is too large to hold in memory.");
            Array.Resize(ref _items, (int)size);
        }
    }
}
