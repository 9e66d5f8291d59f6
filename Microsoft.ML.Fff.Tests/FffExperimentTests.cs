using System;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.Diagnostics;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Threading;
using Microsoft.ML.Data;
using Microsoft.ML.Fff.Sweeps;
using Microsoft.VisualStudio.TestTools.UnitTesting;

namespace Microsoft.ML.Fff.Tests;

/// <summary>The hyper-parameter sweep (<c>mlContext.Fff().CreateExperiment()</c>): sampling, successive halving, Pareto front, failures, cancellation, plot.</summary>
[TestClass]
public sealed class FffExperimentTests
{
    /// <summary>A small, fast search space: small shapes, few epochs.</summary>
    private static FffSearchSpace TinySpace(int minEpochs = 2, int maxEpochs = 6) => new()
    {
        Depths = new[] { 1, 2, 3 },
        LeafWidths = new[] { 4, 8, 16 },
        MasterLeafWidths = new[] { 0 },
        NumberOfExperts = new[] { 4 },
        ExpertWidths = new[] { 4, 8 },
        TopK = new[] { 1, 2 },
        DenseHiddenLayerWidths = new[] { new[] { 8 }, new[] { 32 }, new[] { 64 } },
        BatchSizes = new[] { 64 },
        MinLearningRate = 3e-3f,
        MaxLearningRate = 1e-2f,
        MinEpochs = minEpochs,
        MaxEpochs = maxEpochs,
    };

    /// <summary>A new experiment with a short scoring warm-up (the tests do not compare latencies across kinds).</summary>
    private static FffExperiment Experiment(MLContext ml)
    {
        FffExperiment experiment = ml.Fff().CreateExperiment();
        experiment.ScoringWarmUpMilliseconds = 100;
        return experiment;
    }

    /// <summary>Synchronous progress (Progress&lt;T&gt; would post to the thread pool and race with the assertions).</summary>
    private sealed class Recorder : IProgress<FffExperimentProgress>
    {
        private readonly Action<FffExperimentProgress>? _then;

        public Recorder(Action<FffExperimentProgress>? then = null) => _then = then;

        public ConcurrentQueue<FffExperimentProgress> Reports { get; } = new();

        public void Report(FffExperimentProgress value)
        {
            Reports.Enqueue(value);
            _then?.Invoke(value);
        }
    }

    [TestMethod]
    public void SampledConfigurationsDependOnlyOnTheSeed()
    {
        var ml = new MLContext(seed: 0);
        FffExperiment Seeded(int seed) => Experiment(ml).SetSeed(seed).SetMaxNeuronsPerRow(100);
        string[] first = Seeded(7).PreviewConfigurations(40).Select(c => c.ToString()).ToArray();
        string[] again = Seeded(7).PreviewConfigurations(40).Select(c => c.ToString()).ToArray();
        string[] other = Seeded(8).PreviewConfigurations(40).Select(c => c.ToString()).ToArray();
        CollectionAssert.AreEqual(first, again);
        CollectionAssert.AreNotEqual(first, other);

        IReadOnlyList<FffTrialConfiguration> configurations = Seeded(7).PreviewConfigurations(200);
        Assert.IsTrue(configurations.All(c => c.NeuronsPerRow <= 100), "the neurons-per-row limit is applied before training");
        foreach (FffArchitecture kind in Enum.GetValues<FffArchitecture>())
            Assert.IsTrue(configurations.Any(c => c.Architecture == kind), $"{kind} is sampled");
        // Successive halving starts at the lowest rung: 60 / 3^2 = 6.67 -> 7 epochs with the defaults (5 .. 60, factor 3).
        Assert.IsTrue(configurations.All(c => c.NumberOfEpochs == 7));
        Assert.IsTrue(configurations.All(c => c.LearningRate >= 1e-3f && c.LearningRate <= 1e-2f));
        Assert.IsTrue(configurations.Where(c => c.Architecture == FffArchitecture.MixtureOfExperts).All(c => c.TopK <= c.NumberOfExperts));

        IReadOnlyList<FffTrialConfiguration> dense = Experiment(ml).SetModelKinds(FffArchitecture.Dense)
            .SetSearchStrategy(FffSearchStrategy.RandomSearch).PreviewConfigurations(20);
        Assert.IsTrue(dense.All(c => c.Architecture == FffArchitecture.Dense && c.NumberOfEpochs == FffDefaults.NumberOfEpochs && c.HiddenLayerWidths.Count == 1));
    }

