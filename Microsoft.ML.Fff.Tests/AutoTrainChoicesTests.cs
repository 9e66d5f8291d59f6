using System;
using System.Collections.Generic;
using System.Linq;
using Microsoft.ML.Data;
using Microsoft.ML.Fff;
using Microsoft.VisualStudio.TestTools.UnitTesting;

namespace Microsoft.ML.Fff.Tests;

/// <summary>The data-aware training settings of <c>Fff().Train</c>: chosen from the rows, logged, overridable, deterministic.</summary>
[TestClass]
public sealed class AutoTrainChoicesTests
{
    [ClassInitialize]
    public static void UseOneTorchThread(TestContext context) => OneTorchThread.Enter();

    [ClassCleanup]
    public static void RestoreTorchThreads() => OneTorchThread.Exit();

    [TestMethod]
    public void AutoTrain_Choices_DependOnRowCount()
    {
        FffAutoTrainChoices tiny = Plan(100).Training;
        FffAutoTrainChoices small = Plan(200).Training;
        FffAutoTrainChoices medium = Plan(6_000).Training;
        FffAutoTrainChoices held = Plan(FffAutoTrainChoices.MinRowsForHoldout).Training;
        FffAutoTrainChoices large = Plan(60_000).Training;

        Assert.AreEqual(100, tiny.RowCount);
        // Fragmentation: fewer rows, shallower trees (at least 64 rows per leaf on average).
        Assert.AreEqual(0, tiny.Depth);
        Assert.AreEqual(1, small.Depth);
        Assert.AreEqual(FffAutoTrainChoices.TableDepth, medium.Depth);
        // No holdout while every epoch runs anyway (a table below MinRowsForHoldout rows); a seeded tenth with early stopping from there.
        Assert.AreEqual(0.0, small.ValidationFraction);
        Assert.AreEqual(0, small.EarlyStoppingPatience);
        Assert.AreEqual(0.0, medium.ValidationFraction);
        Assert.AreEqual(0, medium.EarlyStoppingPatience);
        Assert.IsTrue(medium.Reasons.Any(r => r.StartsWith("no validation holdout: 6,000 rows (below 15,000)", StringComparison.Ordinal)), string.Join("\n", medium.Reasons));
        Assert.AreEqual(0.0, Plan(FffAutoTrainChoices.MinRowsForHoldout - 1).Training.ValidationFraction);
        Assert.AreEqual(FffAutoTrainChoices.DefaultValidationFraction, held.ValidationFraction);
        Assert.AreEqual(FffAutoTrainChoices.DefaultEarlyStoppingPatience, held.EarlyStoppingPatience);
        Assert.AreEqual(FffAutoTrainChoices.DefaultValidationFraction, large.ValidationFraction);
        // Images keep the holdout from MinImageRowsForHoldout rows: it also decides their shift augmentation.
        var image = new ImageShape(28, 28, 1, "test");
        Assert.AreEqual(FffAutoTrainChoices.DefaultValidationFraction,
            AutoTrainChoices.Choose(FffAutoTrainChoices.MinImageRowsForHoldout, 784, new FffAutoTrainOptions(), 10, image).ValidationFraction);
        Assert.AreEqual(0.0, AutoTrainChoices.Choose(FffAutoTrainChoices.MinImageRowsForHoldout - 1, 784, new FffAutoTrainOptions(), 10, image).ValidationFraction);
        // Larger data, larger batches and a higher learning rate; small narrow tables take batches of 256, at a higher rate below
        // MaxRowsForEpochSelection rows (an epoch of a few steps) than from there.
        FffAutoTrainChoices belowMedium = Plan(4_000).Training;
        Assert.AreEqual(256, small.BatchSize);
        Assert.AreEqual(256, belowMedium.BatchSize);
        Assert.AreEqual(FffDefaults.LearningRate, belowMedium.LearningRate);
        Assert.IsGreaterThan(belowMedium.LearningRate, small.LearningRate);
        Assert.AreEqual(256, Plan(FffAutoTrainChoices.MaxRowsForEpochSelection - 1).Training.BatchSize);
        Assert.AreEqual(256, Plan(FffAutoTrainChoices.MaxRowsForEpochSelection).Training.BatchSize);
        Assert.AreEqual(small.LearningRate, Plan(FffAutoTrainChoices.MaxRowsForEpochSelection - 1).Training.LearningRate);
        Assert.AreEqual(FffDefaults.LearningRate, Plan(FffAutoTrainChoices.MaxRowsForEpochSelection).Training.LearningRate);
        Assert.AreEqual(belowMedium.BatchSize, medium.BatchSize);
        Assert.IsGreaterThan(medium.BatchSize, held.BatchSize);
        Assert.IsGreaterThan(held.BatchSize, large.BatchSize);
        Assert.IsGreaterThan(medium.LearningRate, large.LearningRate);
        Assert.AreEqual(large.LearningRate, held.LearningRate, "batches of 512 take the large rate");
        // ... for narrow tables only: wide rows (text) and images keep the trainers' 64 below 5,000 rows and batches of 256 up to 50,000.
        Assert.AreEqual(FffDefaults.BatchSize, AutoTrainChoices.Choose(2_000, 1_000, new FffAutoTrainOptions()).BatchSize);
        Assert.AreEqual(FffDefaults.LearningRate, AutoTrainChoices.Choose(500, 1_000, new FffAutoTrainOptions()).LearningRate);
        Assert.AreEqual(FffDefaults.BatchSize, AutoTrainChoices.Choose(1_797, 64, new FffAutoTrainOptions(), 10, new ImageShape(8, 8, 1, "test")).BatchSize);
        Assert.AreEqual(256, AutoTrainChoices.Choose(20_000, 1_000, new FffAutoTrainOptions()).BatchSize);
        Assert.AreEqual(256, AutoTrainChoices.Choose(20_000, 784, new FffAutoTrainOptions(), 10, new ImageShape(28, 28, 1, "test")).BatchSize);
        Assert.AreEqual(512, AutoTrainChoices.Choose(20_000, FffAutoTrainChoices.MaxNarrowTableInputs, new FffAutoTrainOptions()).BatchSize);
        Assert.AreEqual(FffAutoTrainChoices.DefaultValidationFraction, AutoTrainChoices.Choose(FffAutoTrainChoices.MinImageRowsForHoldout, 1_000, new FffAutoTrainOptions()).ValidationFraction,
            "a wide table (text) keeps its holdout from 5,000 rows");
        // Epochs: the default up to about RowPassBudget / 60 training rows, then fitted to that many rows seen in all.
        Assert.AreEqual(FffDefaults.NumberOfEpochs, medium.NumberOfEpochs);
        Assert.AreEqual(15, large.NumberOfEpochs, "60,000 rows less the tenth held out: 800,000 / 54,000 rounded up");
    }

