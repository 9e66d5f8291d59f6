using System;
using System.Collections.Generic;
using System.Linq;
using System.Numerics.Tensors;
using System.Threading.Tasks;
using BenchmarkDotNet.Attributes;
using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Fff;

namespace MlNetFff.Benchmarks;

/// <summary>A <c>PredictionEngine</c> over a model and <see cref="PerRowLatencyBenchmarks.RowsPerInvoke"/> different rows to predict.</summary>
internal sealed class EnginePass
{
    private readonly PredictionEngine<PixelRow, DigitPrediction> _engine;
    private readonly PixelRow[] _rows;
    private DigitPrediction _prediction = new();

    public EnginePass(ITransformer model, float[] flat)
    {
        _engine = new MLContext(seed: 0).Model.CreatePredictionEngine<PixelRow, DigitPrediction>(model);
        _rows = Enumerable.Range(0, flat.Length / BenchmarkModels.Inputs)
            .Select(r => new PixelRow { Features = flat.AsSpan(r * BenchmarkModels.Inputs, BenchmarkModels.Inputs).ToArray() })
            .ToArray();
        _engine.Predict(_rows[0], ref _prediction);
    }

    /// <summary>Every row through <c>Predict(row, ref prediction)</c>, the prediction object reused.</summary>
    public uint PredictAll()
    {
        uint sum = 0;
        for (int r = 0; r < _rows.Length; r++)
        {
            _engine.Predict(_rows[r], ref _prediction);
            sum += _prediction.PredictedLabel;
        }
        return sum;
    }
}

/// <summary>The parameters of the benchmarks that run every neural model at every width.</summary>
public abstract class NeuralModelBenchmark
{
    /// <summary>The model.</summary>
    [ParamsSource(nameof(Models))]
    public ModelKind Model { get; set; }

    /// <summary>The models benchmarked.</summary>
    public static IEnumerable<ModelKind> Models => BenchmarkModels.NeuralModels;

    /// <summary>The training width (hidden neurons trained).</summary>
    [ParamsSource(nameof(Widths))]
    public int Width { get; set; }

    /// <summary>The widths benchmarked.</summary>
    public static IEnumerable<int> Widths => BenchmarkModels.Widths;
}

/// <summary>Per-row latency: ML.NET's <c>PredictionEngine</c> and the network alone (the public one-row span API).</summary>
[MemoryDiagnoser]
public class PerRowLatencyBenchmarks : NeuralModelBenchmark
{
    /// <summary>Rows scored per benchmark invocation (different rows, so FFF and MoE visit many leaves and experts).</summary>
    public const int RowsPerInvoke = 256;

    private EnginePass _engine = null!;
    private FffMulticlassModelParameters _parameters = null!;
    private float[] _flat = null!;
    private readonly float[] _scores = new float[BenchmarkModels.Classes];

    /// <summary>Trains (once per process) and wraps the model.</summary>
    [GlobalSetup]
    public void Setup()
    {
        ITransformer model = BenchmarkModels.Model(Model, Width);
        _parameters = BenchmarkModels.Parameters(model);
        _flat = BenchmarkModels.ScoringRows(RowsPerInvoke);
        _engine = new EnginePass(model, _flat);
    }

    /// <summary>One row through <c>PredictionEngine.Predict(row, ref prediction)</c> (the prediction object reused).</summary>
    [Benchmark(OperationsPerInvoke = RowsPerInvoke)]
    public uint PredictionEngine() => _engine.PredictAll();

    /// <summary>One row through the model parameters' span API: the network and the softmax, no ML.NET.</summary>
    [Benchmark(OperationsPerInvoke = RowsPerInvoke)]
    public float NetworkOnly()
    {
        float sum = 0;
        int inputs = BenchmarkModels.Inputs;
        for (int r = 0; r < RowsPerInvoke; r++)
        {
            _parameters.ScoreBatch(_flat.AsSpan(r * inputs, inputs), _scores);
            sum += _scores[0];
        }
        return sum;
    }
}

/// <summary>
/// The memory/arithmetic floor of one FFF row: a single <see cref="TensorPrimitives.Dot(ReadOnlySpan{float}, ReadOnlySpan{float})"/>
/// pass over as many weights as the FFF of that width touches per row (depth node vectors, a leaf's 16 input and output
/// weight rows), taken at a different place of a weight array as large as that FFF's for every row, as the descent does.
/// </summary>
public class DotFloorBenchmarks
{
    private float[] _pool = null!;
    private float[] _x = null!;
    private int[] _offsets = null!;

