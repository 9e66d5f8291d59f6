using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Linq;
using Microsoft.ML.Data;
using Microsoft.ML.Fff.Sweeps;
using Microsoft.ML.Runtime;
using static System.FormattableString;

namespace Microsoft.ML.Fff;

/// <summary>
/// <see cref="FffCatalog.Train"/> with <see cref="FffAutoTrainOptions.TimeBudget"/>: the plan's featurization is fitted once, an
/// experiment over FFF configurations (searched around the data-aware choices) runs for the rest of the budget, and the best trial's
/// model goes between the featurization and the plan's finishing steps, so the result has the same columns as a single fit.
/// </summary>
internal static class AutoTrainSweep
{
    // The experiment warms the scoring code up before timing trials; its latencies are only logged here (the best trial is the best
    // metric), so the warm-up gets a small share of the budget.
    private const double WarmUpShare = 0.05;
    private const int MaxWarmUpMilliseconds = 3000;
    // A validation split is needed to compare trials, also where a single fit holds none out (small data).
    private const double ValidationFractionWithoutHoldout = 0.2;
    // Successive halving's cheapest rung gets about this fraction of the full epochs (rungs max/9, max/3, max with factor 3).
    private const int FirstRungDivisor = 9;

    public static ITransformer Train(MLContext context, IDataView data, FffAutoTrainPlan plan, FffAutoTrainOptions options, Stopwatch clock)
    {
        TimeSpan budget = options.TimeBudget!.Value;
        using IChannel ch = ((IChannelProvider)context).Start("FffAutoTrain");
        TransformerChain<ITransformer> featurizer = plan.Featurization.Fit(data);
        IDataView featurized = featurizer.Transform(data);
        TimeSpan left = budget - clock.Elapsed;
        if (left <= TimeSpan.Zero)
            throw BudgetTooSmall(budget, $"the featurization alone took {clock.Elapsed.TotalSeconds:F1} s", null);

        FffAutoTrainChoices choices = plan.Training;
        FffSearchSpace space = SearchSpace(choices, options);
        double fraction = choices.ValidationFraction > 0 ? choices.ValidationFraction : ValidationFractionWithoutHoldout;
        int seed = options.Seed ?? ((IHostEnvironment)context).Register("FffAutoTrain").Rand.Next();
        FffExperiment experiment = new FffExperiment(context)
            .SetDataset(featurized, fraction)
            .SetFeatureColumn(plan.FeatureColumnName)
            .SetModelKinds(FffArchitecture.FastFeedForward)
            .SetSearchSpace(space)
            .SetSeed(seed)
            .SetNumberOfThreads(choices.NumberOfThreads)
            .SetTrainingTimeInSeconds(left.TotalSeconds);
        experiment = plan.Task switch
        {
            FffTask.BinaryClassification => experiment.SetBinaryClassificationMetric(FffBinaryMetric.AreaUnderRocCurve, plan.LabelColumnName),
            FffTask.MulticlassClassification => experiment.SetMulticlassClassificationMetric(FffMulticlassMetric.MicroAccuracy, plan.LabelColumnName),
            _ => experiment.SetRegressionMetric(FffRegressionMetric.RSquared, plan.LabelColumnName),
        };
        experiment.ScoringWarmUpMilliseconds = (int)Math.Min(MaxWarmUpMilliseconds, left.TotalMilliseconds * WarmUpShare);
        ch.Info(Invariant($"Time budget {budget.TotalSeconds:F1} s ({left.TotalSeconds:F1} s left after the featurization): an experiment over FFF configurations ") +
            Invariant($"(depths {string.Join("/", space.Depths)}, leaf widths {string.Join("/", space.LeafWidths)}, batch sizes {string.Join("/", space.BatchSizes)}, ") +
            Invariant($"learning rate {space.MinLearningRate:G3} to {space.MaxLearningRate:G3}, {space.MinEpochs} to {space.MaxEpochs} epochs), validation fraction {fraction:0.###}, seed {seed}."));

        FffExperimentResult result;
        try
        {
            result = experiment.Run();
        }
        catch (InvalidOperationException e)
        {
            throw BudgetTooSmall(budget, "no experiment trial finished in it", e);
        }
        ch.Info(Invariant($"Time budget {budget.TotalSeconds:F1} s: {result.Trials.Count} trials in {result.Duration.TotalSeconds:F1} s ({result.StopReason}); ") +
            Invariant($"best #{result.BestTrial.TrialId} {result.BestTrial.Configuration}, validation {result.MetricName} {result.BestTrial.Metric:F4}.") +
            Environment.NewLine + result.FormatLeaderboard());

        // The finishing steps (readable predicted label, temporary columns dropped) are fitted on the best model's output.
        TransformerChain<ITransformer> model = featurizer.Append(result.Model);
        IDataView scored = result.Model.Transform(featurized);
        foreach (IEstimator<ITransformer> step in plan.Finishing)
        {
            ITransformer fitted = step.Fit(scored);
            scored = fitted.Transform(scored);
            model = model.Append(fitted);
        }
        return model;
    }

    /// <summary>The search space: what the options set is fixed, the rest spans the data-aware choices.</summary>
    internal static FffSearchSpace SearchSpace(FffAutoTrainChoices choices, FffAutoTrainOptions options)
    {
        int depth = choices.Depth;
        int maxEpochs = choices.NumberOfEpochs;
        int batch = choices.BatchSize;
        float rate = choices.LearningRate;
        return new FffSearchSpace
        {
            // Shallower trees than the fragmentation rule allows, never deeper.
            Depths = options.Depth.HasValue ? new[] { depth } : Enumerable.Range(Math.Max(0, depth - 2), Math.Min(depth, 2) + 1).ToArray(),
            LeafWidths = options.LeafWidth is int width ? new[] { width } : new[] { choices.LeafWidth / 2, choices.LeafWidth, Math.Min(choices.LeafWidth * 2, FffDefaults.MaxLeafWidth) }.Distinct().ToArray(),
            BatchSizes = options.BatchSize.HasValue ? new[] { batch } : new[] { Math.Max(16, batch / 2), batch, batch * 2 }.Distinct().ToArray(),
            MinLearningRate = options.LearningRate.HasValue ? rate : rate / 3,
            MaxLearningRate = options.LearningRate.HasValue ? rate : rate * 2,
            MaxEpochs = maxEpochs,
            MinEpochs = Math.Max(1, maxEpochs / FirstRungDivisor),
            EnsembleSizes = new[] { options.EnsembleSize ?? choices.EnsembleSize },
        };
    }

    private static InvalidOperationException BudgetTooSmall(TimeSpan budget, string what, Exception? inner)
        => new(Invariant($"Option {nameof(FffAutoTrainOptions)}.{nameof(FffAutoTrainOptions.TimeBudget)} ({budget.TotalSeconds:F1} s) is too short: {what}") +
            (inner is null ? "" : $" ({inner.Message})") + $". Raise {nameof(FffAutoTrainOptions.TimeBudget)}, or set it to null for a single training run.", inner);
}
