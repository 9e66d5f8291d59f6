// Hyper-parameter sweep over FFF, mixture-of-experts and dense models on the embedded digits data (docs/sweeps.md).
//
//   dotnet run --project samples/FffSweep -c Release -- [seconds=120] [sh|random] [seed=0] [threads=1] [folds=5]
//
// Digits are split 80/20 (seed 0) into a development set and a held-out test set; the experiment cross-validates every trial
// on 5 folds of the development set (folds=0: one 80/20 split into training and validation rows instead). 1,437 rows are too
// few for one validation set of ~290 rows to tell the best configurations apart (one row is 0.34 points; docs/sweeps.md).
// Prints the leaderboard, the Pareto front of validation accuracy against per-row latency (with test accuracy), and writes
// artifacts/sweep-<seconds>s-<folds>fold/ (sweep-<seconds>s/ for a split): leaderboard.md, pareto.png and best-model.zip.
// Ctrl+C stops the sweep and keeps the best model found so far.
using System;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Threading;
using Microsoft.ML;
using Microsoft.ML.Fff;
using Microsoft.ML.Fff.Plotting;
using Microsoft.ML.Fff.Sweeps;

double seconds = args.Length > 0 ? double.Parse(args[0], CultureInfo.InvariantCulture) : 120;
FffSearchStrategy strategy = args.Length > 1 && args[1].Equals("random", StringComparison.OrdinalIgnoreCase)
    ? FffSearchStrategy.RandomSearch : FffSearchStrategy.SuccessiveHalving;
int seed = args.Length > 2 ? int.Parse(args[2], CultureInfo.InvariantCulture) : 0;
int threads = args.Length > 3 ? int.Parse(args[3], CultureInfo.InvariantCulture) : 1;
int folds = args.Length > 4 ? int.Parse(args[4], CultureInfo.InvariantCulture) : 5;

var mlContext = new MLContext(seed: 0);
IDataView digits = mlContext.Fff().SampleData.Digits();
DataOperationsCatalog.TrainTestData split = mlContext.Data.TrainTestSplit(digits, testFraction: 0.2, seed: 0);

using var cancel = new CancellationTokenSource();
Console.CancelKeyPress += (_, e) =>
{
    e.Cancel = true;
    Console.WriteLine("Cancelling: the sweep returns the best model so far.");
    cancel.Cancel();
};

var progress = new ConsoleProgress();
FffExperiment experiment = mlContext.Fff().CreateExperiment();
if (folds > 0)
    experiment.SetDataset(split.TrainSet, numberOfFolds: folds);
else
    experiment.SetDataset(split.TrainSet, validationFraction: 0.2);
FffExperimentResult result = experiment
    .SetMulticlassClassificationMetric(FffMulticlassMetric.MicroAccuracy)
    .SetTrainingTimeInSeconds(seconds)
    .SetSearchStrategy(strategy)
    .SetSeed(seed)
    .SetNumberOfThreads(threads)
    .Run(progress, cancel.Token);

Console.WriteLine();
Console.WriteLine($"{result.Trials.Count} trials in {result.Duration.TotalSeconds:F0} s ({result.StopReason}); " +
                  $"{result.Trials.Count(t => t.Status == FffTrialStatus.Failed)} failed. Top 10:");
Console.WriteLine(result.FormatLeaderboard(10));

double TestAccuracy(ITransformer model) => mlContext.MulticlassClassification.Evaluate(model.Transform(split.TestSet)).MicroAccuracy;
FffTrialResult best = result.BestTrial;
Console.WriteLine("Pareto front (validation accuracy against microseconds per row), fastest first:");
foreach (FffTrialResult t in result.ParetoFront)
{
    Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
        $"  #{t.TrialId,-4} {t.MicrosecondsPerRow,8:F3} us/row {t.NeuronsPerRow,5} neurons/row  validation {t.Metric:F4}  test {TestAccuracy(t.Model!):F4}  {t.Configuration}"));
}
FffTrialResult? fast = result.ParetoFront.Where(t => t.MicrosecondsPerRow * 10 <= best.MicrosecondsPerRow).OrderByDescending(t => t.Metric).FirstOrDefault();
Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
    $"Best: #{best.TrialId} validation {best.Metric:F4}, test {TestAccuracy(best.Model!):F4}, {best.MicrosecondsPerRow:F3} us/row: {best.Configuration}"));
Console.WriteLine(fast is null
    ? "No model on the front is 10x faster per row than the best."
    : string.Create(CultureInfo.InvariantCulture,
        $"Most accurate front model at least 10x faster: #{fast.TrialId} validation {fast.Metric:F4}, {fast.MicrosecondsPerRow:F3} us/row ({best.MicrosecondsPerRow / fast.MicrosecondsPerRow:F1}x faster): {fast.Configuration}"));
Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
    $"Fastest front model is {best.MicrosecondsPerRow / result.ParetoFront[0].MicrosecondsPerRow:F1}x faster than the best."));

string folder = Path.Combine("artifacts", string.Create(CultureInfo.InvariantCulture, $"sweep-{seconds:0}s{(folds > 0 ? $"-{folds}fold" : "")}"));
Directory.CreateDirectory(folder);
File.WriteAllText(Path.Combine(folder, "leaderboard.md"), result.FormatLeaderboard(result.Trials.Count));
result.SaveParetoPlot(Path.Combine(folder, "pareto.png"));
result.SaveBestModel(Path.Combine(folder, "best-model.zip"));
Console.WriteLine($"Wrote {folder}/leaderboard.md, pareto.png and best-model.zip.");

/// <summary>Prints each finished trial (synchronously, unlike Progress&lt;T&gt;).</summary>
internal sealed class ConsoleProgress : IProgress<FffExperimentProgress>
{
    public void Report(FffExperimentProgress value)
    {
        if (value.Event != FffExperimentEvent.TrialFinished)
            return;
        FffTrialResult t = value.Trial;
        string outcome = t.Status == FffTrialStatus.Succeeded
            ? string.Create(CultureInfo.InvariantCulture, $"{t.Metric:F4} {t.MicrosecondsPerRow,7:F3} us/row")
            : $"{t.Status}: {t.Error}";
        static string Best(FffTrialResult? b) => b is null ? "" : string.Create(CultureInfo.InvariantCulture, $"  (best #{b.TrialId} {b.Metric:F4})");
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"[{value.Elapsed.TotalSeconds,5:F0}s] #{t.TrialId,-3} r{t.Rung} {t.TrainingTime.TotalSeconds,5:F1}s {outcome}  {t.Configuration.Shape}, {t.Configuration.NumberOfEpochs} epochs{Best(value.BestSoFar)}"));
    }
}
