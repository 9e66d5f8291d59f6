using System;
using System.Collections.Generic;
using System.Linq;
using BenchmarkDotNet.Attributes;
using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Fff;
using Microsoft.ML.Fff.FastFeedForward;

namespace MlNetFff.Benchmarks;

/// <summary>
/// What <c>RepeatedRowOffsets</c> (on in <c>Fff().Train</c> for tables) adds to a table row: a `Train`-shaped FFF (depth 2 x leaf 32,
/// one output) on 9 inputs, trained on panel rows (each distinct row twice, with an effect of its own) with the option off and on,
/// each row scored through the public span API. The rows scored either repeat a training row (the lookup finds it and adds its
/// offset) or are new (the lookup misses). The tables hold about randhie's 2,689 rows, or 25,000 rows (225,000 values, near the
/// 262,144 of a table that stores every distinct row).
/// </summary>
public class RepeatedRowBenchmarks
{
    private const int RowsPerInvoke = 256;
    private const int Inputs = 9;

    private FffRegressionModelParameters _parameters = null!;
    private float[] _flat = null!;
    private readonly float[] _score = new float[1];

    /// <summary>Distinct training rows (each seen twice).</summary>
    [Params(2_000, 25_000)]
    public int Distinct { get; set; }

    /// <summary>The option under test.</summary>
    [Params(false, true)]
    public bool Offsets { get; set; }

    /// <summary>Whether the scored rows repeat training rows (true) or are new (false).</summary>
    [Params(true, false)]
    public bool Repeated { get; set; }

    /// <summary>Trains the model (two epochs: scoring cost does not depend on training) and draws the rows to score.</summary>
    [GlobalSetup]
    public void Setup()
    {
        var mlContext = new MLContext(seed: 1);
        var random = new Random(3);
        var seen = new HashSet<string>();
        var distinct = new List<float[]>();
        // Smoke mode (the test suite): a few hundred rows, so every case trains in a moment.
        int count = BenchmarkModels.Smoke ? Math.Min(Distinct, 300) : Distinct;
        while (distinct.Count < count)
        {
            float[] x = Enumerable.Range(0, Inputs).Select(_ => (float)random.Next(12)).ToArray();
            if (seen.Add(string.Join(",", x)))
                distinct.Add(x);
        }
        float[] effects = distinct.Select(_ => (float)(random.NextDouble() * 4 - 2)).ToArray();
        var rows = Enumerable.Range(0, 2 * count).Select(i => new ClampBenchmarks.Row
        {
            Features = distinct[i % count],
            Label = distinct[i % count].Sum() / Inputs + effects[i % count] + (float)(random.NextDouble() - 0.5),
        }).ToList();
        SchemaDefinition schema = SchemaDefinition.Create(typeof(ClampBenchmarks.Row));
        schema[nameof(ClampBenchmarks.Row.Features)].ColumnType = new VectorDataViewType(NumberDataViewType.Single, Inputs);
        IDataView data = mlContext.Data.LoadFromEnumerable(rows, schema);
        var options = new FastFeedForwardRegressionTrainer.Options
        {
            Depth = 2, LeafWidth = 32, NumberOfEpochs = 2, Seed = 1, NumberOfThreads = 1, RepeatedRowOffsets = Offsets,
        };
        _parameters = mlContext.Regression.Trainers.FastFeedForward(options).Fit(data).Model;
        if (Offsets && !_parameters.Description.Contains("offsets for", StringComparison.Ordinal))
            throw new InvalidOperationException($"The offsets were not kept ({_parameters.Description}): the benchmark would measure the bare network.");
        // Repeated: training rows in a random order; new: values of the same range that no training row has (a 13 in slot 0).
        _flat = Enumerable.Range(0, RowsPerInvoke).SelectMany(_ =>
        {
            float[] x = (float[])distinct[random.Next(count)].Clone();
            if (!Repeated)
                x[0] = 13;
            return x;
        }).ToArray();
    }

    /// <summary>One row through <c>FffRegressionModelParameters.ScoreBatch</c>.</summary>
    [Benchmark(OperationsPerInvoke = RowsPerInvoke)]
    public float ScoreRow() => ClampBenchmarks.ScoreOneByOne(_parameters, _flat, Inputs, RowsPerInvoke, _score);
}
