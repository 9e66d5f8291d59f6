using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Globalization;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using Microsoft.ML.Runtime;

namespace Microsoft.ML.Fff.Sweeps;

/// <summary>
/// A hyper-parameter sweep over fast feedforward, mixture-of-experts and dense models, shaped like ML.NET AutoML's experiments:
/// configure it with the fluent <c>Set…</c> methods, then <see cref="Run"/> it. Each trial trains one configuration with
/// <c>Fit(train, validation)</c>, scores the validation set with the experiment's metric and times the model's per-row scoring;
/// the result is a leaderboard, the Pareto front of metric against latency, and the best model as a fitted, savable pipeline.
/// Create one with <c>mlContext.Fff().CreateExperiment()</c>. An experiment is not thread-safe; run it from one thread at a time.
/// </summary>
public sealed class FffExperiment
{
    private readonly MLContext _mlContext;
    private IDataView? _train;
    private IDataView? _validation;
    private double _validationFraction;
    private int _folds;
    private string? _samplingKey;
    private FffTask? _task;
    private int _metric;
    private string _label = "Label";
    private string _features = "Features";
    private double _seconds = 120;
    private int? _maxTrials;
    private FffSearchStrategy _strategy = FffSearchStrategy.SuccessiveHalving;
    private int _reductionFactor = 3;
    private FffSearchSpace _space = new();
    private FffArchitecture[] _kinds = TrainerFamilies.All.Select(f => f.Architecture).ToArray();
    private double? _maxMicroseconds;
    private int? _maxNeurons;
    private int _seed;
    private int? _threads;

    internal FffExperiment(MLContext mlContext) => _mlContext = mlContext;

    /// <summary>Most time spent before the first trial letting tiered compilation optimize the scoring code (tests shorten it).</summary>
    internal int ScoringWarmUpMilliseconds { get; set; } = 3000;

    /// <summary>Trains on <paramref name="trainData"/> and measures every trial on <paramref name="validationData"/> (same schema).</summary>
    /// <param name="trainData">Training rows with the label and a known-size Single vector feature column.</param>
    /// <param name="validationData">Rows the metric, the trainers' best-epoch choice and the latency timing use.</param>
    public FffExperiment SetDataset(IDataView trainData, IDataView validationData)
    {
        _train = trainData ?? throw new ArgumentNullException(nameof(trainData));
        _validation = validationData ?? throw new ArgumentNullException(nameof(validationData));
        _folds = 0;
        return this;
    }

    /// <summary>Splits <paramref name="data"/> into training and validation rows with the experiment's seed when it runs.</summary>
    /// <param name="data">All rows.</param>
    /// <param name="validationFraction">Fraction held out for validation; in (0, 1). Default 0.2.</param>
    public FffExperiment SetDataset(IDataView data, double validationFraction = 0.2)
    {
        ArgumentNullException.ThrowIfNull(data);
        if (!(validationFraction > 0 && validationFraction < 1))
            throw new ArgumentOutOfRangeException(nameof(validationFraction), validationFraction, $"{nameof(validationFraction)} must be in (0, 1); it is {validationFraction}.");
        _train = data;
        _validation = null;
        _validationFraction = validationFraction;
        _folds = 0;
        return this;
    }

    /// <summary>
    /// Cross-validates every trial: <paramref name="data"/> is split into <paramref name="numberOfFolds"/> folds with the experiment's
    /// seed (<c>mlContext.Data.CrossValidationSplit</c>) when it runs, and each trial trains once per fold, validating on the fold it
    /// left out. The trial's <see cref="FffTrialResult.Metric"/> is the mean over the folds (<see cref="FffTrialResult.FoldMetrics"/>
    /// holds each); its <see cref="FffTrialResult.Model"/> is the model of the fold with the best metric. A trial costs
    /// <paramref name="numberOfFolds"/> trainings, but its metric rests on every row instead of a fifth of them: use it when the data
    /// is small enough that one validation set cannot tell the best configurations apart.
    /// </summary>
    /// <param name="data">All rows, with the label and a known-size Single vector feature column.</param>
    /// <param name="numberOfFolds">Folds; 2 .. 50. (For a single validation split pass a fraction such as <c>0.2</c> instead.)</param>
    /// <param name="samplingKeyColumnName">Rows with the same value of this column stay in the same fold (e.g. a group or user id); null: rows are assigned at random.</param>
    public FffExperiment SetDataset(IDataView data, int numberOfFolds, string? samplingKeyColumnName = null)
    {
        ArgumentNullException.ThrowIfNull(data);
        if (numberOfFolds < 2 || numberOfFolds > MaxFolds)
        {
            throw new ArgumentOutOfRangeException(nameof(numberOfFolds), numberOfFolds,
                $"{nameof(numberOfFolds)} must be between 2 and {MaxFolds}; it is {numberOfFolds}. For one validation split pass a fraction such as 0.2.");
        }
        if (samplingKeyColumnName != null)
            ArgumentException.ThrowIfNullOrWhiteSpace(samplingKeyColumnName);
        _train = data;
        _validation = null;
        _folds = numberOfFolds;
        _samplingKey = samplingKeyColumnName;
        return this;
    }

