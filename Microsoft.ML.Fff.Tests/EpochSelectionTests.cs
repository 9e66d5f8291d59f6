using System;
using System.Collections.Generic;
using System.Linq;
using Microsoft.ML.Data;
using Microsoft.ML.Fff.FastFeedForward;
using Microsoft.ML.Fff.Training;
using Microsoft.ML.Runtime;
using Microsoft.VisualStudio.TestTools.UnitTesting;

namespace Microsoft.ML.Fff.Tests;

/// <summary>
/// <c>Fff().Train</c> on small data compares numbers of epochs by k-fold cross-validation, then trains on all rows with the winner:
/// when it applies, what it logs, that the model is the one the winner trains directly, and the out-of-fold metric.
/// </summary>
[TestClass]
public sealed class EpochSelectionTests
{
    [ClassInitialize]
    public static void UseOneTorchThread(TestContext context) => OneTorchThread.Enter();

    [ClassCleanup]
    public static void RestoreTorchThreads() => OneTorchThread.Exit();

    [TestMethod]
    public void Choices_CompareEpochs_OnSmallDataOnly_AndFollowTheOptions()
    {
        var mlContext = new MLContext(seed: 0);
        FffAutoTrainChoices small = mlContext.Fff().CreatePlan(Data(mlContext, 300), "Label").Training;
        CollectionAssert.AreEqual(new[] { FffDefaults.NumberOfEpochs, FffAutoTrainChoices.LongNumberOfEpochs }, small.EpochCandidates.ToArray());
        Assert.AreEqual(FffDefaults.NumberOfEpochs, small.NumberOfEpochs, "the plan's epochs are the first candidate's");
        Assert.IsTrue(small.Reasons.Any(r => r.StartsWith($"epochs chosen between 60 and 200 by {FffAutoTrainChoices.EpochSelectionFolds}-fold", StringComparison.Ordinal)),
            string.Join("\n", small.Reasons));

        // Too few rows for useful folds, or enough for the fixed rule: no selection.
        Assert.AreEqual(0, mlContext.Fff().CreatePlan(Data(mlContext, FffAutoTrainChoices.MinRowsForEpochSelection - 1), "Label").Training.EpochCandidates.Count);
        Assert.AreEqual(0, mlContext.Fff().CreatePlan(Data(mlContext, FffAutoTrainChoices.MaxRowsForEpochSelection), "Label").Training.EpochCandidates.Count);
        // Setting the epochs or a holdout switches it off; an empty array too; a set list is used as given (sorted, distinct).
        Assert.AreEqual(0, Plan(mlContext, new FffAutoTrainOptions { NumberOfEpochs = 30 }).EpochCandidates.Count);
        Assert.AreEqual(0, Plan(mlContext, new FffAutoTrainOptions { ValidationFraction = 0.2 }).EpochCandidates.Count);
        FffAutoTrainChoices off = Plan(mlContext, new FffAutoTrainOptions { EpochCandidates = Array.Empty<int>() });
        Assert.AreEqual(0, off.EpochCandidates.Count);
        Assert.IsTrue(off.Reasons.Any(r => r.Contains("switched off by EpochCandidates", StringComparison.Ordinal)), string.Join("\n", off.Reasons));
        var options = new FffAutoTrainOptions { EpochCandidates = new[] { 90, 30, 90 } };
        CollectionAssert.AreEqual(new[] { 30, 90 }, Plan(mlContext, options).EpochCandidates.ToArray());
        CollectionAssert.AreEqual(new[] { 90, 30, 90 }, options.EpochCandidates, "the caller's options are not changed");

        var e = Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => Plan(mlContext, new FffAutoTrainOptions { EpochCandidates = new[] { 20, 0 } }));
        Assert.AreEqual(nameof(FffAutoTrainOptions.EpochCandidates), e.ParamName);
    }

    [TestMethod]
    public void Trainer_TrainsTheCrossValidatedWinner_OnAllRows_AsIfItWereSet()
    {
        // A non-linear regression on 240 rows: 2 epochs at batch 64 are far too few, 40 fit it; the selection must see that.
        var mlContext = new MLContext(seed: 0);
        IDataView data = Curve(mlContext, 240);
        var log = new List<string>();
        var kept = new List<string>();
        mlContext.Log += (_, e) =>
        {
            if (e.Kind != ChannelMessageKind.Info)
                return;
            lock (log)
            {
                if (e.Message.Contains("Epoch selection", StringComparison.Ordinal))
                    log.Add(e.Message);
                if (e.Message.Contains("kept epoch", StringComparison.Ordinal))
                    kept.Add(e.Message);
            }
        };
        FastFeedForwardRegressionTrainer.Options Options(int epochs, int[]? candidates) => new()
        {
            Depth = 1, LeafWidth = 8, NumberOfEpochs = epochs, EpochCandidates = candidates, Seed = 3, NumberOfThreads = 1,
        };

        var selected = mlContext.Regression.Trainers.FastFeedForward(Options(2, new[] { 40, 2 })).Fit(data);
        string summary = log.Single(m => m.Contains("Epoch selection (3-fold", StringComparison.Ordinal));
        StringAssert.Contains(summary, "training 40 epochs on all rows");
        StringAssert.Contains(summary, "on 240 rows");
        Assert.AreEqual(40, selected.Model.TrainingReport!.Epochs.Count, "the final run trains the winner's epochs");
        // Six fold runs and the final one each say what they kept; the folds measure nothing, so they print no metric (not "NaN").
        Assert.HasCount(7, kept, string.Join("\n", kept));
        Assert.IsFalse(kept.Any(m => m.Contains("NaN", StringComparison.Ordinal)), string.Join("\n", kept));

        // The same seed and the winner set directly give the same model, bit for bit: the folds leave no trace.
        var direct = mlContext.Regression.Trainers.FastFeedForward(Options(40, null)).Fit(data);
        CollectionAssert.AreEqual(Scores(selected, data), Scores(direct, data));
        double chosen = mlContext.Regression.Evaluate(selected.Transform(data)).RSquared;
        double shorter = mlContext.Regression.Evaluate(mlContext.Regression.Trainers.FastFeedForward(Options(2, null)).Fit(data).Transform(data)).RSquared;
        Assert.IsGreaterThan(shorter + 0.2, chosen, $"40 epochs fit the curve (R² {chosen:F3}), 2 do not ({shorter:F3})");
    }

    [TestMethod]
    public void Trainer_SkipsTheSelection_WhenFoldsWouldBeTooSmall()
    {
        var mlContext = new MLContext(seed: 0);
        IDataView data = Curve(mlContext, 30);
        var log = new List<string>();
        mlContext.Log += (_, e) => { if (e.Message.Contains("Epoch selection", StringComparison.Ordinal) && e.Kind == ChannelMessageKind.Info) lock (log) log.Add(e.Message); };
        var options = new FastFeedForwardRegressionTrainer.Options { Depth = 0, LeafWidth = 4, NumberOfEpochs = 3, EpochCandidates = new[] { 3, 9 }, Seed = 1, NumberOfThreads = 1 };
        var model = mlContext.Regression.Trainers.FastFeedForward(options).Fit(data);
        StringAssert.Contains(log.Single(), "Epoch selection skipped: a fold of the 3-fold split holds");
        Assert.AreEqual(3, model.Model.TrainingReport!.Epochs.Count, "NumberOfEpochs trains when the selection is skipped");
    }

    [TestMethod]
    public void AreaUnderCurve_CountsPairs_AndHalvesTies()
    {
        // Positives 0.35 and 0.8 against negatives 0.1 and 0.4: 3 of 4 pairs ordered.
        Assert.AreEqual(0.75, EpochSelection.AreaUnderCurve(new[] { 0.1f, 0.4f, 0.35f, 0.8f }, new[] { 0f, 0f, 1f, 1f }), 1e-12);
        Assert.AreEqual(0.5, EpochSelection.AreaUnderCurve(new[] { 2f, 2f, 2f }, new[] { 0f, 1f, 1f }), 1e-12);
        Assert.AreEqual(1.0, EpochSelection.AreaUnderCurve(new[] { -3f, 5f, 4f, -1f, 7f }, new[] { 0f, 1f, 1f, 0f, 1f }), 1e-12);
        // One positive tied with one of two negatives: one pair won, one half.
        Assert.AreEqual(0.75, EpochSelection.AreaUnderCurve(new[] { 1f, 2f, 2f }, new[] { 0f, 0f, 1f }), 1e-12);
    }

    private static float[] Scores(ITransformer model, IDataView data) => model.Transform(data).GetColumn<float>("Score").ToArray();

    private static FffAutoTrainChoices Plan(MLContext mlContext, FffAutoTrainOptions options) => mlContext.Fff().CreatePlan(Data(mlContext, 300), "Label", options).Training;

    private static IDataView Data(MLContext mlContext, int rows)
    {
        var random = new Random(5);
        return mlContext.Data.LoadFromEnumerable(Enumerable.Range(0, rows).Select(_ =>
        {
            float x = (float)(random.NextDouble() * 2 - 1), y = (float)(random.NextDouble() * 2 - 1);
            return new PlanRow { X = x, Y = y, Label = x * y > 0 };
        }).ToList());
    }

    private sealed class PlanRow
    {
        public float X { get; set; }

        public float Y { get; set; }

        public bool Label { get; set; }
    }

    private static IDataView Curve(MLContext mlContext, int rows)
    {
        var random = new Random(11);
        return mlContext.Data.LoadFromEnumerable(Enumerable.Range(0, rows).Select(_ =>
        {
            float x = (float)(random.NextDouble() * 4 - 2), y = (float)(random.NextDouble() * 4 - 2);
            return new LabelledRow { Features = new[] { x, y }, Label = MathF.Sin(2 * x) + 0.5f * y * y };
        }).ToList());
    }

    private sealed class LabelledRow
    {
        [VectorType(2)]
        public float[] Features { get; set; } = Array.Empty<float>();

        public float Label { get; set; }
    }
}
