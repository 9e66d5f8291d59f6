using System;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.Diagnostics;
using System.Globalization;
using System.Linq;
using System.Runtime.ExceptionServices;
using System.Threading.Tasks;
using Microsoft.ML.Data;
using Microsoft.ML.Fff.Scoring;
using Microsoft.ML.Runtime;
using TorchSharp;

namespace Microsoft.ML.Fff.Training;

/// <summary>
/// Chooses the number of epochs among <see cref="FeedForwardOptionsBase.EpochCandidates"/> by k-fold cross-validation. On small data
/// no fixed count fits every table (longer training helps non-linear tables and overfits near-linear ones), and a single holdout
/// of a few dozen rows is too noisy to tell them apart; pooled out-of-fold scores judge every row once.
/// </summary>
internal static class EpochSelection
{
    /// <summary>Out-of-fold AUC or accuracy by which more epochs must beat fewer to be chosen.</summary>
    internal const double ClassificationMargin = 0.005;

    /// <summary>Out-of-fold R² by which more epochs must beat fewer to be chosen.</summary>
    internal const double RegressionMargin = 0.01;

    /// <summary>Fewest rows in each fold's held-out part; with fewer the choice is skipped (the first candidate trains).</summary>
    internal const int MinRowsPerFold = 16;

    /// <summary>
    /// Trains every candidate on every fold's training part with <paramref name="train"/> (side by side, one run per core), scores
    /// the fold's held-out rows by hard descent, and returns the candidate whose pooled out-of-fold metric (AUC for binary, accuracy
    /// for multiclass, R² for regression) is best, a longer candidate only by more than a margin (<see cref="ClassificationMargin"/>,
    /// <see cref="RegressionMargin"/>). <c>null</c> when the data cannot be split usefully (the reason is logged).
    /// </summary>
    public static int? Choose(IChannel ch, IHost host, FeedForwardOptionsBase options, RoleMappedData data, LabelKind kind, int seed,
        Func<IChannel, FeedForwardOptionsBase, RoleMappedData, FeedForwardNetwork> train)
    {
        int[] candidates = options.EpochCandidates!.Distinct().Order().ToArray();
        int folds = options.EpochSelectionFolds;
        if (candidates.Length < 2)
            return candidates.Length == 1 ? candidates[0] : null;
        var clock = Stopwatch.StartNew();
        IReadOnlyList<DataOperationsCatalog.TrainTestData> splits = new MLContext(seed).Data.CrossValidationSplit(data.Data, folds, seed: seed);
        var held = new TrainingTable[folds];
        long rows = 0, positives = 0;
        for (int f = 0; f < folds; f++)
        {
            long count = AutoTrainPlanner.CountRows(splits[f].TestSet);
            if (count < MinRowsPerFold)
            {
                ch.Info($"Epoch selection skipped: a fold of the {folds}-fold split holds {count} rows (fewer than {MinRowsPerFold}); training {options.NumberOfEpochs} epochs.");
                return null;
            }
            held[f] = TrainingData.Scan(ch, SameRoles(data, splits[f].TestSet), kind, inMemoryLimitBytes: 0, evaluationRows: int.MaxValue, seed).EvaluationSample;
            rows += held[f].RowCount;
            positives += kind == LabelKind.Binary ? held[f].Labels.Count(label => label > 0) : 0;
        }
        if (kind == LabelKind.Binary)
        {
            for (int f = 0; f < folds; f++)
            {
                long foldPositives = positives - held[f].Labels.Count(label => label > 0), foldRows = rows - held[f].RowCount;
                if (foldPositives == 0 || foldPositives == foldRows)
                {
                    ch.Info($"Epoch selection skipped: a fold's training part holds one class only ({positives} positive of {rows} rows); training {options.NumberOfEpochs} epochs.");
                    return null;
                }
            }
        }

        int width = kind == LabelKind.Multiclass ? held[0].ClassCount : 1;
        var labels = new float[rows];
        for (int f = 0, at = 0; f < folds; at += held[f].RowCount, f++)
            held[f].Labels.AsSpan(0, held[f].RowCount).CopyTo(labels.AsSpan(at));
        // Every (candidate, fold) run is independent: they train side by side, one per core, each on one libtorch thread.
        (int Candidate, int Fold)[] jobs = (from c in Enumerable.Range(0, candidates.Length) from f in Enumerable.Range(0, folds) select (c, f)).ToArray();
        FeedForwardOptionsBase[] runOptions = candidates.Select(epochs => options.ForRun(epochs, isFold: true)).ToArray();
        var networks = new FeedForwardNetwork[jobs.Length];
        TorchRuntime.Initialize(options.Device);
        int previousThreads = torch.get_num_threads();
        torch.set_num_threads(1);
        try
        {
            var parallel = new ParallelOptions { MaxDegreeOfParallelism = Math.Min(jobs.Length, Environment.ProcessorCount) };
            // Longest runs first, each handed to whichever core is free: a 200-epoch run takes about three 60-epoch ones, and handed
            // out in candidate order the long runs came last and one core waited for the other (docs/tabular.md "Epoch selection, longest runs first").
            int[] order = Enumerable.Range(0, jobs.Length).OrderByDescending(j => candidates[jobs[j].Candidate]).ThenBy(j => j).ToArray();
            Parallel.ForEach(Partitioner.Create(order, EnumerablePartitionerOptions.NoBuffering), parallel, j =>
            {
                (int c, int f) = jobs[j];
                using IChannel foldChannel = host.Start($"Epoch selection ({candidates[c]} epochs, fold {f + 1} of {folds})");
                networks[j] = train(foldChannel, runOptions[c], SameRoles(data, splits[f].TrainSet));
            });
        }
        catch (AggregateException e) when (e.InnerExceptions.Count > 0)
        {
            // The first failure as itself (a cancellation, a diverged run), not wrapped.
            ExceptionDispatchInfo.Capture(e.InnerExceptions[0]).Throw();
            throw;
        }
        finally
        {
            torch.set_num_threads(previousThreads);
        }

        var metrics = new double[candidates.Length];
        var outputs = new float[rows * width];
        for (int c = 0; c < candidates.Length; c++)
        {
            for (int f = 0, at = 0; f < folds; at += held[f].RowCount, f++)
                FeedForwardTrainingSession.ScoreHard(networks[c * folds + f], held[f], outputs.AsSpan(at * width, held[f].RowCount * width));
            metrics[c] = Metric(kind, outputs, labels, width);
        }

        // More epochs cost more training time and, on a few hundred rows, a lead of a few thousandths is noise (swisslabor, 687 rows:
        // 0.0023 AUC out of fold, 0.07 worse on the test rows): a longer candidate must win by more than the margin.
        double margin = kind == LabelKind.Regression ? RegressionMargin : ClassificationMargin;
        int best = 0;
        for (int c = 1; c < candidates.Length; c++)
        {
            if (metrics[c] > metrics[best] + margin)
                best = c;
        }
        string name = kind switch { LabelKind.Binary => "AUC", LabelKind.Multiclass => "accuracy", _ => "R²" };
        string scores = string.Join(", ", candidates.Select((epochs, c) => $"{epochs} epochs {metrics[c].ToString("F4", CultureInfo.InvariantCulture)}"));
        ch.Info($"Epoch selection ({folds}-fold cross-validation on {rows:N0} rows, hard-descent out-of-fold {name}): {scores}; " +
            $"training {candidates[best]} epochs on all rows ({clock.Elapsed.TotalSeconds:F1}s for the selection).");
        return candidates[best];
    }