    [TestMethod]
    public void SuccessiveHalvingRungsAndPromotions()
    {
        CollectionAssert.AreEqual(new[] { 7, 20, 60 }, SuccessiveHalvingScheduler.ComputeRungs(5, 60, 3));
        CollectionAssert.AreEqual(new[] { 2, 6 }, SuccessiveHalvingScheduler.ComputeRungs(2, 6, 3));
        CollectionAssert.AreEqual(new[] { 10 }, SuccessiveHalvingScheduler.ComputeRungs(10, 10, 3));
        CollectionAssert.AreEqual(new[] { 1, 2, 4, 8 }, SuccessiveHalvingScheduler.ComputeRungs(1, 8, 2));

        var scheduler = new SuccessiveHalvingScheduler(2, 18, 3);
        CollectionAssert.AreEqual(new[] { 2, 6, 18 }, scheduler.RungEpochs.ToArray());
        FffTrialConfiguration[] configurations = new MLContext(0).Fff().CreateExperiment().SetSearchSpace(TinySpace(2, 18)).PreviewConfigurations(6).ToArray();
        int id = 0;
        FffTrialResult Finish(FffTrialConfiguration c, int rung, double metric, int neurons, FffTrialStatus status = FffTrialStatus.Succeeded)
        {
            var t = new FffTrialResult(++id, c, rung, null) { Status = status, Metric = metric, NeuronsPerRow = neurons, MeetsConstraints = status == FffTrialStatus.Succeeded };
            scheduler.Report(t, higherIsBetter: true);
            return t;
        }

        Assert.IsNull(scheduler.NextPromotion(), "nothing to promote before a rung has eta results");
        Finish(configurations[0], 0, 0.80, 50);
        Finish(configurations[1], 0, double.NaN, 10, FffTrialStatus.Failed);
        Assert.IsNull(scheduler.NextPromotion());
        Finish(configurations[2], 0, 0.90, 100);
        var promotion = scheduler.NextPromotion();
        Assert.IsNotNull(promotion, "3 results in rung 0 -> the top 1 is promoted");
        Assert.AreEqual(3, promotion.Value.From, "the most accurate trial goes up first");
        Assert.AreEqual(1, promotion.Value.Rung);
        Assert.AreEqual(6, promotion.Value.Configuration.NumberOfEpochs);
        Assert.AreEqual(configurations[2].Seed, promotion.Value.Configuration.Seed, "a promotion retrains the same configuration");
        Assert.IsNull(scheduler.NextPromotion(), "promoted only once");

        // Three more: 6 results -> 2 slots. Trial 1 (0.80, 50 neurons) and trial 6 (0.85, 20 neurons) are both on the front
        // with trial 3; trial 6 outranks trial 1 on the metric, so it takes the second slot.
        Finish(configurations[3], 0, 0.70, 200);
        Finish(configurations[4], 0, 0.60, 300);
        Finish(configurations[5], 0, 0.85, 20);
        promotion = scheduler.NextPromotion();
        Assert.AreEqual(6, promotion!.Value.From, "a cheap trial on the (metric, neurons) front is promoted too");
        Assert.IsNull(scheduler.NextPromotion());
    }

