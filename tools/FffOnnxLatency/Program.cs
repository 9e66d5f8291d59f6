using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.IO;
using System.Linq;
using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Fff;
using Microsoft.ML.OnnxRuntime;
using MlNetFff.Benchmarks;

// Per-row and batch latency of one model (MNIST-shaped, 784 -> 10, one epoch, as in benchmarks/MlNetFff.Benchmarks)
// scored by ONNX Runtime from its ConvertToOnnx export and by the library's C# scorer (ScoreBatch, the span API).
//   dotnet run --project tools/FffOnnxLatency -c Release -- [--model Fff|Moe|Dense] [--width 4096] [--rows 10000] [--save model.onnx]
string kindName = Option("--model", "Fff");
int width = int.Parse(Option("--width", "4096"));
int batchRows = int.Parse(Option("--rows", "10000"));
var kind = Enum.Parse<ModelKind>(kindName, ignoreCase: true);

ITransformer model = BenchmarkModels.Model(kind, width);
FffMulticlassModelParameters parameters = BenchmarkModels.Parameters(model);
var mlContext = new MLContext(seed: 0);
IDataView input = mlContext.Data.LoadFromEnumerable(new[] { new PixelRow { Features = new float[BenchmarkModels.Inputs] } });
byte[] onnx;
using (var stream = new MemoryStream())
{
    mlContext.Model.ConvertToOnnx(model, input, stream);
    onnx = stream.ToArray();
}
if (Array.IndexOf(args, "--save") >= 0)
    File.WriteAllBytes(Option("--save", "model.onnx"), onnx);
const int Inputs = BenchmarkModels.Inputs, Classes = BenchmarkModels.Classes;
float[] rows = BenchmarkModels.ScoringRows(batchRows);
Console.WriteLine($"{BenchmarkModels.DataDescription}; model {parameters.Description}; ONNX {onnx.Length / 1024} KiB; "
    + $"{Environment.ProcessorCount} cores; ONNX Runtime {OrtEnv.Instance().GetVersionString()}");

using var options = new SessionOptions { GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL };
using var session = new InferenceSession(onnx, options);
// One intra-op thread: no hand-off between threads for a single row.
using var serialOptions = new SessionOptions { GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL, IntraOpNumThreads = 1 };
using var serialSession = new InferenceSession(onnx, serialOptions);
string[] outputNames = { "Score.output" };
using var runOptions = new RunOptions();

// ONNX Runtime: one Run over rows [first, first + count), through OrtValues over pinned managed arrays (no copies).
var scores = new float[batchRows * Classes];
float[] OnnxRun(int first, int count, InferenceSession? with = null)
{
    var x = new float[count * Inputs];
    Array.Copy(rows, first * Inputs, x, 0, x.Length);
    using OrtValue features = OrtValue.CreateTensorValueFromMemory(x, new long[] { count, Inputs });
    using IDisposableReadOnlyCollection<OrtValue> results = (with ?? session).Run(runOptions, new[] { "Features" }, new[] { features }, outputNames);
    return results[0].GetTensorDataAsSpan<float>().ToArray();
}

// Same scores first (the tests check this for every kind; here for the benchmarked model too).
float[] reference = new float[batchRows * Classes];
parameters.ScoreBatch(rows, reference);
float[] fromOnnx = OnnxRun(0, batchRows);
float worst = reference.Zip(fromOnnx, (a, b) => Math.Abs(a - b)).Max();
Console.WriteLine($"max |ONNX Runtime - C#| over {batchRows} rows: {worst:E2}");

// Per row: 2,000 rows one at a time (after 500 warm-up rows), median of 5 passes; microseconds per row.
double PerRow(Action<int> scoreRow)
{
    for (int r = 0; r < 500; r++)
        scoreRow(r % batchRows);
    var passes = new List<double>();
    for (int pass = 0; pass < 5; pass++)
    {
        var watch = Stopwatch.StartNew();
        for (int r = 0; r < 2000; r++)
            scoreRow((r * 13) % batchRows);
        passes.Add(watch.Elapsed.TotalMicroseconds / 2000);
    }
    return passes.OrderBy(t => t).ElementAt(2);
}

// Batch: all rows in one call, median of 5 (after one warm-up); milliseconds per batch.
double Batch(Action score)
{
    score();
    var passes = new List<double>();
    for (int pass = 0; pass < 5; pass++)
    {
        var watch = Stopwatch.StartNew();
        score();
        passes.Add(watch.Elapsed.TotalMilliseconds);
    }
    return passes.OrderBy(t => t).ElementAt(2);
}

var one = new float[Classes];
double csharpRow = PerRow(r => parameters.ScoreBatch(rows.AsSpan(r * Inputs, Inputs), one));
var engine = mlContext.Model.CreatePredictionEngine<PixelRow, DigitPrediction>(model);
var pixel = new PixelRow { Features = new float[Inputs] };
var prediction = new DigitPrediction();
double engineRow = PerRow(r =>
{
    Array.Copy(rows, r * Inputs, pixel.Features, 0, Inputs);
    engine.Predict(pixel, ref prediction);
});
double onnxRow = PerRow(r => OnnxRun(r, 1));
double onnxSerialRow = PerRow(r => OnnxRun(r, 1, serialSession));
double csharpBatch = Batch(() => parameters.ScoreBatch(rows, scores));
double onnxBatch = Batch(() => OnnxRun(0, batchRows));

Console.WriteLine();
Console.WriteLine("| scorer | per row (µs, median) | batch of " + batchRows.ToString("N0") + " rows (ms, median) | batch rows/s |");
Console.WriteLine("| --- | --- | --- | --- |");
Console.WriteLine($"| C# ScoreBatch (span API) | {csharpRow:F2} | {csharpBatch:F1} | {batchRows / csharpBatch * 1000:N0} |");
Console.WriteLine($"| ML.NET PredictionEngine (C# scorer) | {engineRow:F2} | | |");
Console.WriteLine($"| ONNX Runtime (InferenceSession.Run, default threads) | {onnxRow:F2} | {onnxBatch:F1} | {batchRows / onnxBatch * 1000:N0} |");
Console.WriteLine($"| ONNX Runtime, IntraOpNumThreads = 1 | {onnxSerialRow:F2} | | |");

string Option(string name, string fallback)
{
    int at = Array.IndexOf(args, name);
    return at >= 0 && at + 1 < args.Length ? args[at + 1] : fallback;
}