    /// <summary>The same column roles over another view of the same schema (a split of <paramref name="data"/>).</summary>
    internal static RoleMappedData SameRoles(RoleMappedData data, IDataView view)
        => new(view, label: data.Schema.Label?.Name, feature: data.Schema.Feature?.Name, weight: data.Schema.Weight?.Name);

    /// <summary>
    /// The hard-descent value by which both the epochs of a run (with a validation set) and the candidates here are compared: AUC
    /// for binary (ties count half; accuracy would keep an untrained epoch on rare positives), otherwise the epochs' own metric.
    /// </summary>
    internal static double Metric(LabelKind kind, float[] outputs, float[] labels, int width)
        => kind == LabelKind.Binary ? AreaUnderCurve(outputs, labels) : FeedForwardTrainingSession.Metric(kind, outputs, labels, width);

    /// <summary>Area under the ROC curve of <paramref name="scores"/> for labels above 0 (Mann-Whitney, average ranks for ties).</summary>
    internal static double AreaUnderCurve(float[] scores, float[] labels)
    {
        int[] order = Enumerable.Range(0, scores.Length).OrderBy(i => scores[i]).ToArray();
        double positiveRankSum = 0;
        long positives = 0;
        for (int start = 0; start < order.Length;)
        {
            int end = start;
            while (end < order.Length && scores[order[end]] == scores[order[start]])
                end++;
            double rank = (start + end + 1) / 2.0;   // average of the 1-based ranks start+1 .. end
            for (int i = start; i < end; i++)
            {
                if (labels[order[i]] > 0)
                {
                    positiveRankSum += rank;
                    positives++;
                }
            }
            start = end;
        }
        long negatives = scores.Length - positives;
        if (positives == 0 || negatives == 0)
            return 0.5;
        return (positiveRankSum - positives * (positives + 1) / 2.0) / ((double)positives * negatives);
    }
}