    [TestMethod]
    public void ParetoFrontKeepsOnlyNonDominatedTrials()
    {
        FffTrialConfiguration c = new MLContext(0).Fff().CreateExperiment().PreviewConfigurations(1)[0];
        int id = 0;
        FffTrialResult T(double metric, double micros, FffTrialStatus status = FffTrialStatus.Succeeded)
            => new(++id, c, 0, null) { Metric = metric, MicrosecondsPerRow = micros, Status = status };
        FffTrialResult[] trials =
        {
            T(0.90, 1.0), T(0.95, 2.0), T(0.94, 3.0), T(0.97, 10.0), T(0.80, 0.5), T(0.97, 12.0), T(0.99, 0.1, FffTrialStatus.Failed), T(0.90, 1.0),
        };
        FffTrialResult[] front = FffExperimentResult.ComputeParetoFront(trials, higherIsBetter: true);
        CollectionAssert.AreEqual(new[] { 5, 1, 2, 4 }, front.Select(t => t.TrialId).ToArray());

        // Lower is better (log-loss): the front is the trials with the lowest loss for their latency.
        front = FffExperimentResult.ComputeParetoFront(trials, higherIsBetter: false);
        CollectionAssert.AreEqual(new[] { 5 }, front.Select(t => t.TrialId).ToArray());
    }

