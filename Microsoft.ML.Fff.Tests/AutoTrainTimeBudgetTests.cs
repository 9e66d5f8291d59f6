using System;
using System.Collections.Generic;
using System.Linq;
using Microsoft.ML.Data;
using Microsoft.ML.Fff;
using Microsoft.VisualStudio.TestTools.UnitTesting;

namespace Microsoft.ML.Fff.Tests;

/// <summary>
/// <c>Fff().Train</c> with <see cref="FffAutoTrainOptions.TimeBudget"/>: an experiment within the budget, the best pipeline back with
/// the columns of a single fit. No timed assertions: the budget decides how many trials run, and the log says which.
/// </summary>
[TestClass]
public sealed class AutoTrainTimeBudgetTests
{
    [ClassInitialize]
    public static void UseOneTorchThread(TestContext context) => OneTorchThread.Enter();

    [ClassCleanup]
    public static void RestoreTorchThreads() => OneTorchThread.Exit();

    [TestMethod]
    public void Train_WithTimeBudget_RunsAnExperiment_AndReturnsAModelThatScoresDataWithoutLabel()
    {
        var mlContext = new MLContext(seed: 0);
        var log = new List<string>();
        mlContext.Log += (_, e) =>
        {
            if (e.Source is "FffAutoTrain" or "FffExperiment")
            {
                lock (log)
                    log.Add(e.Message);
            }
        };
        IDataView data = mlContext.Data.LoadFromEnumerable(Rows(400, seed: 3));
        var options = new FffAutoTrainOptions { TimeBudget = TimeSpan.FromSeconds(4), NumberOfEpochs = 6 };

        ITransformer model = mlContext.Fff().Train(data, nameof(Row.Label), options);

        string text = string.Join("\n", log);
        StringAssert.Contains(text, "Time budget 4.0 s", "the plan of the sweep is logged");
        StringAssert.Contains(text, "(TimeBudget)", "the budget, not a trial limit, ended the experiment");
        // One line per trial on the experiment's channel: "#<id> r<rung> <status> metric ...".
        int trials = log.Count(m => System.Text.RegularExpressions.Regex.IsMatch(m, @"FffExperiment.*\] #\d+ r\d+ "));
        Assert.IsGreaterThanOrEqualTo(1, trials, text);
        StringAssert.Contains(text, $"{trials} trials in", "the summary counts every logged trial");
        Assert.IsNull(options.Depth, "the options are never modified");

        // Data without the label column scores, with the same output columns as a single fit.
        IDataView unlabeled = mlContext.Data.LoadFromEnumerable(Rows(50, seed: 4).Select(r => new Unlabeled { X = r.X, Y = r.Y, Color = r.Color }));
        IDataView scored = model.Transform(unlabeled);
        foreach (string column in new[] { "Score", "Probability", "PredictedLabel" })
            Assert.IsNotNull(scored.Schema.GetColumnOrNull(column), column);
        ITransformer single = mlContext.Fff().Train(data, nameof(Row.Label), new FffAutoTrainOptions { NumberOfEpochs = 1 });
        CollectionAssert.AreEqual(Visible(single.Transform(unlabeled)), Visible(scored), "the same columns as without a budget (temporaries dropped)");
        Assert.HasCount(50, scored.GetColumn<float>("Score").ToArray());
        Assert.IsGreaterThan(0.9, mlContext.BinaryClassification.Evaluate(model.Transform(data), nameof(Row.Label)).AreaUnderRocCurve);
    }

    [TestMethod]
    public void Train_WithTimeBudget_MapsAStringLabelBack()
    {
        var mlContext = new MLContext(seed: 0);
        IDataView data = mlContext.Data.LoadFromEnumerable(Rows(300, seed: 5).Select(r => new StringLabel { X = r.X, Y = r.Y, Color = r.Color, Kind = r.Color }));
        ITransformer model = mlContext.Fff().Train(data, nameof(StringLabel.Kind),
            new FffAutoTrainOptions { TimeBudget = TimeSpan.FromSeconds(3), NumberOfEpochs = 4 });

        string[] predicted = model.Transform(data).GetColumn<string>("PredictedLabel").ToArray();
        CollectionAssert.IsSubsetOf(predicted.Distinct().ToArray(), new[] { "red", "green", "blue" }, "multiclass predictions come back as the label's strings");
    }

