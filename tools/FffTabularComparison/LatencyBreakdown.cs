// Where a one-call Train model's per-row PredictionEngine time goes (docs/tabular.md, "Per-row latency of Train models"): for
// one set, the median Predict µs of the floor (an identity engine on the same input class, one column read; and every column
// copied in and out, what ML.NET's row plumbing costs a model that reads them all), of every prefix of the fitted
// pipeline (reading the column its last step adds), of the prediction transformer alone on the featurized vector, and of the
// network alone (ScoreBatch of one row). Program.cs runs it for --latency-breakdown; TabularSuiteTests runs it on a small set.
#nullable enable
using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Reflection;
using System.Text;
using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Fff;

namespace MlNetFff.Tools.Tabular;

/// <summary>One measured line of a breakdown: what ran, which column was read, the median µs (NaN with <see cref="Error"/> when it failed).</summary>
internal sealed record LatencyStep(string Set, string Step, string Column, double Microseconds, string? Error);

internal static class LatencyBreakdown
{
    /// <summary>Trains the set's one-call model on the suite's split and measures every part of its Predict.</summary>
    public static List<LatencyStep> Run(TabularSet set, IDataView data, LatencySettings settings, TextWriter log)
    {
        var mlContext = new MLContext(seed: 0);
        DataOperationsCatalog.TrainTestData split = mlContext.Data.TrainTestSplit(data, testFraction: 0.2, seed: 0);
        IDataView train = mlContext.Data.Cache(split.TrainSet), test = mlContext.Data.Cache(split.TestSet);
        ITransformer model = mlContext.Fff().Train(train, TabularSuite.LabelColumn);
        ITransformer[] steps = model is TransformerChain<ITransformer> chain ? chain.ToArray() : new[] { model };
        var results = new List<LatencyStep>();
        void Add(string step, Func<(string Column, double Micros)> measure)
        {
            LatencyStep line;
            try
            {
                (string column, double micros) = measure();
                line = new LatencyStep(set.Name, step, column, micros, null);
            }
            catch (Exception e)
            {
                log.WriteLine(e.ToString());
                line = new LatencyStep(set.Name, step, "", double.NaN, $"{e.GetType().Name}: {e.Message}");
            }
            log.WriteLine(FormatLine(line));
            results.Add(line);
        }

        // The timer's share of every line: an empty call timed as the calls below are.
        Add("timer: an empty call", () => ("", TabularSuite.MedianMicroseconds(_ => { }, settings)));
        // The floor: no transform at all, one Single input column read back.
        DataViewSchema.Column first = test.Schema.First(c => !c.IsHidden && c.Type == NumberDataViewType.Single && c.Name != TabularSuite.LabelColumn);
        Add("floor: identity engine (no transform)", () => (first.Name, TimeColumn(mlContext, new TransformerChain<ITransformer>(), test, first.Name, settings)));
        // Every input column read and written back into a row object (strings allocated): an upper bound on what ML.NET's row
        // plumbing costs any model that reads every column, before it computes anything.
        Add("floor: identity engine, every column read and written back", () => ("(all)", TimeAllColumns(mlContext, test, settings)));
        for (int k = 1; k <= steps.Length; k++)
        {
            var prefix = new TransformerChain<ITransformer>(steps.Take(k).ToArray());
            DataViewSchema output = prefix.GetOutputSchema(test.Schema);
            // What the step adds is appended last; the whole model (and any prefix that has it) is read as the suite reads it: Score.
            string column = output.GetColumnOrNull("Score") is { IsHidden: false } ? "Score" : output.Last(c => !c.IsHidden).Name;
            Add($"{k}: + {Describe(steps[k - 1])}", () => (column, TimeColumn(mlContext, prefix, test, column, settings)));
        }

        // The prediction transformer alone, on the features its input steps computed, and the network alone on the same vectors.
        int predictorIndex = Array.FindIndex(steps, s => s is ISingleFeaturePredictionTransformer<object>);
        if (predictorIndex >= 0)
        {
            var predictor = (ISingleFeaturePredictionTransformer<object>)steps[predictorIndex];
            IDataView featurized = new TransformerChain<ITransformer>(steps.Take(predictorIndex).ToArray()).Transform(test);
            string features = predictor.FeatureColumnName;
            float[][] vectors = ReadVectors(featurized, features);
            Add($"{Describe(predictor)} alone, on the feature vector", () => ("Score", TimeOnVectors(mlContext, predictor, features, vectors, settings)));
            Add("network alone: ScoreBatch of one row", () => ("(span)", TimeNetwork(predictor.Model, vectors, settings)));
        }
        return results;
    }

    public static string FormatLine(LatencyStep s) => s.Error != null
        ? $"| {s.Set} | {s.Step} | {s.Column} | error: {s.Error.Replace('|', '/').Replace('\n', ' ')} |"
        : $"| {s.Set} | {s.Step} | {s.Column} | {s.Microseconds.ToString("F3", CultureInfo.InvariantCulture)} |";

    public static string Table(IEnumerable<LatencyStep> steps)
    {
        var text = new StringBuilder();
        text.AppendLine("| set | pipeline up to | column read | per-row µs |");
        text.AppendLine("| --- | --- | --- | --- |");
        string? last = null;
        foreach (LatencyStep s in steps)
        {
            text.AppendLine(FormatLine(s with { Set = s.Set == last ? "" : s.Set }));
            last = s.Set;
        }
        return text.ToString().TrimEnd();
    }