    [TestMethod]
    public void AutoTrain_EpochsAndThreads_FollowTheData_AndTheOptions()
    {
        FffAutoTrainChoices huge = Plan(300_000).Training;
        Assert.AreEqual(FffAutoTrainChoices.MinEpochs, huge.NumberOfEpochs, "however large the data, at least MinEpochs");
        Assert.IsTrue(huge.Reasons.Any(r => r.StartsWith($"at most {FffAutoTrainChoices.MinEpochs} epochs:", StringComparison.Ordinal)), string.Join("\n", huge.Reasons));
        // A batch's work decides: small batches, or a large batch of few features, train on one libtorch thread; a batch with a
        // large hidden layer, or a large input layer, gets libtorch's default. The limits below are for trees of depth 3 (training
        // width 256; Train's tables default to depth 2).
        Assert.AreEqual(1, Plan(200).Training.NumberOfThreads);
        Assert.AreEqual(1, huge.NumberOfThreads, "batch 1,024 x 256 leaf neurons x 2 features is too little to split among threads");
        Assert.AreEqual(1, AutoTrainChoices.Choose(300_000, 128, new FffAutoTrainOptions { Depth = 3 }).NumberOfThreads, "1,024 x 256 x 128 is the input limit itself");
        FffAutoTrainChoices wide = AutoTrainChoices.Choose(300_000, 129, new FffAutoTrainOptions { Depth = 3 });
        Assert.IsNull(wide.NumberOfThreads, "one input more is worth splitting among threads");
        Assert.IsTrue(wide.Reasons.Any(r => r.Contains("holds 262,144 values (batch 1024 x training width 256) and its input layer takes 33,816,576 multiply-adds", StringComparison.Ordinal)),
            string.Join("\n", wide.Reasons));
        Assert.IsNull(AutoTrainChoices.Choose(300_000, 2, new FffAutoTrainOptions { Depth = 3, BatchSize = 4_096 }).NumberOfThreads, "4,096 x 256 hidden values");
        // An ensemble's trees run one after another: one tree's width sizes each call (26 classes: 4 trees of 8 x 64 units, batch 512).
        FffAutoTrainChoices trees = AutoTrainChoices.Choose(16_000, 16, new FffAutoTrainOptions { Depth = 3 }, 26);
        Assert.AreEqual(FffAutoTrainChoices.ManyClassEnsembleSize, trees.EnsembleSize);
        Assert.AreEqual(512, trees.BatchSize);
        Assert.AreEqual(1, trees.NumberOfThreads, string.Join("\n", trees.Reasons));
        Assert.IsTrue(trees.Reasons.Any(r => r.Contains("(batch 512 x training width 512 per tree)", StringComparison.Ordinal)), string.Join("\n", trees.Reasons));
        Assert.AreEqual(1, AutoTrainChoices.Choose(300_000, 2, new FffAutoTrainOptions { Depth = 3, BatchSize = 2_048 }).NumberOfThreads, "2,048 x 256 is the values limit itself");
        var mlContext = new MLContext(seed: 0);
        FffAutoTrainChoices set = mlContext.Fff().CreatePlan(Data(mlContext, 300_000), "Label", new FffAutoTrainOptions { NumberOfEpochs = 60, NumberOfThreads = 2 }).Training;
        Assert.AreEqual(60, set.NumberOfEpochs);
        Assert.AreEqual(2, set.NumberOfThreads);
        var e = Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => mlContext.Fff().CreatePlan(Data(mlContext, 50), "Label", new FffAutoTrainOptions { NumberOfThreads = 0 }));
        Assert.AreEqual(nameof(FffAutoTrainOptions.NumberOfThreads), e.ParamName);
    }

    [TestMethod]
    public void AutoTrain_ItsOwnBatchLargerThanTheRows_IsNoWarning_ButTheUsersIs()
    {
        // 100 rows: Train chooses batches of 128 and trains on all 100 in one batch, which nobody asked to avoid; a user who sets
        // 128 is told the batch was cut.
        var mlContext = new MLContext(seed: 0);
        var warnings = new List<string>();
        var infos = new List<string>();
        mlContext.Log += (_, e) =>
        {
            if (!e.Message.Contains("is larger than the", StringComparison.Ordinal))
                return;
            lock (warnings)
                (e.Kind == Microsoft.ML.Runtime.ChannelMessageKind.Warning ? warnings : infos).Add(e.Message);
        };
        IDataView data = Data(mlContext, 100);
        Assert.AreEqual(256, mlContext.Fff().CreatePlan(data, "Label").Training.BatchSize);
        mlContext.Fff().Train(data, "Label", new FffAutoTrainOptions { NumberOfEpochs = 2 });
        Assert.IsEmpty(warnings, string.Join("\n", warnings));
        Assert.IsTrue(infos.Any(m => m.Contains("BatchSize 256 is larger than the 100 training rows", StringComparison.Ordinal)), string.Join("\n", infos));

        mlContext.Fff().Train(data, "Label", new FffAutoTrainOptions { NumberOfEpochs = 2, BatchSize = 128 });
        Assert.HasCount(1, warnings);
        StringAssert.Contains(warnings[0], "BatchSize 128 is larger than the 100 training rows; using batches of 100.");
    }

    [TestMethod]
    public void AutoTrain_Choices_AreLoggedAndInThePlan()
    {
        var mlContext = new MLContext(seed: 0);
        var log = new List<string>();
        mlContext.Log += (_, e) => { if (e.Source == "FffAutoTrain") log.Add(e.Message); };
        FffAutoTrainPlan plan = mlContext.Fff().CreatePlan(Data(mlContext, 200), "Label");

        string text = string.Join("\n", log);
        foreach (string reason in plan.Training.Reasons)
            StringAssert.Contains(text, reason);
        Assert.IsTrue(plan.Training.Reasons.Any(r => r.StartsWith("depth 1:", StringComparison.Ordinal) && r.Contains("200 rows", StringComparison.Ordinal)), text);
        Assert.IsTrue(plan.Training.Reasons.Any(r => r.StartsWith("batch size 256:", StringComparison.Ordinal)), text);
        Assert.IsTrue(plan.Training.Reasons.Any(r => r.StartsWith("no validation holdout", StringComparison.Ordinal)), text);
        StringAssert.Contains(plan.ToString(), "depth 1:");
    }

    [TestMethod]
    public void AutoTrain_Choices_AreOverridable_AndOptionsStayUnchanged()
    {
        var mlContext = new MLContext(seed: 0);
        var options = new FffAutoTrainOptions { Depth = 2, BatchSize = 32, LearningRate = 0.02f, ValidationFraction = 0.25, EarlyStoppingPatience = 3, NumberOfEpochs = 7 };
        FffAutoTrainChoices chosen = mlContext.Fff().CreatePlan(Data(mlContext, 60_000), "Label", options).Training;

        Assert.AreEqual(2, chosen.Depth);
        Assert.AreEqual(32, chosen.BatchSize);
        Assert.AreEqual(0.02f, chosen.LearningRate);
        Assert.AreEqual(0.25, chosen.ValidationFraction);
        Assert.AreEqual(3, chosen.EarlyStoppingPatience);
        Assert.AreEqual(7, chosen.NumberOfEpochs);
        Assert.AreEqual(6, chosen.Reasons.Count(r => r.Contains("set by", StringComparison.Ordinal)), string.Join("\n", chosen.Reasons));

        // Unset options stay null: the choices live in the plan, never in the options.
        var defaults = new FffAutoTrainOptions();
        mlContext.Fff().CreatePlan(Data(mlContext, 60_000), "Label", defaults);
        Assert.IsNull(defaults.Depth);
        Assert.IsNull(defaults.BatchSize);
        Assert.IsNull(defaults.LearningRate);
        Assert.IsNull(defaults.ValidationFraction);
        Assert.IsNull(defaults.EarlyStoppingPatience);

        // A holdout of 0 switches validation off even on large data.
        FffAutoTrainChoices noHoldout = mlContext.Fff().CreatePlan(Data(mlContext, 60_000), "Label", new FffAutoTrainOptions { ValidationFraction = 0 }).Training;
        Assert.AreEqual(0.0, noHoldout.ValidationFraction);
        Assert.AreEqual(0, noHoldout.EarlyStoppingPatience);
    }

    [TestMethod]
    public void AutoTrain_Choices_OutOfRangeOptionsThrow()
    {
        var mlContext = new MLContext(seed: 0);
        IDataView data = Data(mlContext, 50);
        foreach ((string name, FffAutoTrainOptions options) in new[]
        {
            (nameof(FffAutoTrainOptions.BatchSize), new FffAutoTrainOptions { BatchSize = 0 }),
            (nameof(FffAutoTrainOptions.LearningRate), new FffAutoTrainOptions { LearningRate = 0 }),
            (nameof(FffAutoTrainOptions.LearningRate), new FffAutoTrainOptions { LearningRate = float.NaN }),
            (nameof(FffAutoTrainOptions.ValidationFraction), new FffAutoTrainOptions { ValidationFraction = 0.6 }),
            (nameof(FffAutoTrainOptions.ValidationFraction), new FffAutoTrainOptions { ValidationFraction = -0.1 }),
            (nameof(FffAutoTrainOptions.EarlyStoppingPatience), new FffAutoTrainOptions { EarlyStoppingPatience = -1 }),
        })
        {
            var e = Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => mlContext.Fff().CreatePlan(data, "Label", options), name);
            Assert.AreEqual(name, e.ParamName);
        }
    }

    [TestMethod]
    public void Train_WithHoldout_StopsEarlyOnAnEasySet_AndIsDeterministic()
    {
        // An easy set (the label is the sign of one feature): the validation metric stops improving long before 60 epochs.
        float[] Run()
        {
            var mlContext = new MLContext(seed: 0);
            IDataView data = Data(mlContext, 1_000);
            var epochs = new List<FffTrainingProgress>();
            var options = new FffAutoTrainOptions { ValidationFraction = 0.2, EarlyStoppingPatience = 2, Progress = new SyncProgress(epochs.Add) };
            ITransformer model = mlContext.Fff().Train(data, "Label", options);
            Assert.IsLessThan(FffDefaults.NumberOfEpochs, epochs.Count, "early stopping ends training before the epoch cap");
            Assert.IsGreaterThan(0.95, mlContext.BinaryClassification.Evaluate(model.Transform(data)).AreaUnderRocCurve);
            return model.Transform(data).GetColumn<float>("Score").ToArray();
        }

        CollectionAssert.AreEqual(Run(), Run(), "same MLContext seed, same holdout, same model");
    }

    [TestMethod]
    public void AutoTrain_LeafWidthAndTrees_GrowWithManyClasses_AndAreOverridable()
    {
        var mlContext = new MLContext(seed: 0);
        // 26 classes: a 32-unit leaf would be narrower than its output layer; the leaf takes the power of two >= 2 x 26.
        FffAutoTrainChoices many = mlContext.Fff().CreatePlan(Classes(mlContext, 26, perClass: 200), "Label").Training;
        Assert.AreEqual(64, many.LeafWidth);
        Assert.IsTrue(many.Reasons.Any(r => r.StartsWith("leaf width 64: 26 classes", StringComparison.Ordinal)), string.Join("\n", many.Reasons));
        // ... and, on at least MinRowsForHoldout rows, several trees, averaged; on fewer rows one tree of the wide leaves.
        Assert.AreEqual(FffAutoTrainChoices.ManyClassEnsembleSize, many.EnsembleSize);
        FffAutoTrainChoices manySmall = mlContext.Fff().CreatePlan(Classes(mlContext, 26), "Label").Training;
        Assert.AreEqual(64, manySmall.LeafWidth);
        Assert.AreEqual(1, manySmall.EnsembleSize);
        Assert.IsTrue(many.Reasons.Any(r => r.StartsWith($"{FffAutoTrainChoices.ManyClassEnsembleSize} leaf trees, averaged: 26 classes", StringComparison.Ordinal)), string.Join("\n", many.Reasons));
        // Up to MaxClassesForDefaultLeaf classes, and for the other tasks, the defaults: one tree of 32-unit leaves.
        FffAutoTrainChoices few = mlContext.Fff().CreatePlan(Classes(mlContext, FffAutoTrainChoices.MaxClassesForDefaultLeaf), "Label").Training;
        Assert.AreEqual(FffDefaults.LeafWidth, few.LeafWidth);
        Assert.AreEqual(1, few.EnsembleSize);
        Assert.AreEqual(FffDefaults.LeafWidth, Plan(1_000).Training.LeafWidth);
        Assert.AreEqual(1, Plan(1_000).Training.EnsembleSize);
        // A few classes on at least MinRowsForWideClassLeaf rows of a narrow table: the wide leaf, one tree; one row fewer: the default.
        int perClass = FffAutoTrainChoices.MinRowsForWideClassLeaf / 5;
        FffAutoTrainChoices wide = mlContext.Fff().CreatePlan(Classes(mlContext, 5, perClass), "Label").Training;
        Assert.AreEqual(FffAutoTrainChoices.WideClassLeafWidth, wide.LeafWidth);
        Assert.AreEqual(1, wide.EnsembleSize);
        Assert.IsTrue(wide.Reasons.Any(r => r.StartsWith($"leaf width {FffAutoTrainChoices.WideClassLeafWidth}: 5 classes on 5,000 rows", StringComparison.Ordinal)), string.Join("\n", wide.Reasons));
        IDataView fewerRows = mlContext.Data.TakeRows(Classes(mlContext, 5, perClass), FffAutoTrainChoices.MinRowsForWideClassLeaf - 1);
        Assert.AreEqual(FffDefaults.LeafWidth, mlContext.Fff().CreatePlan(fewerRows, "Label").Training.LeafWidth);
        Assert.AreEqual(FffDefaults.LeafWidth, Plan(FffAutoTrainChoices.MinRowsForWideClassLeaf).Training.LeafWidth, "binary labels keep the default");
        // Set values win and the options stay as the caller left them.
        var options = new FffAutoTrainOptions { LeafWidth = 16, EnsembleSize = 2 };
        FffAutoTrainChoices set = mlContext.Fff().CreatePlan(Classes(mlContext, 26), "Label", options).Training;
        Assert.AreEqual(16, set.LeafWidth);
        Assert.AreEqual(2, set.EnsembleSize);
        Assert.AreEqual(16, options.LeafWidth);
        Assert.AreEqual(2, options.EnsembleSize);
        Assert.IsNull(new FffAutoTrainOptions().LeafWidth);
    }

    /// <summary>A String label with <paramref name="classes"/> values, <paramref name="perClass"/> rows each, and one numeric feature.</summary>
    private static IDataView Classes(MLContext mlContext, int classes, int perClass = 20)
        => mlContext.Data.LoadFromEnumerable(Enumerable.Range(0, classes * perClass).Select(i => new ClassRow { X = i % classes, Label = "c" + (i % classes) }));

    private sealed class ClassRow
    {
        public float X { get; set; }

        public string Label { get; set; } = "";
    }

    private static FffAutoTrainPlan Plan(int rows)
    {
        var mlContext = new MLContext(seed: 0);
        return mlContext.Fff().CreatePlan(Data(mlContext, rows), "Label");
    }

    private static IDataView Data(MLContext mlContext, int rows)
    {
        var random = new Random(7);
        var list = new List<Row>(rows);
        for (int i = 0; i < rows; i++)
        {
            float x = (float)(random.NextDouble() * 2 - 1), y = (float)(random.NextDouble() * 2 - 1);
            list.Add(new Row { X = x, Y = y, Label = x + 0.1f * y > 0 });
        }
        return mlContext.Data.LoadFromEnumerable(list);
    }

    private sealed class Row
    {
        public float X { get; set; }
        public float Y { get; set; }
        public bool Label { get; set; }
    }

    private sealed class SyncProgress : IProgress<FffTrainingProgress>
    {
        private readonly Action<FffTrainingProgress> _report;

        public SyncProgress(Action<FffTrainingProgress> report) => _report = report;

        public void Report(FffTrainingProgress value) => _report(value);
    }
}