    [TestMethod]
    public void Train_WithTimeBudget_RejectsNonPositiveBudgets_AndWeights()
    {
        var mlContext = new MLContext(seed: 0);
        IDataView data = mlContext.Data.LoadFromEnumerable(Rows(40, seed: 1));
        foreach (TimeSpan budget in new[] { TimeSpan.Zero, TimeSpan.FromSeconds(-1) })
        {
            var e = Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => mlContext.Fff().Train(data, nameof(Row.Label), new FffAutoTrainOptions { TimeBudget = budget }));
            Assert.AreEqual(nameof(FffAutoTrainOptions.TimeBudget), e.ParamName);
            StringAssert.Contains(e.Message, "greater than zero");
        }
        var weighted = Assert.ThrowsExactly<ArgumentException>(() => mlContext.Fff().Train(data, nameof(Row.Label),
            new FffAutoTrainOptions { TimeBudget = TimeSpan.FromSeconds(5), ExampleWeightColumnName = nameof(Row.X) }));
        Assert.AreEqual(nameof(FffAutoTrainOptions.TimeBudget), weighted.ParamName);
        var staged = Assert.ThrowsExactly<ArgumentException>(() => mlContext.Fff().Train(data, nameof(Row.Label),
            new FffAutoTrainOptions { TimeBudget = TimeSpan.FromSeconds(5), NumericEmbedding = FffNumericEmbedding.PiecewiseLinear }));
        Assert.AreEqual(nameof(FffAutoTrainOptions.TimeBudget), staged.ParamName);
        StringAssert.Contains(staged.Message, nameof(FffAutoTrainOptions.NumericEmbedding));
    }

    [TestMethod]
    public void TimeBudgetSearchKeepsASetEnsembleSize()
    {
        var choices = AutoTrainChoices.Choose(1_000, 10, new FffAutoTrainOptions());
        CollectionAssert.AreEqual(new[] { 3 }, AutoTrainSweep.SearchSpace(choices, new FffAutoTrainOptions { EnsembleSize = 3 }).EnsembleSizes.ToArray());
        CollectionAssert.AreEqual(new[] { 1 }, AutoTrainSweep.SearchSpace(choices, new FffAutoTrainOptions()).EnsembleSizes.ToArray());
    }

    [TestMethod]
    public void Train_WithATinyTimeBudget_SaysSo()
    {
        var mlContext = new MLContext(seed: 0);
        IDataView data = mlContext.Data.LoadFromEnumerable(Rows(40, seed: 1));
        // A microsecond is over before the featurization is fitted.
        var e = Assert.ThrowsExactly<InvalidOperationException>(() => mlContext.Fff().Train(data, nameof(Row.Label),
            new FffAutoTrainOptions { TimeBudget = TimeSpan.FromTicks(10) }));
        StringAssert.Contains(e.Message, nameof(FffAutoTrainOptions.TimeBudget));
        StringAssert.Contains(e.Message, "too short");
    }

    private static string[] Visible(IDataView view) => view.Schema.Where(c => !c.IsHidden).Select(c => $"{c.Name}:{c.Type}").ToArray();

    private static IEnumerable<Row> Rows(int count, int seed)
    {
        var random = new Random(seed);
        string[] colors = { "red", "green", "blue" };
        for (int i = 0; i < count; i++)
        {
            float x = (float)(random.NextDouble() * 2 - 1), y = (float)(random.NextDouble() * 2 - 1);
            string color = colors[random.Next(colors.Length)];
            yield return new Row { X = x, Y = y, Color = color, Label = x + 0.3f * y + (color == "red" ? 0.5f : 0) > 0.2f };
        }
    }

    private class Unlabeled
    {
        public float X { get; set; }
        public float Y { get; set; }
        public string Color { get; set; } = "";
    }

    private sealed class Row : Unlabeled
    {
        public bool Label { get; set; }
    }

    private sealed class StringLabel : Unlabeled
    {
        public string Kind { get; set; } = "";
    }
}