    /// <summary>A step's type name without namespace and arity suffix, with its type arguments.</summary>
    private static string Describe(ITransformer step)
    {
        Type type = step.GetType();
        string name = type.Name.Split('`')[0];
        if (type.IsGenericType)
            name += "<" + string.Join(", ", type.GetGenericArguments().Select(t => t.Name.Split('`')[0])) + ">";
        return name;
    }

    private static double TimeColumn(MLContext mlContext, ITransformer model, IDataView test, string column, LatencySettings settings)
    {
        DataViewSchema.Column read = model.GetOutputSchema(test.Schema)[column];
        Type output = RowTypes.For(new[] { (column, OutputType(read)) });
        Type input = RowTypes.For(test.Schema);
        return Invoke(nameof(TimeEngine), new[] { input, output }, mlContext, model, test, settings);
    }

    private static double TimeAllColumns(MLContext mlContext, IDataView test, LatencySettings settings)
    {
        Type row = RowTypes.For(test.Schema);
        return Invoke(nameof(TimeEngine), new[] { row, row }, mlContext, new TransformerChain<ITransformer>(), test, settings);
    }

    private static Type OutputType(DataViewSchema.Column column) => column.Type switch
    {
        VectorDataViewType { ItemType: NumberDataViewType n } when n == NumberDataViewType.Single => typeof(float[]),
        NumberDataViewType n when n == NumberDataViewType.Single => typeof(float),
        BooleanDataViewType => typeof(bool),
        TextDataViewType => typeof(string),
        KeyDataViewType { RawType: var raw } when raw == typeof(uint) => typeof(uint),
        _ => throw new NotSupportedException($"Column '{column.Name}' ({column.Type}) cannot be read into a row class here."),
    };

    private static double TimeEngine<TIn, TOut>(MLContext mlContext, ITransformer model, IDataView test, LatencySettings settings)
        where TIn : class, new() where TOut : class, new()
    {
        TIn[] rows = mlContext.Data.CreateEnumerable<TIn>(test, reuseRowObject: false).Take(4096).ToArray();
        PredictionEngine<TIn, TOut> engine = mlContext.Model.CreatePredictionEngine<TIn, TOut>(model);
        return TabularSuite.MedianMicroseconds(i => engine.Predict(rows[i % rows.Length]), settings);
    }

    /// <summary>A feature vector as the prediction transformer reads it; the schema definition gives it the column's name and size.</summary>
    public sealed class FeatureRow
    {
        public float[] Features = Array.Empty<float>();
    }

    private static float[][] ReadVectors(IDataView featurized, string column)
    {
        var vectors = new List<float[]>();
        using DataViewRowCursor cursor = featurized.GetRowCursor(new[] { featurized.Schema[column] });
        ValueGetter<VBuffer<float>> getter = cursor.GetGetter<VBuffer<float>>(featurized.Schema[column]);
        VBuffer<float> value = default;
        while (vectors.Count < 4096 && cursor.MoveNext())
        {
            getter(ref value);
            vectors.Add(value.DenseValues().ToArray());
        }
        return vectors.ToArray();
    }

    private static double TimeOnVectors(MLContext mlContext, ITransformer predictor, string column, float[][] vectors, LatencySettings settings)
    {
        SchemaDefinition definition = SchemaDefinition.Create(typeof(FeatureRow));
        SchemaDefinition.Column features = definition[nameof(FeatureRow.Features)];
        features.ColumnName = column;
        features.ColumnType = new VectorDataViewType(NumberDataViewType.Single, vectors[0].Length);
        FeatureRow[] rows = vectors.Select(v => new FeatureRow { Features = v }).ToArray();
        Type output = predictor.GetOutputSchema(mlContext.Data.LoadFromEnumerable(rows, definition).Schema)["Score"].Type is VectorDataViewType
            ? typeof(VectorScore) : typeof(ScalarScore);
        return Invoke(nameof(TimeFeatureEngine), new[] { output }, mlContext, predictor, rows, definition, settings);
    }

    private static double TimeFeatureEngine<TOut>(MLContext mlContext, ITransformer predictor, FeatureRow[] rows, SchemaDefinition definition, LatencySettings settings)
        where TOut : class, new()
    {
        PredictionEngine<FeatureRow, TOut> engine = mlContext.Model.CreatePredictionEngine<FeatureRow, TOut>(predictor, inputSchemaDefinition: definition);
        return TabularSuite.MedianMicroseconds(i => engine.Predict(rows[i % rows.Length]), settings);
    }

    private static double TimeNetwork(object model, float[][] vectors, LatencySettings settings)
    {
        (int outputs, Action<float[], float[]> score) = model switch
        {
            FffModelParametersBase<float> m => (m.OutputCount, new Action<float[], float[]>((x, y) => m.ScoreBatch(x, y))),
            FffModelParametersBase<VBuffer<float>> m => (m.OutputCount, (x, y) => m.ScoreBatch(x, y)),
            _ => throw new NotSupportedException($"{model.GetType().Name} is not an FFF model."),
        };
        var scores = new float[outputs];
        return TabularSuite.MedianMicroseconds(i => score(vectors[i % vectors.Length], scores), settings);
    }

    private static double Invoke(string method, Type[] typeArguments, params object[] arguments)
    {
        MethodInfo generic = typeof(LatencyBreakdown).GetMethod(method, BindingFlags.NonPublic | BindingFlags.Static)!.MakeGenericMethod(typeArguments);
        try
        {
            return (double)generic.Invoke(null, arguments)!;
        }
        catch (TargetInvocationException e) when (e.InnerException != null)
        {
            System.Runtime.ExceptionServices.ExceptionDispatchInfo.Capture(e.InnerException).Throw();
            throw;
        }
    }
}