    /// <summary>The FFF training width whose touched weights are summed.</summary>
    [ParamsSource(nameof(Widths))]
    public int Width { get; set; }

    /// <summary>The widths benchmarked.</summary>
    public static IEnumerable<int> Widths => BenchmarkModels.Widths;

    /// <summary>Weights one FFF row touches at this width.</summary>
    public static int TouchedWeights(int width)
    {
        int depth = (int)Math.Round(Math.Log2(width / (double)BenchmarkModels.LeafWidth));
        return (depth + BenchmarkModels.LeafWidth) * BenchmarkModels.Inputs + BenchmarkModels.LeafWidth * BenchmarkModels.Classes;
    }

    /// <summary>Allocates the weight pool (the size of the FFF's weights) and the row offsets.</summary>
    [GlobalSetup]
    public void Setup()
    {
        int touched = TouchedWeights(Width);
        int depth = (int)Math.Round(Math.Log2(Width / (double)BenchmarkModels.LeafWidth));
        long total = ((1L << depth) - 1) * BenchmarkModels.Inputs + (long)Width * (BenchmarkModels.Inputs + BenchmarkModels.Classes);
        var random = new Random(0);
        _pool = new float[total];
        for (int i = 0; i < _pool.Length; i++)
            _pool[i] = (float)random.NextDouble();
        _x = Enumerable.Range(0, touched).Select(_ => (float)random.NextDouble()).ToArray();
        _offsets = Enumerable.Range(0, PerRowLatencyBenchmarks.RowsPerInvoke)
            .Select(_ => (int)(random.NextInt64(total - touched) / 16 * 16))
            .ToArray();
    }

    /// <summary>One dot product over the touched number of weights (the second operand is as long, so it streams too).</summary>
    [Benchmark(OperationsPerInvoke = PerRowLatencyBenchmarks.RowsPerInvoke)]
    public float TouchedWeightsDot()
    {
        float sum = 0;
        foreach (int offset in _offsets)
            sum += TensorPrimitives.Dot(_pool.AsSpan(offset, _x.Length), _x);
        return sum;
    }

    /// <summary>
    /// The stricter floor: the same weights as 784-long dot products with one row-sized vector that stays in L1, as the FFF
    /// does (the 16 x 10 output weights as one more dot product).
    /// </summary>
    [Benchmark(OperationsPerInvoke = PerRowLatencyBenchmarks.RowsPerInvoke)]
    public float TouchedWeightsRowDots()
    {
        int inputs = BenchmarkModels.Inputs, outputs = BenchmarkModels.LeafWidth * BenchmarkModels.Classes;
        ReadOnlySpan<float> x = _x.AsSpan(0, inputs);
        float sum = 0;
        foreach (int offset in _offsets)
        {
            int end = offset + _x.Length - outputs;
            for (int at = offset; at < end; at += inputs)
                sum += TensorPrimitives.Dot(_pool.AsSpan(at, inputs), x);
            sum += TensorPrimitives.Dot(_pool.AsSpan(end, outputs), _x.AsSpan(0, outputs));
        }
        return sum;
    }
}

/// <summary>
/// Batch throughput on many rows, all multi-threaded: the public span batch API (FFF and MoE: rows grouped by leaf or
/// expert), ML.NET <c>Transform</c> read through parallel cursors (one-row path per row), and <c>Transform</c> of the
/// model wrapped for batch scoring (grouped, block by block).
/// </summary>
[MemoryDiagnoser]
public class BatchThroughputBenchmarks : NeuralModelBenchmark
{
    private FffMulticlassModelParameters _parameters = null!;
    private ITransformer _model = null!;
    private ITransformer _batched = null!;
    private IDataView _view = null!;
    private float[] _flat = null!;
    private float[] _scores = null!;

    /// <summary>Rows per batch (10,000; 512 in smoke mode).</summary>
    public static int Rows => BenchmarkModels.Smoke ? 512 : 10_000;

