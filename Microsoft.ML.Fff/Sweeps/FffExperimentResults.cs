using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using System.Text;

namespace Microsoft.ML.Fff.Sweeps;

/// <summary>How an <see cref="FffExperiment"/> chooses what to train next.</summary>
public enum FffSearchStrategy
{
    /// <summary>Every trial is a new random configuration trained for <see cref="FffSearchSpace.MaxEpochs"/> epochs.</summary>
    RandomSearch,
    /// <summary>
    /// Asynchronous successive halving (ASHA) with epochs as the resource: new configurations are trained for
    /// <see cref="FffSearchSpace.MinEpochs"/>; whenever a configuration ranks in the top <c>1 / reductionFactor</c> of its rung it is
    /// retrained with <c>reductionFactor</c> times the epochs, up to <see cref="FffSearchSpace.MaxEpochs"/>. Cheap trials die early.
    /// </summary>
    SuccessiveHalving,
}

/// <summary>Metrics an <see cref="FffExperiment"/> can optimize for multiclass classification (measured on the validation set).</summary>
public enum FffMulticlassMetric
{
    /// <summary>Fraction of rows predicted correctly (higher is better).</summary>
    MicroAccuracy,
    /// <summary>Mean over classes of the per-class accuracy (higher is better).</summary>
    MacroAccuracy,
    /// <summary>Mean log-loss of the predicted class probabilities (lower is better).</summary>
    LogLoss,
}

/// <summary>Metrics an <see cref="FffExperiment"/> can optimize for binary classification (measured on the validation set).</summary>
public enum FffBinaryMetric
{
    /// <summary>Fraction of rows predicted correctly (higher is better).</summary>
    Accuracy,
    /// <summary>Area under the ROC curve (higher is better; the validation set needs both classes).</summary>
    AreaUnderRocCurve,
    /// <summary>F1 score of the positive class (higher is better).</summary>
    F1Score,
}

/// <summary>Metrics an <see cref="FffExperiment"/> can optimize for regression (measured on the validation set).</summary>
public enum FffRegressionMetric
{
    /// <summary>Coefficient of determination (higher is better).</summary>
    RSquared,
    /// <summary>Mean absolute error (lower is better).</summary>
    MeanAbsoluteError,
    /// <summary>Root mean squared error (lower is better).</summary>
    RootMeanSquaredError,
}

/// <summary>How a trial ended.</summary>
public enum FffTrialStatus
{
    /// <summary>Trained, evaluated and timed.</summary>
    Succeeded,
    /// <summary>Training or evaluation threw (for example diverged); <see cref="FffTrialResult.Error"/> says why. The experiment went on.</summary>
    Failed,
    /// <summary>Stopped by the time budget or the caller's cancellation before it finished.</summary>
    Cancelled,
}

/// <summary>Why an experiment stopped.</summary>
public enum FffExperimentStopReason
{
    /// <summary>The training time budget ran out.</summary>
    TimeBudget,
    /// <summary>The maximum number of trials was reached.</summary>
    MaxTrials,
    /// <summary>The caller's <see cref="System.Threading.CancellationToken"/> was cancelled.</summary>
    Cancelled,
}

/// <summary>One trained configuration of an <see cref="FffExperiment"/>: its options, metric, cost and time.</summary>
public sealed class FffTrialResult
{
    internal FffTrialResult(int trialId, FffTrialConfiguration configuration, int rung, int? promotedFrom)
    {
        TrialId = trialId;
        Configuration = configuration;
        Rung = rung;
        PromotedFrom = promotedFrom;
    }

    /// <summary>1-based number of the trial, in the order trials ran.</summary>
    public int TrialId { get; }

    /// <summary>What was trained.</summary>
    public FffTrialConfiguration Configuration { get; }

    /// <summary>Successive-halving rung (0: the cheapest); 0 for random search.</summary>
    public int Rung { get; }

    /// <summary>The trial of the same configuration one rung lower that this trial was promoted from, or <c>null</c>.</summary>
    public int? PromotedFrom { get; }

    /// <summary>How the trial ended.</summary>
    public FffTrialStatus Status { get; internal set; }

    /// <summary>
    /// The experiment's metric on the validation set (cross-validation: the mean of <see cref="FoldMetrics"/>); <see cref="double.NaN"/>
    /// unless <see cref="Status"/> is <see cref="FffTrialStatus.Succeeded"/>.
    /// </summary>
    public double Metric { get; internal set; } = double.NaN;

    /// <summary>
    /// Cross-validation: the metric on each fold's left-out rows, in fold order (<see cref="Model"/> is the model of the best one).
    /// Empty for a single validation set and for trials that did not succeed.
    /// </summary>
    public IReadOnlyList<double> FoldMetrics { get; internal set; } = Array.Empty<double>();

    /// <summary>Wall-clock time to train the trial (every fold, when cross-validating; for failed trials, until it threw).</summary>
    public TimeSpan TrainingTime { get; internal set; }

