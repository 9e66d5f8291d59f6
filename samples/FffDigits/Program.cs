// Trains a fast feedforward network on the embedded digits data (80/20 split, seed 0), then reports
// hard-descent test accuracy, the soft/hard gap and the median per-row PredictionEngine latency.
using System;
using System.Diagnostics;
using System.IO;
using System.Linq;
using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Fff;
using Microsoft.ML.Fff.FastFeedForward;

var mlContext = new MLContext(seed: 0);
IDataView data = mlContext.Fff().SampleData.Digits();
DataOperationsCatalog.TrainTestData split = mlContext.Data.TrainTestSplit(data, testFraction: 0.2, seed: 0);

var options = new FastFeedForwardMulticlassTrainer.Options
{
    Depth = args.Length > 0 ? int.Parse(args[0]) : FffDefaults.Depth,
    LeafWidth = args.Length > 1 ? int.Parse(args[1]) : FffDefaults.LeafWidth,
    NumberOfEpochs = args.Length > 2 ? int.Parse(args[2]) : FffDefaults.NumberOfEpochs,
};
var pipeline = mlContext.Transforms.Conversion.MapValueToKey("Label")
    .Append(mlContext.MulticlassClassification.Trainers.FastFeedForward(options))
    .Append(mlContext.Transforms.Conversion.MapKeyToValue("PredictedLabel"));

var clock = Stopwatch.StartNew();
var model = pipeline.Fit(split.TrainSet);
Console.WriteLine($"Trained depth {options.Depth} x leaf width {options.LeafWidth}, {options.NumberOfEpochs} epochs in {clock.Elapsed.TotalSeconds:F1} s");

IDataView scored = model.Transform(split.TestSet);
MulticlassClassificationMetrics metrics = mlContext.MulticlassClassification.Evaluate(scored);
Console.WriteLine($"Hard-descent test accuracy: {metrics.MicroAccuracy:F4}");
FffSoftHardGap gap = mlContext.Fff().EvaluateSoftHardGap(model, split.TestSet);
Console.WriteLine($"Soft/hard gap on the test set: soft {gap.SoftMetric:F4} - hard {gap.HardMetric:F4} = {gap.Gap:+0.0000;-0.0000;0.0000} " +
                  $"(the two passes agree on {gap.Agreement:P1} of {gap.RowCount} rows)");

string modelPath = Path.Combine("artifacts", "digits-fff.zip");
Directory.CreateDirectory("artifacts");
mlContext.Model.Save(model, split.TrainSet.Schema, modelPath);
Console.WriteLine($"Saved the model to {modelPath} (score it without libtorch: dotnet run --project samples/FffScoringOnly)");

var engine = mlContext.Model.CreatePredictionEngine<DigitRow, DigitPrediction>(model);
DigitRow[] rows = mlContext.Data.CreateEnumerable<DigitRow>(split.TestSet, reuseRowObject: false).ToArray();
var prediction = new DigitPrediction();
for (int i = 0; i < 200; i++)
    engine.Predict(rows[i % rows.Length], ref prediction);
var latencies = new double[rows.Length * 5];
for (int i = 0; i < latencies.Length; i++)
{
    long start = Stopwatch.GetTimestamp();
    engine.Predict(rows[i % rows.Length], ref prediction);
    latencies[i] = Stopwatch.GetElapsedTime(start).TotalMicroseconds;
}
Array.Sort(latencies);
Console.WriteLine($"Median per-row PredictionEngine latency: {latencies[latencies.Length / 2]:F2} us ({latencies.Length} predictions)");

internal sealed class DigitRow
{
    [VectorType(64)]
    public float[] Features { get; set; } = Array.Empty<float>();

    public float Label { get; set; }
}

internal sealed class DigitPrediction
{
    public float PredictedLabel { get; set; }

    public float[] Score { get; set; } = Array.Empty<float>();
}
