using System;
using System.Linq;
using BenchmarkDotNet.Attributes;
using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Fff;
using Microsoft.ML.Fff.FastFeedForward;

namespace MlNetFff.Benchmarks;

/// <summary>
/// What <c>ClampToTrainingRange</c> (on by default) adds to a table row: a `Train`-shaped FFF (depth 2 x leaf 32, one output) on
/// 8 to 20 inputs, trained with the clamp on and off (the same network), each row scored through the public span API.
/// </summary>
public class ClampBenchmarks
{
    private const int RowsPerInvoke = 256;

    private FffRegressionModelParameters _parameters = null!;
    private float[] _flat = null!;
    private readonly float[] _score = new float[1];

    /// <summary>Inputs per row: a multiple of 8, one more, and the widths of two of the suite's tables.</summary>
    [Params(8, 9, 12, 20)]
    public int Inputs { get; set; }

    /// <summary>The option under test.</summary>
    [Params(false, true)]
    public bool Clamp { get; set; }

    /// <summary>Trains the model on seeded rows in [-1, 1] (two epochs: scoring cost does not depend on training) and draws the rows to score.</summary>
    [GlobalSetup]
    public void Setup()
    {
        var mlContext = new MLContext(seed: 1);
        var random = new Random(3);
        var rows = Enumerable.Range(0, 2000).Select(_ =>
        {
            float[] x = Enumerable.Range(0, Inputs).Select(_ => (float)(random.NextDouble() * 2 - 1)).ToArray();
            return new Row { Features = x, Label = x.Sum() };
        }).ToList();
        SchemaDefinition schema = SchemaDefinition.Create(typeof(Row));
        schema[nameof(Row.Features)].ColumnType = new VectorDataViewType(NumberDataViewType.Single, Inputs);
        IDataView data = mlContext.Data.LoadFromEnumerable(rows, schema);
        var options = new FastFeedForwardRegressionTrainer.Options
        {
            Depth = 2, LeafWidth = 32, NumberOfEpochs = 2, Seed = 1, NumberOfThreads = 1, ClampToTrainingRange = Clamp,
        };
        _parameters = mlContext.Regression.Trainers.FastFeedForward(options).Fit(data).Model;
        // Rows a little wider than the training range, so some values are clamped.
        _flat = Enumerable.Range(0, RowsPerInvoke * Inputs).Select(_ => (float)(random.NextDouble() * 2.4 - 1.2)).ToArray();
    }

    /// <summary>One row through <c>FffRegressionModelParameters.ScoreBatch</c>.</summary>
    [Benchmark(OperationsPerInvoke = RowsPerInvoke)]
    public float ScoreRow() => ScoreOneByOne(_parameters, _flat, Inputs, RowsPerInvoke, _score);

    /// <summary>Scores <paramref name="rows"/> rows of <paramref name="flat"/> one at a time through the public span API; the sum keeps the JIT from dropping the calls.</summary>
    internal static float ScoreOneByOne(FffRegressionModelParameters parameters, float[] flat, int inputs, int rows, float[] score)
    {
        float sum = 0;
        for (int r = 0; r < rows; r++)
        {
            parameters.ScoreBatch(flat.AsSpan(r * inputs, inputs), score);
            sum += score[0];
        }
        return sum;
    }

    /// <summary>A training row.</summary>
    public sealed class Row
    {
        /// <summary>The features.</summary>
        public float[] Features { get; set; } = Array.Empty<float>();

        /// <summary>The label.</summary>
        public float Label { get; set; }
    }
}