    [TestMethod]
    public void InvalidSettingsAreRejectedNamingTheOption()
    {
        var ml = new MLContext(0);
        FffExperiment e = Experiment(ml);
        Assert.AreEqual("seconds", Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => e.SetTrainingTimeInSeconds(0)).ParamName);
        Assert.AreEqual("maxTrials", Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => e.SetMaxTrials(0)).ParamName);
        Assert.AreEqual("reductionFactor", Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => e.SetSearchStrategy(FffSearchStrategy.SuccessiveHalving, 1)).ParamName);
        Assert.AreEqual("microsecondsPerRow", Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => e.SetMaxLatency(double.NaN)).ParamName);
        Assert.AreEqual("maxNeuronsPerRow", Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => e.SetMaxNeuronsPerRow(0)).ParamName);
        Assert.AreEqual("validationFraction", Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => e.SetDataset(ml.Fff().SampleData.Digits(), 1.0)).ParamName);
        Assert.AreEqual("numberOfFolds", Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => e.SetDataset(ml.Fff().SampleData.Digits(), 1)).ParamName);
        Assert.AreEqual("numberOfFolds", Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => e.SetDataset(ml.Fff().SampleData.Digits(), 51)).ParamName);
        Assert.AreEqual("kinds", Assert.ThrowsExactly<ArgumentException>(() => e.SetModelKinds()).ParamName);
        Assert.AreEqual("metric", Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => e.SetMulticlassClassificationMetric((FffMulticlassMetric)42)).ParamName);

        Assert.ThrowsExactly<InvalidOperationException>(() => e.Run(), "no dataset");
        e.SetDataset(ml.Fff().SampleData.Digits());
        StringAssert.Contains(Assert.ThrowsExactly<InvalidOperationException>(() => e.Run()).Message, "SetMulticlassClassificationMetric");
        e.SetMulticlassClassificationMetric();

        // The search space is checked before anything trains; only the options of the chosen kinds matter.
        var space = TinySpace();
        space.Depths = Array.Empty<int>();
        Assert.AreEqual("Depths", Assert.ThrowsExactly<ArgumentException>(() => e.SetSearchSpace(space).Run()).ParamName);
        e.SetModelKinds(FffArchitecture.Dense);
        space.MinEpochs = 10;
        Assert.AreEqual("MinEpochs", Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => e.Run()).ParamName);
        space = TinySpace();
        space.MaxLearningRate = 1e-4f;
        Assert.AreEqual("MaxLearningRate", Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => e.SetSearchSpace(space).Run()).ParamName);
        space = TinySpace();
        space.TopK = new[] { 8 };
        Assert.AreEqual("TopK", Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => e.SetSearchSpace(space).SetModelKinds(FffArchitecture.MixtureOfExperts).Run()).ParamName);
        Assert.AreEqual("maxNeuronsPerRow", Assert.ThrowsExactly<ArgumentOutOfRangeException>(
            () => e.SetSearchSpace(TinySpace()).SetModelKinds(FffArchitecture.Dense).SetMaxNeuronsPerRow(4).PreviewConfigurations(1)).ParamName);
        // Cross-validation: a sampling key that is not a column, and more folds than the data can fill, are named when the experiment runs.
        ArgumentException noKey = Assert.ThrowsExactly<ArgumentException>(() => Experiment(ml)
            .SetDataset(ml.Fff().SampleData.Digits(), 3, samplingKeyColumnName: "UserId").SetMulticlassClassificationMetric().SetSearchSpace(TinySpace()).Run());
        Assert.AreEqual("samplingKeyColumnName", noKey.ParamName);
        StringAssert.Contains(noKey.Message, "'UserId'");
        ArgumentOutOfRangeException tooMany = Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => Experiment(ml)
            .SetDataset(TestData.MulticlassData(ml, count: 12), 10).SetMulticlassClassificationMetric().SetSearchSpace(TinySpace()).Run());
        Assert.AreEqual("numberOfFolds", tooMany.ParamName);
        StringAssert.Contains(tooMany.Message, "fewer folds");
        // A label the task cannot use.
        Assert.AreEqual("labelColumnName", Assert.ThrowsExactly<ArgumentException>(() => Experiment(ml)
            .SetDataset(ml.Fff().SampleData.Digits()).SetBinaryClassificationMetric().SetSearchSpace(TinySpace()).Run()).ParamName);
    }

    [TestMethod]
    public void DigitsSweepFindsAccurateSavableModel()
    {
        var ml = new MLContext(seed: 0);
        IDataView digits = ml.Fff().SampleData.Digits();
        var recorder = new Recorder();
        FffExperimentResult result = Experiment(ml)
            .SetDataset(digits, validationFraction: 0.2)
            .SetMulticlassClassificationMetric(FffMulticlassMetric.MicroAccuracy)
            .SetSearchSpace(TinySpace(2, 6))
            .SetMaxTrials(9)
            .SetNumberOfThreads(1)
            .SetSeed(3)
            .Run(recorder);

        Assert.AreEqual(FffExperimentStopReason.MaxTrials, result.StopReason);
        Assert.HasCount(9, result.Trials);
        Assert.IsTrue(result.Trials.All(t => t.Status == FffTrialStatus.Succeeded), string.Join("\n", result.Trials));
        Assert.IsTrue(result.Trials.Any(t => t.Rung == 1 && t.PromotedFrom != null && t.Configuration.NumberOfEpochs == 6), "successive halving promoted a configuration");
        Assert.IsTrue(result.Trials.All(t => t.MicrosecondsPerRow > 0 && t.NeuronsPerRow > 0 && t.TrainingTime > TimeSpan.Zero));
        Assert.IsGreaterThanOrEqualTo(0.85, result.BestTrial.Metric, result.FormatLeaderboard());
        Assert.AreEqual(result.Trials.Max(t => t.Metric), result.BestTrial.Metric);
        Assert.AreSame(result.BestTrial, result.Leaderboard[0]);

        // Progress: one start and one finish per trial, in order, with the best so far never getting worse.
        FffExperimentProgress[] reports = recorder.Reports.ToArray();
        Assert.HasCount(18, reports);
        for (int i = 0; i < reports.Length; i += 2)
        {
            Assert.AreEqual(FffExperimentEvent.TrialStarted, reports[i].Event);
            Assert.AreEqual(FffExperimentEvent.TrialFinished, reports[i + 1].Event);
            Assert.AreSame(reports[i].Trial, reports[i + 1].Trial);
        }
        double[] bestSoFar = reports.Where(r => r.Event == FffExperimentEvent.TrialFinished).Select(r => r.BestSoFar!.Metric).ToArray();
        for (int i = 1; i < bestSoFar.Length; i++)
            Assert.IsGreaterThanOrEqualTo(bestSoFar[i - 1], bestSoFar[i]);

        // Pareto front: fastest first, metric rising, nobody outside it dominates a member, every member keeps its model.
        IReadOnlyList<FffTrialResult> front = result.ParetoFront;
        Assert.IsNotEmpty(front);
        Assert.IsTrue(front.Contains(result.BestTrial));
        for (int i = 1; i < front.Count; i++)
        {
            Assert.IsGreaterThan(front[i - 1].MicrosecondsPerRow, front[i].MicrosecondsPerRow);
            Assert.IsGreaterThan(front[i - 1].Metric, front[i].Metric);
        }
        foreach (FffTrialResult member in front)
        {
            Assert.IsNotNull(member.Model);
            Assert.IsFalse(result.Trials.Any(o => o.Metric >= member.Metric && o.MicrosecondsPerRow < member.MicrosecondsPerRow));
        }
        Assert.IsTrue(result.Trials.Where(t => !front.Contains(t)).All(t => t.Model is null), "models off the front are released");

        // The best model is a whole pipeline: raw Single labels in, Single PredictedLabel out; it saves and loads on a fresh context.
        string path = Path.Combine(Path.GetTempPath(), $"fff-experiment-{Guid.NewGuid():N}.zip");
        try
        {
            result.SaveBestModel(path);
            var fresh = new MLContext(seed: 1);
            ITransformer loaded = fresh.Model.Load(path, out DataViewSchema inputSchema);
            Assert.IsNotNull(inputSchema.GetColumnOrNull("Features"));
            float[] before = Predictions(ml, result.Model, digits);
            float[] after = Predictions(fresh, loaded, digits);
            CollectionAssert.AreEqual(before, after);
            float[] labels = ml.Data.CreateEnumerable<DigitRow>(digits, false).Select(r => r.Label).ToArray();
            Assert.IsGreaterThan(0.85, before.Zip(labels, (p, l) => p == l ? 1.0 : 0.0).Average(), "the saved pipeline predicts digits as Single labels");
        }
        finally
        {
            File.Delete(path);
        }
        StringAssert.Contains(result.FormatLeaderboard(3), "| trial | rung | MicroAccuracy |");
    }

    private sealed class DigitRow
    {
        public float Label { get; set; }
    }

    private sealed class PredictionRow
    {
        public float PredictedLabel { get; set; }
    }

    private static float[] Predictions(MLContext ml, ITransformer model, IDataView data)
        => ml.Data.CreateEnumerable<PredictionRow>(model.Transform(data), false).Select(r => r.PredictedLabel).ToArray();

    [TestMethod]
    public void CrossValidationAveragesTheFoldsAndKeepsTheBestFoldsModel()
    {
        var ml = new MLContext(seed: 0);
        IDataView data = TestData.MulticlassData(ml, count: 240);
        const int Folds = 3, Seed = 4;
        FffExperimentResult result = Experiment(ml)
            .SetDataset(data, Folds)
            .SetMulticlassClassificationMetric()
            .SetSearchSpace(TinySpace(30, 30))
            .SetSearchStrategy(FffSearchStrategy.RandomSearch)
            .SetMaxTrials(3)
            .SetNumberOfThreads(1)
            .SetSeed(Seed)
            .Run();

        Assert.IsTrue(result.Trials.All(t => t.Status == FffTrialStatus.Succeeded), string.Join("\n", result.Trials));
        foreach (FffTrialResult t in result.Trials)
        {
            Assert.HasCount(Folds, t.FoldMetrics, t.ToString());
            Assert.AreEqual(t.FoldMetrics.Average(), t.Metric, 1e-12, "the trial's metric is the mean over the folds");
            Assert.IsTrue(t.FoldMetrics.All(m => m > 0.4 && m <= 1), string.Join(", ", t.FoldMetrics) + " " + t);
        }

        // The folds are the experiment seed's CrossValidationSplit of the data: the best trial's model is the one trained without the
        // fold it scored best on, so on that fold's rows it reproduces exactly that fold's metric.
        FffTrialResult best = result.BestTrial;
        int bestFold = best.FoldMetrics.ToList().IndexOf(best.FoldMetrics.Max());
        IReadOnlyList<DataOperationsCatalog.TrainTestData> folds = ml.Data.CrossValidationSplit(data, Folds, seed: Seed);
        double onBestFold = ml.MulticlassClassification.Evaluate(result.Model.Transform(folds[bestFold].TestSet)).MicroAccuracy;
        Assert.AreEqual(best.FoldMetrics[bestFold], onBestFold, 1e-9);

        // The leaderboard adds the spread over the folds.
        string[] lines = result.FormatLeaderboard(1).Split('\n');
        StringAssert.StartsWith(lines[0], "| trial | rung | MicroAccuracy | fold sd | us/row |");
        double mean = best.FoldMetrics.Average();
        double sd = Math.Sqrt(best.FoldMetrics.Sum(m => (m - mean) * (m - mean)) / (Folds - 1));
        StringAssert.Contains(lines[2], $"| {best.Metric.ToString("F4", CultureInfo.InvariantCulture)} | {sd.ToString("F4", CultureInfo.InvariantCulture)} |");

        // A single validation split leaves FoldMetrics empty.
        FffExperimentResult split = Experiment(ml).SetDataset(data, 0.25).SetMulticlassClassificationMetric().SetSearchSpace(TinySpace(2, 2))
            .SetModelKinds(FffArchitecture.Dense).SetMaxTrials(1).SetNumberOfThreads(1).Run();
        Assert.IsEmpty(split.Trials[0].FoldMetrics);
        StringAssert.StartsWith(split.FormatLeaderboard(1), "| trial | rung | MicroAccuracy | us/row |");
    }

    [TestMethod]
    public void CrossValidationKeepsRowsOfOneGroupInOneFold()
    {
        var ml = new MLContext(seed: 0);
        // 60 groups of 4 rows (e.g. 4 readings per user): with the sampling key, a group never straddles two folds.
        List<GroupedRow> rows = TestData.Synthetic(240, 6, seed: 7, x => x[0] > 0.3f ? "a" : x[1] > 0 ? "b" : "c")
            .Select((r, i) => new GroupedRow { Features = r.Features, Label = r.Label, Group = i / 4 }).ToList();
        SchemaDefinition schema = SchemaDefinition.Create(typeof(GroupedRow));
        schema[nameof(GroupedRow.Features)].ColumnType = new VectorDataViewType(NumberDataViewType.Single, 6);
        IDataView data = ml.Data.LoadFromEnumerable(rows, schema);
        const int Folds = 3, Seed = 2;
        FffExperimentResult result = Experiment(ml)
            .SetDataset(data, Folds, samplingKeyColumnName: nameof(GroupedRow.Group))
            .SetMulticlassClassificationMetric()
            .SetSearchSpace(TinySpace(30, 30))
            .SetModelKinds(FffArchitecture.Dense)
            .SetSearchStrategy(FffSearchStrategy.RandomSearch)
            .SetMaxTrials(1)
            .SetNumberOfThreads(1)
            .SetSeed(Seed)
            .Run();

        FffTrialResult best = result.BestTrial;
        Assert.HasCount(Folds, best.FoldMetrics);
        IReadOnlyList<DataOperationsCatalog.TrainTestData> folds = ml.Data.CrossValidationSplit(data, Folds, nameof(GroupedRow.Group), Seed);
        foreach (DataOperationsCatalog.TrainTestData fold in folds)
        {
            var trainGroups = ml.Data.CreateEnumerable<GroupedRow>(fold.TrainSet, false).Select(r => r.Group).ToHashSet();
            Assert.IsFalse(ml.Data.CreateEnumerable<GroupedRow>(fold.TestSet, false).Any(r => trainGroups.Contains(r.Group)));
        }
        // The experiment used these grouped folds: the returned model reproduces its fold's metric on that fold's rows.
        int bestFold = best.FoldMetrics.ToList().IndexOf(best.FoldMetrics.Max());
        Assert.AreEqual(best.FoldMetrics[bestFold], ml.MulticlassClassification.Evaluate(result.Model.Transform(folds[bestFold].TestSet)).MicroAccuracy, 1e-9);
    }

    private sealed class GroupedRow
    {
        public float[] Features { get; set; } = Array.Empty<float>();

        public string Label { get; set; } = "";

        public int Group { get; set; }
    }

    [TestMethod]
    public void SameSeedGivesTheSameTrials()
    {
        var ml = new MLContext(seed: 0);
        IDataView data = TestData.MulticlassData(ml, count: 240);
        string[] Run(int seed) => Experiment(ml)
            .SetDataset(data, 0.25)
            .SetMulticlassClassificationMetric()
            .SetSearchSpace(TinySpace(1, 3))
            .SetMaxTrials(5)
            .SetNumberOfThreads(1)
            .SetSeed(seed)
            .Run()
            .Trials.Select(t => $"{t.Rung} {t.PromotedFrom} {t.Configuration} {t.Metric:R} {t.NeuronsPerRow}").ToArray();
        string[] first = Run(11);
        CollectionAssert.AreEqual(first, Run(11));
        CollectionAssert.AreNotEqual(first, Run(12));
    }

    [TestMethod]
    public void FailingTrialsAreRecordedAndTheSweepGoesOn()
    {
        var ml = new MLContext(seed: 0);
        // 2^16 leaves of 8,192 neurons cannot be stored: the FFF trainer rejects the shape when training starts, naming the option.
        FffSearchSpace space = TinySpace(2, 2);
        space.Depths = new[] { 16 };
        space.LeafWidths = new[] { 8192 };
        FffExperimentResult result = Experiment(ml)
            .SetDataset(TestData.RegressionData(ml, count: 200), 0.25)
            .SetRegressionMetric(FffRegressionMetric.MeanAbsoluteError)
            .SetModelKinds(FffArchitecture.FastFeedForward, FffArchitecture.Dense)
            .SetSearchSpace(space)
            .SetSearchStrategy(FffSearchStrategy.RandomSearch)
            .SetMaxTrials(6)
            .SetNumberOfThreads(1)
            .SetSeed(5)
            .Run();
        FffTrialResult[] failed = result.Trials.Where(t => t.Status == FffTrialStatus.Failed).ToArray();
        Assert.IsNotEmpty(failed, string.Join("\n", result.Trials));
        Assert.IsTrue(failed.All(t => t.Configuration.Architecture == FffArchitecture.FastFeedForward && t.Error != null && t.Exception != null && t.Model is null));
        StringAssert.Contains(failed[0].Error, "Depth");
        Assert.IsTrue(result.Trials.Any(t => t.Status == FffTrialStatus.Succeeded));
        Assert.AreEqual(FffArchitecture.Dense, result.BestTrial.Configuration.Architecture);
        // Lower is better: the best trial has the smallest error.
        Assert.IsFalse(result.HigherIsBetter);
        Assert.AreEqual(result.Trials.Where(t => t.Status == FffTrialStatus.Succeeded).Min(t => t.Metric), result.BestTrial.Metric);
        Assert.AreSame(result.BestTrial, result.Leaderboard[0]);
        Assert.AreEqual(FffTrialStatus.Failed, result.Leaderboard[^1].Status);
    }

    [TestMethod]
    public void LatencyConstraintChoosesTheBestFastModel()
    {
        var ml = new MLContext(seed: 0);
        FffExperiment FourDenseTrials() => Experiment(ml)
            .SetDataset(TestData.BinaryData(ml, count: 200), 0.3)
            .SetBinaryClassificationMetric(FffBinaryMetric.AreaUnderRocCurve)
            .SetModelKinds(FffArchitecture.Dense)
            .SetSearchSpace(TinySpace(3, 3))
            .SetSearchStrategy(FffSearchStrategy.RandomSearch)
            .SetMaxTrials(4)
            .SetNumberOfThreads(1)
            .SetSeed(2);
        FffExperimentResult result = FourDenseTrials().Run();
        Assert.IsTrue(result.Trials.All(t => t.Status == FffTrialStatus.Succeeded), string.Join("\n", result.Trials));
        // The same sweep under an impossible limit (same seed, same configurations).
        FffExperimentResult constrained = FourDenseTrials()
            .SetMaxLatency(1e-6)
            .Run();
        Assert.IsFalse(constrained.BestTrial.MeetsConstraints, "nothing meets 1 picosecond per row; the fastest trial stands in");
        Assert.AreEqual(constrained.Trials.Min(t => t.MicrosecondsPerRow), constrained.BestTrial.MicrosecondsPerRow);
        CollectionAssert.AreEqual(result.Trials.Select(t => t.Configuration.ToString()).ToArray(), constrained.Trials.Select(t => t.Configuration.ToString()).ToArray());
        Assert.IsTrue(constrained.Trials.All(t => !t.MeetsConstraints));
    }

    [TestMethod]
    public void CancellingMidTrialReturnsTheBestModelWithinTwoSeconds()
    {
        var ml = new MLContext(seed: 0);
        IDataView digits = ml.Fff().SampleData.Digits();
        using var cancel = new CancellationTokenSource();
        long cancelledAt = 0;
        // Trials of a wide dense network for 100 epochs take over a second each on a fast core (25 epochs took only 0.3 s,
        // which let the second trial finish before the cancel); cancel 300 ms into the second one, mid-training.
        var recorder = new Recorder(p =>
        {
            if (p.Event == FffExperimentEvent.TrialStarted && p.Trial.TrialId == 2)
            {
                new Thread(() =>
                {
                    Thread.Sleep(300);
                    Interlocked.Exchange(ref cancelledAt, Stopwatch.GetTimestamp());
                    cancel.Cancel();
                }) { IsBackground = true }.Start();
            }
        });
        FffSearchSpace space = TinySpace(100, 100);
        space.DenseHiddenLayerWidths = new[] { new[] { 512 } };
        FffExperimentResult result = Experiment(ml)
            .SetDataset(digits, 0.2)
            .SetMulticlassClassificationMetric()
            .SetModelKinds(FffArchitecture.Dense)
            .SetSearchSpace(space)
            .SetNumberOfThreads(1)
            .Run(recorder, cancel.Token);
        double secondsToReturn = Stopwatch.GetElapsedTime(Interlocked.Read(ref cancelledAt)).TotalSeconds;
        Console.WriteLine($"Returned {secondsToReturn:F3}s after cancelling.");

        Assert.AreEqual(FffExperimentStopReason.Cancelled, result.StopReason);
        Assert.HasCount(2, result.Trials);
        Assert.AreEqual(FffTrialStatus.Succeeded, result.Trials[0].Status);
        Assert.AreEqual(FffTrialStatus.Cancelled, result.Trials[1].Status, "the second trial was stopped mid-training");
        Assert.AreSame(result.Trials[0], result.BestTrial);
        // 2 s is the promise; the margin is for a loaded CI machine.
        Assert.IsLessThan(2.5, secondsToReturn);
        float[] predictions = Predictions(ml, result.Model, digits);
        Assert.HasCount(1797, predictions);
        Assert.IsGreaterThan(0.8, result.BestTrial.Metric);

        // Cancelled before any trial finishes: nothing to return.
        using var already = new CancellationTokenSource();
        already.Cancel();
        Assert.ThrowsExactly<OperationCanceledException>(() => Experiment(ml).SetDataset(digits).SetMulticlassClassificationMetric()
            .SetSearchSpace(TinySpace()).Run(null, already.Token));
    }
}