    /// <summary>Most folds <see cref="SetDataset(IDataView, int, string?)"/> accepts.</summary>
    private const int MaxFolds = 50;

    /// <summary>Uses a train/test split: the test set is the validation set.</summary>
    /// <param name="split">The split, e.g. from <c>mlContext.Data.TrainTestSplit</c>.</param>
    public FffExperiment SetDataset(DataOperationsCatalog.TrainTestData split)
    {
        return SetDataset(split.TrainSet, split.TestSet);
    }

    /// <summary>The feature column: a known-size vector of Single. Default <c>"Features"</c>.</summary>
    /// <param name="featureColumnName">The column name.</param>
    public FffExperiment SetFeatureColumn(string featureColumnName)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(featureColumnName);
        _features = featureColumnName;
        return this;
    }

    /// <summary>Multiclass classification, optimizing <paramref name="metric"/>. Labels that are not keys are mapped with <c>MapValueToKey</c> (and predictions mapped back).</summary>
    /// <param name="metric">The metric to optimize. Default <see cref="FffMulticlassMetric.MicroAccuracy"/>.</param>
    /// <param name="labelColumnName">The label column. Default <c>"Label"</c>.</param>
    public FffExperiment SetMulticlassClassificationMetric(FffMulticlassMetric metric = FffMulticlassMetric.MicroAccuracy, string labelColumnName = "Label")
        => SetTask(FffTask.MulticlassClassification, CheckDefined(metric, nameof(metric)), labelColumnName);

    /// <summary>Binary classification (a Boolean label), optimizing <paramref name="metric"/>.</summary>
    /// <param name="metric">The metric to optimize. Default <see cref="FffBinaryMetric.Accuracy"/>.</param>
    /// <param name="labelColumnName">The label column. Default <c>"Label"</c>.</param>
    public FffExperiment SetBinaryClassificationMetric(FffBinaryMetric metric = FffBinaryMetric.Accuracy, string labelColumnName = "Label")
        => SetTask(FffTask.BinaryClassification, CheckDefined(metric, nameof(metric)), labelColumnName);

    /// <summary>Regression (a numeric label, converted to Single), optimizing <paramref name="metric"/>.</summary>
    /// <param name="metric">The metric to optimize. Default <see cref="FffRegressionMetric.RSquared"/>.</param>
    /// <param name="labelColumnName">The label column. Default <c>"Label"</c>.</param>
    public FffExperiment SetRegressionMetric(FffRegressionMetric metric = FffRegressionMetric.RSquared, string labelColumnName = "Label")
        => SetTask(FffTask.Regression, CheckDefined(metric, nameof(metric)), labelColumnName);

    /// <summary>
    /// The time budget, counted from the start of <see cref="Run"/> (data preparation included): no trial starts after it, and the
    /// trial running when it ends is cancelled (its partial work is discarded). Default 120 seconds.
    /// </summary>
    /// <param name="seconds">Seconds; finite and greater than 0.</param>
    public FffExperiment SetTrainingTimeInSeconds(double seconds)
    {
        if (!(double.IsFinite(seconds) && seconds > 0))
            throw new ArgumentOutOfRangeException(nameof(seconds), seconds, $"The training time must be finite and greater than 0 seconds; it is {seconds}.");
        _seconds = seconds;
        return this;
    }

    /// <summary>Stops after this many trials (promotions count as trials). Default: no limit (the time budget decides).</summary>
    /// <param name="maxTrials">At least 1.</param>
    public FffExperiment SetMaxTrials(int maxTrials)
    {
        if (maxTrials < 1)
            throw new ArgumentOutOfRangeException(nameof(maxTrials), maxTrials, $"{nameof(maxTrials)} must be at least 1; it is {maxTrials}.");
        _maxTrials = maxTrials;
        return this;
    }

    /// <summary>The search strategy. Default <see cref="FffSearchStrategy.SuccessiveHalving"/> with a reduction factor of 3.</summary>
    /// <param name="strategy">Random search, or successive halving with epochs as the resource.</param>
    /// <param name="reductionFactor">Successive halving: the fraction <c>1/reductionFactor</c> of a rung is promoted, with <c>reductionFactor</c> times the epochs; 2 .. 10.</param>
    public FffExperiment SetSearchStrategy(FffSearchStrategy strategy, int reductionFactor = 3)
    {
        CheckDefined(strategy, nameof(strategy));
        if (reductionFactor < 2 || reductionFactor > 10)
            throw new ArgumentOutOfRangeException(nameof(reductionFactor), reductionFactor, $"{nameof(reductionFactor)} must be between 2 and 10; it is {reductionFactor}.");
        _strategy = strategy;
        _reductionFactor = reductionFactor;
        return this;
    }

    /// <summary>The options to sample from (copied when the experiment runs; validated then, each error naming the option). Default <c>new FffSearchSpace()</c>.</summary>
    /// <param name="searchSpace">The search space.</param>
    public FffExperiment SetSearchSpace(FffSearchSpace searchSpace)
    {
        _space = searchSpace ?? throw new ArgumentNullException(nameof(searchSpace));
        return this;
    }

    /// <summary>The model kinds to consider, drawn with equal probability. Default all three.</summary>
    /// <param name="kinds">One or more distinct kinds.</param>
    public FffExperiment SetModelKinds(params FffArchitecture[] kinds)
    {
        ArgumentNullException.ThrowIfNull(kinds);
        if (kinds.Length == 0)
            throw new ArgumentException("At least one model kind is needed.", nameof(kinds));
        foreach (FffArchitecture kind in kinds)
            CheckDefined(kind, nameof(kinds));
        _kinds = kinds.Distinct().ToArray();
        return this;
    }

    /// <summary>
    /// Only models whose measured per-row latency (<see cref="FffTrialResult.MicrosecondsPerRow"/>) is at most this many microseconds
    /// can be the best model or be promoted. Measured after training, so slower trials still cost their training time.
    /// </summary>
    /// <param name="microsecondsPerRow">Finite and greater than 0.</param>
    public FffExperiment SetMaxLatency(double microsecondsPerRow)
    {
        if (!(double.IsFinite(microsecondsPerRow) && microsecondsPerRow > 0))
            throw new ArgumentOutOfRangeException(nameof(microsecondsPerRow), microsecondsPerRow, $"{nameof(microsecondsPerRow)} must be finite and greater than 0; it is {microsecondsPerRow}.");
        _maxMicroseconds = microsecondsPerRow;
        return this;
    }

    /// <summary>Only configurations that touch at most this many neurons per scored row are sampled (checked before training, so it costs nothing).</summary>
    /// <param name="maxNeuronsPerRow">At least 1.</param>
    public FffExperiment SetMaxNeuronsPerRow(int maxNeuronsPerRow)
    {
        if (maxNeuronsPerRow < 1)
            throw new ArgumentOutOfRangeException(nameof(maxNeuronsPerRow), maxNeuronsPerRow, $"{nameof(maxNeuronsPerRow)} must be at least 1; it is {maxNeuronsPerRow}.");
        _maxNeurons = maxNeuronsPerRow;
        return this;
    }

    /// <summary>
    /// Seed of the configuration sampler, of each trial's trainer seed and of the validation split or folds: the same seed gives the same
    /// sequence of configurations (and, with <see cref="SetNumberOfThreads"/>, the same trials). Default 0.
    /// </summary>
    /// <param name="seed">Any value.</param>
    public FffExperiment SetSeed(int seed)
    {
        _seed = seed;
        return this;
    }

    /// <summary>Threads libtorch uses for each trial (part of the determinism recipe). Default <c>null</c>: libtorch's choice.</summary>
    /// <param name="numberOfThreads">At least 1, or null.</param>
    public FffExperiment SetNumberOfThreads(int? numberOfThreads)
    {
        if (numberOfThreads is < 1)
            throw new ArgumentOutOfRangeException(nameof(numberOfThreads), numberOfThreads, $"{nameof(numberOfThreads)} must be at least 1 when set; it is {numberOfThreads}.");
        _threads = numberOfThreads;
        return this;
    }

    /// <summary>
    /// The configurations the experiment would start, in order, for its current seed, search space, model kinds and limits (promotions
    /// of successive halving are not included: they depend on the results). Nothing is trained.
    /// </summary>
    /// <param name="count">How many; at least 1.</param>
    public IReadOnlyList<FffTrialConfiguration> PreviewConfigurations(int count)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(count, 1);
        FffSearchSpace space = _space.Snapshot();
        space.Validate(_kinds);
        var sampler = new ConfigurationSampler(space, _kinds, _maxNeurons, _seed);
        int epochs = FirstRungEpochs(space);
        return Enumerable.Range(0, count).Select(_ => sampler.Next(epochs)).ToArray();
    }

    /// <summary>Runs <see cref="Run"/> on the thread pool.</summary>
    /// <param name="progress">Receives trial started/finished reports with the best trial so far; optional.</param>
    /// <param name="cancellationToken">Stops the experiment; the best model so far is returned.</param>
    public Task<FffExperimentResult> RunAsync(IProgress<FffExperimentProgress>? progress = null, CancellationToken cancellationToken = default)
        => Task.Run(() => Run(progress, cancellationToken), CancellationToken.None);

    /// <summary>
    /// Runs the sweep until the time budget, the trial limit or <paramref name="cancellationToken"/> stops it. A trial that throws
    /// (for example because training diverged) is recorded as failed and the sweep goes on. On cancellation the running trial is
    /// abandoned (training checks the token before every mini-batch) and the result holds the trials finished so far.
    /// </summary>
    /// <param name="progress">Receives trial started/finished reports with the best trial so far; optional.</param>
    /// <param name="cancellationToken">Stops the experiment; the best model so far is returned.</param>
    /// <returns>The trials, the Pareto front and the best model.</returns>
    /// <exception cref="InvalidOperationException">No dataset or task was set, or no trial succeeded (the message lists the errors).</exception>
    /// <exception cref="ArgumentException">The data does not fit the task, or the search space is invalid (the exception names the option).</exception>
    /// <exception cref="OperationCanceledException">Cancelled before any trial succeeded.</exception>
    public FffExperimentResult Run(IProgress<FffExperimentProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        if (_train is null)
            throw new InvalidOperationException("Call SetDataset before running the experiment.");
        if (_task is not FffTask task)
            throw new InvalidOperationException("Call SetMulticlassClassificationMetric, SetBinaryClassificationMetric or SetRegressionMetric before running the experiment.");
        FffSearchSpace space = _space.Snapshot();
        space.Validate(_kinds);
        var clock = Stopwatch.StartNew();
        using IChannel ch = ((IChannelProvider)_mlContext).Start("FffExperiment");

        TrialRunner runner;
        if (_folds > 0)
        {
            runner = new TrialRunner(_mlContext, task, _label, _features, _train, _folds, _samplingKey, _seed);
        }
        else
        {
            IDataView train = _train, validation = _validation!;
            if (_validation is null)
            {
                DataOperationsCatalog.TrainTestData split = _mlContext.Data.TrainTestSplit(_train, _validationFraction, seed: _seed);
                (train, validation) = (split.TrainSet, split.TestSet);
            }
            runner = new TrialRunner(_mlContext, task, _label, _features, train, validation);
        }
        TimeSpan warmUp = runner.WarmUpScoring(_kinds, ScoringWarmUpMilliseconds);
        (string metricName, bool higherIsBetter, Func<IDataView, double> metric) = CreateMetric(task);
        var sampler = new ConfigurationSampler(space, _kinds, _maxNeurons, _seed);
        SuccessiveHalvingScheduler? scheduler = _strategy == FffSearchStrategy.SuccessiveHalving
            ? new SuccessiveHalvingScheduler(space.MinEpochs, space.MaxEpochs, _reductionFactor)
            : null;
        int newEpochs = FirstRungEpochs(space);
        ch.Info($"Experiment: {task}, metric {metricName}" + (_folds > 0 ? $" ({_folds}-fold cross-validation)" : "") + $", {_strategy}" + (scheduler is null ? "" : $" (rungs {string.Join("/", scheduler.RungEpochs)} epochs)") +
                $", kinds {string.Join(", ", _kinds)}, budget {_seconds:F0}s" + (_maxTrials is int m ? $" or {m} trials" : "") +
                $"; scoring warm-up {warmUp.TotalMilliseconds:F0} ms.");

        using var budget = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        // The budget counts from the start of Run: data preparation and the scoring warm-up are part of it.
        budget.CancelAfter(TimeSpan.FromSeconds(Math.Max(0, _seconds - clock.Elapsed.TotalSeconds)));
        var trials = new List<FffTrialResult>();
        FffTrialResult? best = null;
        FffExperimentStopReason stopReason;
        while (true)
        {
            if (cancellationToken.IsCancellationRequested)
            {
                stopReason = FffExperimentStopReason.Cancelled;
                break;
            }
            if (budget.IsCancellationRequested)
            {
                stopReason = FffExperimentStopReason.TimeBudget;
                break;
            }
            if (trials.Count >= _maxTrials)
            {
                stopReason = FffExperimentStopReason.MaxTrials;
                break;
            }

            var next = scheduler?.NextPromotion();
            FffTrialResult trial = next is { } promotion
                ? new FffTrialResult(trials.Count + 1, promotion.Configuration, promotion.Rung, promotion.From)
                : new FffTrialResult(trials.Count + 1, sampler.Next(newEpochs), rung: 0, promotedFrom: null);
            trial.NeuronsPerRow = trial.Configuration.NeuronsPerRow;
            progress?.Report(new FffExperimentProgress(FffExperimentEvent.TrialStarted, trial, best, trials.Count, clock.Elapsed));

            var trialClock = Stopwatch.StartNew();
            try
            {
                runner.Run(trial, _threads, budget.Token, metric, higherIsBetter);
                trial.MeetsConstraints = trial.MicrosecondsPerRow <= (_maxMicroseconds ?? double.PositiveInfinity)
                    && trial.NeuronsPerRow <= (_maxNeurons ?? int.MaxValue);
            }
            catch (Exception e) when (budget.IsCancellationRequested)
            {
                Release(trial);
                trial.Status = FffTrialStatus.Cancelled;
                trial.Error = Innermost(e).Message;
                trial.TrainingTime = trialClock.Elapsed;
            }
            catch (Exception e)
            {
                Release(trial);
                trial.Status = FffTrialStatus.Failed;
                trial.Exception = e;
                trial.Error = Innermost(e).Message;
                trial.TrainingTime = trialClock.Elapsed;
            }
            trials.Add(trial);
            scheduler?.Report(trial, higherIsBetter);
            best = KeepFrontAndBest(trials, higherIsBetter);
            ch.Info(trial.ToString());
            progress?.Report(new FffExperimentProgress(FffExperimentEvent.TrialFinished, trial, best, trials.Count, clock.Elapsed));
        }

        if (best is null)
        {
            if (stopReason == FffExperimentStopReason.Cancelled)
                throw new OperationCanceledException("The experiment was cancelled before any trial succeeded.", cancellationToken);
            string errors = string.Join("; ", trials.Where(t => t.Error != null).Select(t => $"#{t.TrialId} {t.Configuration.Shape}: {t.Error}").Take(5));
            throw new InvalidOperationException($"No trial succeeded in {trials.Count} trials ({stopReason}, {clock.Elapsed.TotalSeconds:F0}s)" +
                (errors.Length > 0 ? ": " + errors : "; raise the time budget with SetTrainingTimeInSeconds.") + ".");
        }
        if (!best.MeetsConstraints)
        {
            ch.Warning($"No trial met the constraints (max {_maxMicroseconds?.ToString(CultureInfo.InvariantCulture) ?? "-"} us/row, max {_maxNeurons?.ToString(CultureInfo.InvariantCulture) ?? "-"} neurons/row); " +
                       $"the best model is the fastest trial, #{best.TrialId} ({best.MicrosecondsPerRow:F3} us/row).");
        }
        FffTrialResult[] front = FffExperimentResult.ComputeParetoFront(trials, higherIsBetter);
        ch.Info($"Experiment stopped ({stopReason}) after {trials.Count} trials, {clock.Elapsed.TotalSeconds:F1}s; best #{best.TrialId} {metricName} {best.Metric:F4}; Pareto front of {front.Length}.");
        return new FffExperimentResult(_mlContext, _train.Schema, metricName, higherIsBetter, trials.ToArray(), best, front, stopReason, clock.Elapsed);
    }

    /// <summary>Finds the best trial and the Pareto front, and drops the models of every other trial.</summary>
    private FffTrialResult? KeepFrontAndBest(List<FffTrialResult> trials, bool higherIsBetter)
    {
        double Score(FffTrialResult t) => higherIsBetter ? t.Metric : -t.Metric;
        FffTrialResult[] succeeded = trials.Where(t => t.Status == FffTrialStatus.Succeeded).ToArray();
        FffTrialResult? best = succeeded.Where(t => t.MeetsConstraints)
            .OrderByDescending(Score).ThenBy(t => t.MicrosecondsPerRow).ThenBy(t => t.TrialId).FirstOrDefault()
            ?? succeeded.OrderBy(t => t.MicrosecondsPerRow).ThenBy(t => t.TrialId).FirstOrDefault();
        var keep = new HashSet<FffTrialResult>(FffExperimentResult.ComputeParetoFront(trials, higherIsBetter));
        if (best != null)
            keep.Add(best);
        foreach (FffTrialResult t in trials)
        {
            if (!keep.Contains(t))
                Release(t);
        }
        return best;
    }

    private static void Release(FffTrialResult trial)
    {
        trial.Model = null;
        trial.Scorer = null;
    }

    private int FirstRungEpochs(FffSearchSpace space) => _strategy == FffSearchStrategy.SuccessiveHalving
        ? SuccessiveHalvingScheduler.ComputeRungs(space.MinEpochs, space.MaxEpochs, _reductionFactor)[0]
        : space.MaxEpochs;

    private FffExperiment SetTask(FffTask task, int metric, string labelColumnName)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(labelColumnName);
        _task = task;
        _metric = metric;
        _label = labelColumnName;
        return this;
    }

    private (string Name, bool HigherIsBetter, Func<IDataView, double> Metric) CreateMetric(FffTask task)
    {
        MLContext ml = _mlContext;
        string label = _label;
        switch (task)
        {
            case FffTask.MulticlassClassification:
                var multiclass = (FffMulticlassMetric)_metric;
                return (multiclass.ToString(), multiclass != FffMulticlassMetric.LogLoss, scored =>
                {
                    var m = ml.MulticlassClassification.Evaluate(scored, label);
                    return multiclass switch
                    {
                        FffMulticlassMetric.MicroAccuracy => m.MicroAccuracy,
                        FffMulticlassMetric.MacroAccuracy => m.MacroAccuracy,
                        _ => m.LogLoss,
                    };
                });
            case FffTask.BinaryClassification:
                var binary = (FffBinaryMetric)_metric;
                return (binary.ToString(), true, scored =>
                {
                    var m = ml.BinaryClassification.Evaluate(scored, label);
                    return binary switch
                    {
                        FffBinaryMetric.Accuracy => m.Accuracy,
                        FffBinaryMetric.AreaUnderRocCurve => m.AreaUnderRocCurve,
                        _ => m.F1Score,
                    };
                });
            default:
                var regression = (FffRegressionMetric)_metric;
                return (regression.ToString(), regression == FffRegressionMetric.RSquared, scored =>
                {
                    var m = ml.Regression.Evaluate(scored, label);
                    return regression switch
                    {
                        FffRegressionMetric.RSquared => m.RSquared,
                        FffRegressionMetric.MeanAbsoluteError => m.MeanAbsoluteError,
                        _ => m.RootMeanSquaredError,
                    };
                });
        }
    }

    private static int CheckDefined<T>(T value, string name) where T : struct, Enum
    {
        if (!Enum.IsDefined(value))
            throw new ArgumentOutOfRangeException(name, value, $"{name} is not a defined {typeof(T).Name} value; it is {value}.");
        return Convert.ToInt32(value, CultureInfo.InvariantCulture);
    }

    private static Exception Innermost(Exception e)
    {
        while (e.InnerException != null)
            e = e.InnerException;
        return e;
    }
}
