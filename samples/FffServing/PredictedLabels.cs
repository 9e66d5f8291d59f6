using System;
using System.Buffers;
using System.IO;
using System.Linq;
using System.Reflection;
using System.Text.Json;
using Microsoft.ML;
using Microsoft.ML.Data;

namespace FffServing;

/// <summary>
/// The <c>predictedLabel</c> of a response, derived from the row's scores the way ML.NET's scorers do (multiclass: the
/// first largest score's class; binary: score &gt; 0, the default threshold of our binary transformer). Deriving it
/// lets batches, which score through <c>ScoreBatch</c>, answer it too; the load-time probe checks it against the
/// PredictionEngine's own <c>PredictedLabel</c> on every probe row and refuses the file if they differ. Multiclass labels
/// are the training label's values (what <c>MapKeyToValue</c> gives), pre-encoded as JSON so a response allocates nothing.
/// </summary>
internal sealed class PredictedLabels
{
    private static readonly Type[] Supported =
    [
        typeof(ReadOnlyMemory<char>), typeof(float), typeof(double), typeof(bool), typeof(sbyte), typeof(byte), typeof(short),
        typeof(ushort), typeof(int), typeof(uint), typeof(long), typeof(ulong),
    ];

    private const string KeyValuesKind = "KeyValues";   // ML.NET's annotation of a key column's values (its AnnotationUtils is internal)

    private readonly byte[][]? _classes;   // null: binary
    private readonly bool _engineGivesKey;

    private PredictedLabels(byte[][]? classes, bool engineGivesKey)
    {
        _classes = classes;
        _engineGivesKey = engineGivesKey;
    }

    /// <summary>The labels for a pipeline whose output has a <c>PredictedLabel</c> we can derive; null otherwise (regression, say).</summary>
    public static PredictedLabels? For(ServingPipeline pipeline, bool vectorScore, int outputCount)
    {
        if (pipeline.Output.GetColumnOrNull("PredictedLabel") is not DataViewSchema.Column final)
            return null;
        if (!vectorScore)
            return final.Type is BooleanDataViewType ? new PredictedLabels(null, engineGivesKey: false) : null;
        if (pipeline.PredictorOutput.GetColumnOrNull("PredictedLabel") is not { Type: KeyDataViewType } key)
            return null;
        byte[][]? classes = null;
        if (key.Annotations.Schema.GetColumnOrNull(KeyValuesKind) is { Type: VectorDataViewType { ItemType: var item } }
            && Supported.Contains(item.RawType))
        {
            MethodInfo read = typeof(PredictedLabels).GetMethod(nameof(KeyValues), BindingFlags.NonPublic | BindingFlags.Static)!;
            classes = (byte[][]?)read.MakeGenericMethod(item.RawType).Invoke(null, [key, outputCount]);
        }
        if (final.Type is KeyDataViewType)
        {
            // The pipeline ends with key labels: answer the label value the key stands for (the number when there are none).
            return new PredictedLabels(classes ?? Enumerable.Range(1, outputCount).Select(k => Json((uint)k)).ToArray(), engineGivesKey: true);
        }
        return classes is null ? null : new PredictedLabels(classes, engineGivesKey: false);
    }

    /// <summary>Writes the row's predicted label as a JSON value.</summary>
    public void Write(Utf8JsonWriter json, ReadOnlySpan<float> rowScores)
    {
        if (_classes is null)
            json.WriteBooleanValue(rowScores[0] > 0);
        else
            json.WriteRawValue(_classes[ArgMax(rowScores)], skipInputValidation: true);
    }

    /// <summary>The JSON of the value the PredictionEngine's <c>PredictedLabel</c> column should hold for these scores.</summary>
    public byte[] EngineJson(ReadOnlySpan<float> rowScores) =>
        _classes is null ? Json(rowScores[0] > 0)
        : _engineGivesKey ? Json((uint)(ArgMax(rowScores) + 1))
        : _classes[ArgMax(rowScores)];

    /// <summary>The PredictedLabel column of <paramref name="scored"/>, one JSON value per row (load-time probe only).</summary>
    public static byte[][] ReadColumn(IDataView scored)
    {
        DataViewSchema.Column column = scored.Schema["PredictedLabel"];
        if (!Supported.Contains(column.Type.RawType))
            throw new InvalidDataException($"the PredictedLabel column has type {column.Type}, which the service cannot write.");
        MethodInfo read = typeof(PredictedLabels).GetMethod(nameof(Column), BindingFlags.NonPublic | BindingFlags.Static)!;
        return (byte[][])read.MakeGenericMethod(column.Type.RawType).Invoke(null, [scored, column])!;
    }

    private static byte[][]? KeyValues<T>(DataViewSchema.Column key, int count)
    {
        VBuffer<T> values = default;
        key.Annotations.GetValue(KeyValuesKind, ref values);
        if (values.Length != count)
            return null;
        var dense = new T[count];
        values.CopyTo(dense);
        return dense.Select(v => Json(v!)).ToArray();
    }

    private static byte[][] Column<T>(IDataView scored, DataViewSchema.Column column)
    {
        using DataViewRowCursor cursor = scored.GetRowCursor(new[] { column });
        ValueGetter<T> getter = cursor.GetGetter<T>(column);
        T value = default!;
        var rows = new System.Collections.Generic.List<byte[]>();
        while (cursor.MoveNext())
        {
            getter(ref value);
            rows.Add(Json(value!));
        }
        return rows.ToArray();
    }

    private static int ArgMax(ReadOnlySpan<float> scores)
    {
        int best = 0;
        for (int i = 1; i < scores.Length; i++)
        {
            if (scores[i] > scores[best])
                best = i;
        }
        return best;
    }

    private static byte[] Json(object value)
    {
        var buffer = new ArrayBufferWriter<byte>();
        using (var json = new Utf8JsonWriter(buffer))
        {
            switch (value)
            {
                case ReadOnlyMemory<char> text: json.WriteStringValue(text.Span); break;
                case bool flag: json.WriteBooleanValue(flag); break;
                case float single when float.IsFinite(single): json.WriteNumberValue(single); break;
                case double number when double.IsFinite(number): json.WriteNumberValue(number); break;
                case ulong big: json.WriteNumberValue(big); break;
                case sbyte or byte or short or ushort or int or uint or long: json.WriteNumberValue(Convert.ToInt64(value, System.Globalization.CultureInfo.InvariantCulture)); break;
                default: throw new InvalidDataException($"the label value {value} cannot be written as JSON.");
            }
        }
        return buffer.WrittenSpan.ToArray();
    }
}