    /// <summary>
    /// Median per-row scoring time of the trained model in microseconds: rows scored one at a time through the model parameters'
    /// <c>ScoreBatch</c> (the network and the task's post-processing, no ML.NET pipeline) on up to 256 validation rows, after a
    /// warm-up; the median of 64 short passes of 32 rows. <see cref="double.NaN"/> unless succeeded.
    /// </summary>
    public double MicrosecondsPerRow { get; internal set; } = double.NaN;

    /// <summary>Neurons a scored row touches (from the trained model; before training, from the configuration).</summary>
    public int NeuronsPerRow { get; internal set; }

    /// <summary>Neurons trained (the width of the dense computation during training).</summary>
    public int TrainingWidth { get; internal set; }

    /// <summary>The error message of a failed trial (the innermost exception's), else <c>null</c>.</summary>
    public string? Error { get; internal set; }

    /// <summary>The exception of a failed trial, else <c>null</c>.</summary>
    public Exception? Exception { get; internal set; }

    /// <summary>Whether the trial meets the experiment's latency and neurons-per-row limits (false unless succeeded).</summary>
    public bool MeetsConstraints { get; internal set; }

    /// <summary>
    /// The fitted pipeline (label mapping, predictor, predicted-label mapping), savable with <c>mlContext.Model.Save</c>. Kept only for
    /// trials on the Pareto front and for the best trial, so that long experiments do not hold every model; <c>null</c> otherwise.
    /// </summary>
    public ITransformer? Model { get; internal set; }

    /// <summary>The model parameters' batch scorer (kept with <see cref="Model"/>), for timing.</summary>
    internal BatchScorer? Scorer { get; set; }

    /// <summary>Scores per row written by <see cref="Scorer"/>.</summary>
    internal int ScoreCount { get; set; }

    /// <summary>One line: id, rung, status, metric, latency, neurons, time and configuration (invariant culture).</summary>
    public override string ToString() => string.Create(CultureInfo.InvariantCulture,
        $"#{TrialId} r{Rung} {Status} metric {Metric:F4}, {MicrosecondsPerRow:F3} us/row, {NeuronsPerRow} neurons/row, {TrainingTime.TotalSeconds:F1}s: {Configuration}{(Error is null ? "" : " - " + Error)}");
}

/// <summary>What happened in an <see cref="FffExperiment"/>, reported to the <see cref="IProgress{T}"/> given to <see cref="FffExperiment.Run"/>.</summary>
public enum FffExperimentEvent
{
    /// <summary>A trial is about to train (<see cref="FffExperimentProgress.Trial"/> holds its configuration; no metric yet).</summary>
    TrialStarted,
    /// <summary>A trial ended, whatever its status.</summary>
    TrialFinished,
}

/// <summary>A progress report of an <see cref="FffExperiment"/>.</summary>
public sealed class FffExperimentProgress
{
    internal FffExperimentProgress(FffExperimentEvent kind, FffTrialResult trial, FffTrialResult? bestSoFar, int trialsFinished, TimeSpan elapsed)
    {
        Event = kind;
        Trial = trial;
        BestSoFar = bestSoFar;
        TrialsFinished = trialsFinished;
        Elapsed = elapsed;
    }

    /// <summary>What happened.</summary>
    public FffExperimentEvent Event { get; }

    /// <summary>The trial that started or finished.</summary>
    public FffTrialResult Trial { get; }

    /// <summary>The best trial so far that meets the constraints, or <c>null</c> while there is none.</summary>
    public FffTrialResult? BestSoFar { get; }

    /// <summary>Trials finished so far (any status).</summary>
    public int TrialsFinished { get; }

    /// <summary>Time since the experiment started.</summary>
    public TimeSpan Elapsed { get; }
}

/// <summary>The outcome of <see cref="FffExperiment.Run"/>: every trial, the Pareto front of metric against latency, and the best model.</summary>
public sealed class FffExperimentResult
{
    internal FffExperimentResult(MLContext mlContext, DataViewSchema inputSchema, string metricName, bool higherIsBetter, IReadOnlyList<FffTrialResult> trials,
        FffTrialResult best, IReadOnlyList<FffTrialResult> paretoFront, FffExperimentStopReason stopReason, TimeSpan duration)
    {
        _mlContext = mlContext;
        InputSchema = inputSchema;
        MetricName = metricName;
        HigherIsBetter = higherIsBetter;
        Trials = trials;
        BestTrial = best;
        ParetoFront = paretoFront;
        StopReason = stopReason;
        Duration = duration;
    }

    private readonly MLContext _mlContext;

    /// <summary>The metric optimized, e.g. <c>MicroAccuracy</c>.</summary>
    public string MetricName { get; }

    /// <summary>Whether a larger <see cref="FffTrialResult.Metric"/> is better.</summary>
    public bool HigherIsBetter { get; }

    /// <summary>Every trial in the order it ran, including failed and cancelled ones.</summary>
    public IReadOnlyList<FffTrialResult> Trials { get; }