    /// <summary>Trains (once per process) and prepares the batch.</summary>
    [GlobalSetup]
    public void Setup()
    {
        _model = BenchmarkModels.Model(Model, Width);
        _batched = new MLContext(seed: 0).Fff().WithBatchScoring(_model);
        _parameters = BenchmarkModels.Parameters(_model);
        _flat = BenchmarkModels.ScoringRows(Rows);
        _scores = new float[Rows * BenchmarkModels.Classes];
        _view = TransformInput(_flat, Rows);
    }

    /// <summary>An IDataView of the rows for <c>Transform</c>.</summary>
    internal static IDataView TransformInput(float[] flat, int rows)
    {
        var items = Enumerable.Range(0, rows)
            .Select(r => new PixelRow { Features = flat.AsSpan(r * BenchmarkModels.Inputs, BenchmarkModels.Inputs).ToArray() })
            .ToArray();
        return new MLContext(seed: 0).Data.LoadFromEnumerable(items);
    }

    /// <summary>All rows through <see cref="FffModelParametersBase{TOutput}.ScoreBatch"/>.</summary>
    [Benchmark]
    public float ScoreBatch()
    {
        _parameters.ScoreBatch(_flat, _scores);
        return _scores[0];
    }

    /// <summary>All rows through <c>Transform</c>, reading the Score column.</summary>
    [Benchmark]
    public float Transform() => ConsumeScores(_model.Transform(_view));

    /// <summary>
    /// All rows through <c>Transform</c> of the model wrapped by <c>mlContext.Fff().WithBatchScoring</c>: blocks of rows
    /// read ahead and scored by the grouped batch kernels (one cursor; each block spread over the cores).
    /// </summary>
    [Benchmark]
    public float BatchedTransform() => ConsumeScores(_batched.Transform(_view));

    /// <summary>
    /// Reads every row's Score through a parallel cursor set (<c>GetRowCursorSet</c>, one cursor per core, each drained on
    /// its own thread): how a multi-threaded consumer scores an IDataView. ML.NET splits the rows over the cursors; the
    /// model scores each row with its one-row path. (A plain <c>GetRowCursor</c> runs single-threaded on a 2-core machine:
    /// ML.NET only consolidates parallel cursors when it has more cores to spare.)
    /// </summary>
    internal static float ConsumeScores(IDataView scored)
    {
        DataViewSchema.Column score = scored.Schema["Score"];
        DataViewRowCursor[] cursors = scored.GetRowCursorSet(new[] { score }, Environment.ProcessorCount);
        var sums = new float[cursors.Length];
        try
        {
            Parallel.For(0, cursors.Length, c =>
            {
                ValueGetter<VBuffer<float>> getter = cursors[c].GetGetter<VBuffer<float>>(score);
                VBuffer<float> value = default;
                while (cursors[c].MoveNext())
                {
                    getter(ref value);
                    sums[c] += value.GetValues()[0];
                }
            });
        }
        finally
        {
            foreach (DataViewRowCursor cursor in cursors)
                cursor.Dispose();
        }
        return sums.Sum();
    }
}

/// <summary>ML.NET LightGBM (default options, trained once on the same data): per-row latency and batch <c>Transform</c>.</summary>
[MemoryDiagnoser]
public class LightGbmBenchmarks
{
    private EnginePass _engine = null!;
    private ITransformer _model = null!;
    private IDataView _view = null!;

    /// <summary>Trains (once per process) and wraps the model.</summary>
    [GlobalSetup]
    public void Setup()
    {
        _model = BenchmarkModels.Model(ModelKind.LightGbm, 0);
        _engine = new EnginePass(_model, BenchmarkModels.ScoringRows(PerRowLatencyBenchmarks.RowsPerInvoke));
        _view = BatchThroughputBenchmarks.TransformInput(BenchmarkModels.ScoringRows(BatchThroughputBenchmarks.Rows), BatchThroughputBenchmarks.Rows);
    }

    /// <summary>One row through <c>PredictionEngine.Predict(row, ref prediction)</c>.</summary>
    [Benchmark(OperationsPerInvoke = PerRowLatencyBenchmarks.RowsPerInvoke)]
    public uint PredictionEngine() => _engine.PredictAll();

    /// <summary>The batch through <c>Transform</c>, reading the Score column.</summary>
    [Benchmark]
    public float Transform() => BatchThroughputBenchmarks.ConsumeScores(_model.Transform(_view));
}
