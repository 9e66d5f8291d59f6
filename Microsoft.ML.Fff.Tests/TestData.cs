using System;
using System.Collections.Generic;
using System.Linq;
using Microsoft.ML.Data;

namespace Microsoft.ML.Fff.Tests;

/// <summary>Small seeded data for tests: the embedded real data sets and synthetic tables.</summary>
internal static class TestData
{
    public sealed class VectorRow<TLabel>
    {
        public float[] Features { get; set; } = Array.Empty<float>();

        public TLabel Label { get; set; } = default!;

        public float Weight { get; set; } = 1;
    }

    /// <summary>Builds an IDataView with a known-size Features vector, a label and a Weight column.</summary>
    public static IDataView Table<TLabel>(MLContext mlContext, IEnumerable<VectorRow<TLabel>> rows, int width)
    {
        SchemaDefinition schema = SchemaDefinition.Create(typeof(VectorRow<TLabel>));
        schema[nameof(VectorRow<TLabel>.Features)].ColumnType = new VectorDataViewType(NumberDataViewType.Single, width);
        return mlContext.Data.LoadFromEnumerable(rows.ToList(), schema);
    }

    /// <summary>Seeded synthetic rows: Gaussian features, a label that a small network can learn.</summary>
    public static List<VectorRow<TLabel>> Synthetic<TLabel>(int count, int width, int seed, Func<float[], TLabel> label)
    {
        var random = new Random(seed);
        var rows = new List<VectorRow<TLabel>>(count);
        for (int i = 0; i < count; i++)
        {
            var x = new float[width];
            for (int j = 0; j < width; j++)
                x[j] = (float)(random.NextDouble() * 2 - 1);
            rows.Add(new VectorRow<TLabel> { Features = x, Label = label(x) });
        }
        return rows;
    }

    public static IDataView BinaryData(MLContext mlContext, int count = 300, int width = 6, int seed = 1)
        => Table(mlContext, Synthetic(count, width, seed, x => x[0] + 0.5f * x[1] * x[2] > 0), width);

    public static IDataView RegressionData(MLContext mlContext, int count = 300, int width = 6, int seed = 2)
        => Table(mlContext, Synthetic(count, width, seed, x => 2 * x[0] - x[1] + MathF.Sin(3 * x[2])), width);

    /// <summary>Three classes by region; the label is a key after <see cref="MulticlassPrefix"/>.</summary>
    public static IDataView MulticlassData(MLContext mlContext, int count = 300, int width = 6, int seed = 3)
        => Table(mlContext, Synthetic(count, width, seed, x => x[0] > 0.3f ? "a" : x[1] > 0 ? "b" : "c"), width);

    public static IEstimator<ITransformer> MulticlassPrefix(MLContext mlContext) => mlContext.Transforms.Conversion.MapValueToKey("Label");
}

/// <summary>A row of the digits sample data (8 x 8 pixels, label 0-9), for tests that read or build digits rows.</summary>
internal sealed class DigitsRow
{
    [VectorType(64)]
    public float[] Features { get; set; } = Array.Empty<float>();

    public float Label { get; set; }
}