    /// <summary>Succeeded trials, best metric first (ties: fewer microseconds per row first), then failed and cancelled trials.</summary>
    public IReadOnlyList<FffTrialResult> Leaderboard => Trials
        .OrderBy(t => t.Status == FffTrialStatus.Succeeded ? 0 : 1)
        .ThenByDescending(t => t.Status == FffTrialStatus.Succeeded ? (HigherIsBetter ? t.Metric : -t.Metric) : 0)
        .ThenBy(t => t.MicrosecondsPerRow)
        .ThenBy(t => t.TrialId)
        .ToArray();

    /// <summary>
    /// The succeeded trials that no other succeeded trial beats on both metric and latency (at least as good on both, better on one),
    /// fastest first. Each holds its fitted <see cref="FffTrialResult.Model"/>.
    /// </summary>
    public IReadOnlyList<FffTrialResult> ParetoFront { get; }

    /// <summary>The trial with the best metric among those that meet the constraints (ties: the faster).</summary>
    public FffTrialResult BestTrial { get; }

    /// <summary>The best trial's fitted pipeline: an <see cref="ITransformer"/> that <c>mlContext.Model.Save</c>/<c>Load</c> round-trips.</summary>
    public ITransformer Model => BestTrial.Model!;

    /// <summary>The schema of the data the experiment was given (the input schema to save <see cref="Model"/> with).</summary>
    public DataViewSchema InputSchema { get; }

    /// <summary>Why the experiment stopped.</summary>
    public FffExperimentStopReason StopReason { get; }

    /// <summary>Wall-clock time of the whole experiment.</summary>
    public TimeSpan Duration { get; }

    /// <summary>Saves the best model with <see cref="InputSchema"/> to a zip that <c>mlContext.Model.Load</c> reads (no libtorch needed to score it).</summary>
    /// <param name="path">The file to write.</param>
    public void SaveBestModel(string path)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        _mlContext.Model.Save(Model, InputSchema, path);
    }

    /// <summary>
    /// The leaderboard as a Markdown table of its first <paramref name="top"/> rows (invariant culture), front members marked with *.
    /// When the experiment cross-validates, a column gives the standard deviation of the metric over the folds, so differences
    /// smaller than it can be read as ties.
    /// </summary>
    /// <param name="top">Rows to include; at least 1.</param>
    public string FormatLeaderboard(int top = 10)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(top, 1);
        var front = new HashSet<int>(ParetoFront.Select(t => t.TrialId));
        bool folds = Trials.Any(t => t.FoldMetrics.Count > 1);
        var text = new StringBuilder();
        text.AppendLine($"| trial | rung | {MetricName} |{(folds ? " fold sd |" : "")} us/row | neurons/row | training s | configuration |");
        text.AppendLine($"| ---: | ---: | ---: |{(folds ? " ---: |" : "")} ---: | ---: | ---: | --- |");
        foreach (FffTrialResult t in Leaderboard.Take(top))
        {
            string metric = t.Status == FffTrialStatus.Succeeded ? t.Metric.ToString("F4", CultureInfo.InvariantCulture) : t.Status.ToString();
            string spread = !folds ? "" : t.FoldMetrics.Count > 1 ? $" {StandardDeviation(t.FoldMetrics).ToString("F4", CultureInfo.InvariantCulture)} |" : " |";
            text.AppendLine(string.Create(CultureInfo.InvariantCulture,
                $"| {t.TrialId}{(front.Contains(t.TrialId) ? "*" : "")} | {t.Rung} | {metric} |{spread} {t.MicrosecondsPerRow:F3} | {t.NeuronsPerRow} | {t.TrainingTime.TotalSeconds:F1} | {t.Configuration} |"));
        }
        return text.ToString();
    }

    /// <summary>Sample standard deviation (n - 1) of at least two values.</summary>
    private static double StandardDeviation(IReadOnlyList<double> values)
    {
        double mean = values.Average();
        return Math.Sqrt(values.Sum(v => (v - mean) * (v - mean)) / (values.Count - 1));
    }

    /// <summary>
    /// The trials of <paramref name="trials"/> that are not dominated on (metric, microseconds per row), fastest first. A trial is
    /// dominated when another is at least as good on both and better on one; of identical points the earlier trial stays.
    /// </summary>
    internal static FffTrialResult[] ComputeParetoFront(IEnumerable<FffTrialResult> trials, bool higherIsBetter)
    {
        FffTrialResult[] ok = trials.Where(t => t.Status == FffTrialStatus.Succeeded).ToArray();
        double Score(FffTrialResult t) => higherIsBetter ? t.Metric : -t.Metric;
        // Sweep by latency: a trial is on the front when its score beats every faster (or equally fast, earlier) trial's.
        FffTrialResult[] sorted = ok.OrderBy(t => t.MicrosecondsPerRow).ThenByDescending(Score).ThenBy(t => t.TrialId).ToArray();
        var front = new List<FffTrialResult>();
        double best = double.NegativeInfinity;
        foreach (FffTrialResult t in sorted)
        {
            if (Score(t) > best)
            {
                front.Add(t);
                best = Score(t);
            }
        }
        return front.ToArray();
    }
}
