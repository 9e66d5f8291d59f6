using System;
using System.Collections.Generic;
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
/// The training rows in memory, read once through a cursor: features dense (row-major) or, when the column is
/// sparse, in compressed sparse rows so text-sized vectors are never densified; labels and optional weights.
/// Every value is validated as it is read, so bad data fails before any training starts.
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

    /// <summary>Dense features, <c>RowCount * FeatureCount</c> values (when not sparse).</summary>
    public float[] Dense { get; private set; } = Array.Empty<float>();

    /// <summary>Sparse features: row <c>r</c> holds entries <c>[RowStart[r], RowStart[r+1])</c> of <see cref="Indices"/>/<see cref="Values"/>.</summary>
    public long[] RowStart { get; private set; } = Array.Empty<long>();
    public int[] Indices { get; private set; } = Array.Empty<int>();
    public float[] Values { get; private set; } = Array.Empty<float>();

    public float[] Labels { get; private set; } = Array.Empty<float>();
    public float[]? Weights { get; private set; }

    /// <summary>Number of classes for multiclass labels (from the key type), 1 otherwise.</summary>
    public int ClassCount { get; private set; } = 1;

    /// <summary>Reads and validates <paramref name="data"/>; throws <see cref="InvalidOperationException"/> naming the column and row on bad values.</summary>
    public static TrainingTable Read(IExceptionContext ectx, RoleMappedData data, LabelKind labelKind)
    {
        DataViewSchema.Column featureColumn = data.Schema.Feature!.Value;
        DataViewSchema.Column labelColumn = data.Schema.Label!.Value;
        DataViewSchema.Column? weightColumn = data.Schema.Weight;

        if (featureColumn.Type is not VectorDataViewType { IsKnownSize: true, ItemType: NumberDataViewType } featureType
            || featureType.ItemType != NumberDataViewType.Single)
        {
            throw ectx.ExceptUserArg("featureColumnName",
                $"Feature column '{featureColumn.Name}' must be a known-size vector of Single, but is {featureColumn.Type}. Use Concatenate / ConvertType to build it.");
        }
        int featureCount = featureType.Size;

        int classCount = 1;
        if (labelKind == LabelKind.Multiclass)
        {
            if (labelColumn.Type is not KeyDataViewType keyType)
                throw ectx.ExceptUserArg("labelColumnName", $"Label column '{labelColumn.Name}' must be a key type for multiclass classification, but is {labelColumn.Type}. Add mlContext.Transforms.Conversion.MapValueToKey(\"{labelColumn.Name}\") before the trainer.");
            if (keyType.Count > int.MaxValue - 1)
                throw ectx.ExceptUserArg("labelColumnName", $"Label column '{labelColumn.Name}' declares {keyType.Count} classes; that is too many.");
            classCount = (int)keyType.Count;
        }

        var columns = new List<DataViewSchema.Column> { featureColumn, labelColumn };
        if (weightColumn.HasValue)
            columns.Add(weightColumn.Value);

        bool sparse = false;
        bool decided = false;
        var dense = new GrowableArray<float>();
        var rowStart = new GrowableArray<long>();
        var indices = new GrowableArray<int>();
        var values = new GrowableArray<float>();
        var labels = new GrowableArray<float>();
        var weights = weightColumn.HasValue ? new GrowableArray<float>() : null;

        using (DataViewRowCursor cursor = data.Data.GetRowCursor(columns))
        {
            ValueGetter<VBuffer<float>> getFeatures = cursor.GetGetter<VBuffer<float>>(featureColumn);
            Func<float> getLabel = MakeLabelGetter(ectx, cursor, labelColumn, labelKind, classCount);
            ValueGetter<float>? getWeight = weightColumn.HasValue ? MakeWeightGetter(ectx, cursor, weightColumn.Value) : null;
            VBuffer<float> row = default;
            float weight = 1;
            long rowIndex = 0;
            while (cursor.MoveNext())
            {
                getFeatures(ref row);
                float label = getLabel();
                if (getWeight != null)
                {
                    getWeight(ref weight);
                    if (!float.IsFinite(weight) || weight < 0)
                        throw ectx.Except($"Weight column '{weightColumn!.Value.Name}' has the invalid weight {weight} at row {rowIndex}; weights must be finite and non-negative.");
                }

                if (!decided)
                {
                    // A column whose first row is sparse is kept sparse: text n-grams must not be densified.
                    sparse = !row.IsDense;
                    decided = true;
                }
                ReadOnlySpan<float> rowValues = row.GetValues();
                for (int k = 0; k < rowValues.Length; k++)
                {
                    if (!float.IsFinite(rowValues[k]))
                    {
                        int slot = row.IsDense ? k : row.GetIndices()[k];
                        throw ectx.Except(
                            $"Feature column '{featureColumn.Name}' has the value {rowValues[k]} at row {rowIndex}, slot {slot}. " +
                            "Features must be finite: replace missing values (mlContext.Transforms.ReplaceMissingValues) or filter the rows first.");
                    }
                }

                if (sparse)
                {
                    rowStart.Add(values.Count);
                    if (row.IsDense)
                    {
                        for (int k = 0; k < rowValues.Length; k++)
                        {
                            if (rowValues[k] != 0)
                            {
                                indices.Add(k);
                                values.Add(rowValues[k]);
                            }
                        }
                    }
                    else
                    {
                        indices.AddRange(row.GetIndices());
                        values.AddRange(rowValues);
                    }
                }
                else if (row.IsDense)
                {
                    dense.AddRange(rowValues);
                }
                else
                {
                    Span<float> target = dense.AddZeros(featureCount);
                    ReadOnlySpan<int> rowIndices = row.GetIndices();
                    for (int k = 0; k < rowIndices.Length; k++)
                        target[rowIndices[k]] = rowValues[k];
                }
                labels.Add(label);
                weights?.Add(weight);
                rowIndex++;
                if (rowIndex > int.MaxValue / 2)
                    throw ectx.Except("The training data has more rows than this trainer keeps in memory (about 1 billion).");
            }
        }

        var table = new TrainingTable(featureCount, sparse, featureColumn.Name)
        {
            RowCount = labels.Count,
            Labels = labels.ToArray(),
            Weights = weights?.ToArray(),
            ClassCount = classCount,
        };
        if (table.RowCount == 0)
            throw ectx.Except($"The training data has no rows. Check the data loader and any filter before the trainer.");
        if (sparse)
        {
            rowStart.Add(values.Count);
            table.RowStart = rowStart.ToArray();
            table.Indices = indices.ToArray();
            table.Values = values.ToArray();
        }
        else
        {
            table.Dense = dense.ToArray();
        }
        if (table.Weights != null && Array.TrueForAll(table.Weights, w => w == 0))
            throw ectx.Except($"Every example weight in column '{weightColumn!.Value.Name}' is zero; nothing can be learned.");
        return table;
    }

    /// <summary>Reads <paramref name="data"/> outside a trainer (diagnostics and tests).</summary>
    internal static TrainingTable Read(MLContext mlContext, IDataView data, string featureColumn, string labelColumn, LabelKind labelKind)
        => Read(mlContext, new RoleMappedData(data, label: labelColumn, feature: featureColumn), labelKind);

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

    private static Func<float> MakeLabelGetter(IExceptionContext ectx, DataViewRowCursor cursor, DataViewSchema.Column column, LabelKind kind, int classCount)
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

    private static ValueGetter<float> MakeWeightGetter(IExceptionContext ectx, DataViewRowCursor cursor, DataViewSchema.Column column)
    {
        if (column.Type != NumberDataViewType.Single)
            throw ectx.ExceptUserArg("exampleWeightColumnName", $"Weight column '{column.Name}' must be Single, but is {column.Type}.");
        return cursor.GetGetter<float>(column);
    }

    /// <summary>A list of unmanaged values that hands out spans (List&lt;T&gt; has no AddRange for spans without copying twice).</summary>
    private sealed class GrowableArray<T> where T : unmanaged
    {
        private T[] _items = new T[1024];

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

        private void Reserve(int extra)
        {
            if (Count + (long)extra <= _items.Length)
                return;
            long size = Math.Max(_items.Length * 2L, Count + (long)extra);
            if (size > Array.MaxLength)
                throw new InvalidOperationException("The training data is too large to hold in memory.");
            Array.Resize(ref _items, (int)size);
        }
    }
}
