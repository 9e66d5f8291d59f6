using System.Collections.Generic;
using System.Linq;
using BenchmarkDotNet.Attributes;
using Microsoft.ML;

namespace MlNetFff.Benchmarks;

/// <summary>One training epoch (TorchSharp, CPU) over the benchmark's training rows, data loading included.</summary>
public class TrainingEpochBenchmarks
{
    private MLContext _mlContext = null!;
    private IDataView _data = null!;

    /// <summary>The model.</summary>
    [ParamsSource(nameof(Models))]
    public ModelKind Model { get; set; }

    /// <summary>The models benchmarked.</summary>
    public static IEnumerable<ModelKind> Models => BenchmarkModels.NeuralModels;

    /// <summary>The training width (1,024 and 4,096; the smallest in smoke mode).</summary>
    [ParamsSource(nameof(Widths))]
    public int Width { get; set; }

    /// <summary>The widths benchmarked.</summary>
    public static IEnumerable<int> Widths => BenchmarkModels.Smoke ? new[] { 512 } : new[] { 1024, 4096 }.Where(w => BenchmarkModels.OnlyWidths == null || BenchmarkModels.OnlyWidths.Contains(w));

    /// <summary>Loads the training rows once.</summary>
    [GlobalSetup]
    public void Setup()
    {
        _mlContext = new MLContext(seed: 0);
        _data = _mlContext.Data.Cache(BenchmarkModels.TrainingView(_mlContext));
    }

    /// <summary>Fits the trainer for one epoch.</summary>
    [Benchmark]
    public ITransformer OneEpoch() => BenchmarkModels.Trainer(_mlContext, Model, Width, epochs: 1).Fit(_data);
}

/// <summary>LightGBM's whole default training on the same rows (it has no epochs), for scale.</summary>
public class LightGbmTrainingBenchmarks
{
    private MLContext _mlContext = null!;
    private IDataView _data = null!;

    /// <summary>Loads the training rows once.</summary>
    [GlobalSetup]
    public void Setup()
    {
        _mlContext = new MLContext(seed: 0);
        _data = _mlContext.Data.Cache(BenchmarkModels.TrainingView(_mlContext));
    }

    /// <summary>Fits LightGBM with its defaults.</summary>
    [Benchmark]
    public ITransformer DefaultTraining() => BenchmarkModels.Trainer(_mlContext, ModelKind.LightGbm, 0, epochs: 1).Fit(_data);
}
