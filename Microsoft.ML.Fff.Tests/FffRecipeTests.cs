using System;
using System.Collections.Generic;
using System.Linq;
using Microsoft.ML.Data;
using Microsoft.ML.Fff;
using Microsoft.ML.Fff.FastFeedForward;
using Microsoft.VisualStudio.TestTools.UnitTesting;

namespace Microsoft.ML.Fff.Tests;

/// <summary>The complete FFF recipe: master leaf, load balancing with its two-phase schedule, input dropout, label smoothing.</summary>
[TestClass]
public sealed class FffRecipeTests
{
    [TestMethod]
    public void MasterLeafModelsPassTheWorkout()
    {
        var mlContext = new MLContext(seed: 1);
        var binary = mlContext.BinaryClassification.Trainers.FastFeedForward(new FastFeedForwardBinaryTrainer.Options
        {
            Depth = 2, LeafWidth = 8, MasterLeafWidth = 4, NumberOfEpochs = 30, NumberOfThreads = 1,
        });
        EstimatorWorkout.Run(binary, TestData.BinaryData(mlContext), new[] { "Score", "Probability", "PredictedLabel" },
            (ml, scored) => Assert.IsGreaterThan(0.8, ml.BinaryClassification.Evaluate(scored).AreaUnderRocCurve));

        // Regression exercises the folding of the label standardization into both the leaves and the master leaf.
        var regression = mlContext.Regression.Trainers.FastFeedForward(new FastFeedForwardRegressionTrainer.Options
        {
            Depth = 2, LeafWidth = 8, MasterLeafWidth = 4, NumberOfEpochs = 30, NumberOfThreads = 1,
        });
        ITransformer model = EstimatorWorkout.Run(regression, TestData.RegressionData(mlContext), new[] { "Score" },
            (ml, scored) => Assert.IsGreaterThan(0.5, ml.Regression.Evaluate(scored).RSquared));
        var parameters = ((RegressionPredictionTransformer<FffRegressionModelParameters>)model).Model;
        Assert.AreEqual(2 + 8 + 4, parameters.NeuronsPerRow);
        Assert.AreEqual(4 * 8 + 4, parameters.TrainingWidth);
        StringAssert.Contains(parameters.Description, "master leaf 4");
    }

    [TestMethod]
    public void MasterLeafTrainsItsMixOnDigits()
    {
        var mlContext = new MLContext(seed: 0);
        var split = mlContext.Data.TrainTestSplit(mlContext.Fff().SampleData.Digits(), testFraction: 0.2, seed: 0);
        var model = mlContext.Transforms.Conversion.MapValueToKey("Label")
            .Append(mlContext.MulticlassClassification.Trainers.FastFeedForward(new FastFeedForwardMulticlassTrainer.Options
            {
                MasterLeafWidth = 8, NumberOfThreads = 1,
            }))
            .Fit(split.TrainSet);
        double accuracy = mlContext.MulticlassClassification.Evaluate(model.Transform(split.TestSet)).MicroAccuracy;
        Console.WriteLine($"digits with master leaf 8: hard accuracy {accuracy:F4}");
        Assert.IsGreaterThanOrEqualTo(0.95, accuracy);
        var network = (FastFeedForwardNetwork)NetworkChecks.Unclamped(model.LastTransformer.Model.Network);
        // kappa starts at 0 (k = 1/2) and is trained.
        Assert.AreNotEqual(0f, network.MasterMix[0]);
        Assert.IsTrue(network.LeafShare is > 0 and < 1);
    }

    [TestMethod]
    public void LoadBalancingIsOnInTheFirstPartOfTheSoftPhaseOnly()
    {
        var reports = new List<FffTrainingProgress>();
        var mlContext = new MLContext(seed: 0);
        var options = new FastFeedForwardMulticlassTrainer.Options
        {
            Depth = 3, LeafWidth = 8, NumberOfEpochs = 10, HardFineTuneFraction = 0.2f, NumberOfThreads = 1,
            LoadBalancingWeight = 0.5f, LoadBalancingFraction = 0.5f, HardeningSchedule = FffHardeningSchedule.TwoPhase,
            Progress = new SynchronousProgress<FffTrainingProgress>(reports.Add),
        };
        mlContext.Transforms.Conversion.MapValueToKey("Label")
            .Append(mlContext.MulticlassClassification.Trainers.FastFeedForward(options))
            .Fit(mlContext.Fff().SampleData.Digits());
        FffTrainingProgress[] soft = reports.Where(r => r.Phase == FffTrainingPhase.Soft).ToArray();
        Assert.HasCount(8, soft);
        Assert.HasCount(2, reports.Where(r => r.Phase == FffTrainingPhase.HardFineTune).ToArray());
        // N * sum_j f_j P_j is at least about 1 (perfect balance gives 1, imbalance more) while on; reported as 0 after.
        foreach (FffTrainingProgress on in soft.Take(4))
            Assert.IsTrue(on.BalanceLoss is > 0.5 and < 8, $"epoch {on.Epoch}: balance {on.BalanceLoss}");
        foreach (FffTrainingProgress off in soft.Skip(4).Concat(reports.Where(r => r.Phase == FffTrainingPhase.HardFineTune)))
            Assert.AreEqual(0, off.BalanceLoss, $"epoch {off.Epoch}");
        Assert.IsGreaterThan(0.85, reports[^1].HardMetric);
    }

    [TestMethod]
    public void LoadBalancingSpreadsRowsOverMoreLeaves()
    {
        // Same data and seed, with and without the balance loss: the balanced model's leaves are used more evenly.
        double Spread(float balance)
        {
            var mlContext = new MLContext(seed: 0);
            var model = mlContext.Transforms.Conversion.MapValueToKey("Label")
                .Append(mlContext.MulticlassClassification.Trainers.FastFeedForward(new FastFeedForwardMulticlassTrainer.Options
                {
                    Depth = 4, LeafWidth = 4, NumberOfEpochs = 8, NumberOfThreads = 1, LoadBalancingWeight = balance, LoadBalancingFraction = 1,
                }))
                .Fit(mlContext.Fff().SampleData.Digits());
            var network = (FastFeedForwardNetwork)NetworkChecks.Unclamped(model.LastTransformer.Model.Network);
            var counts = new int[network.LeafCount];
            foreach (var row in mlContext.Data.CreateEnumerable<DigitsRow>(mlContext.Fff().SampleData.Digits(), reuseRowObject: false))
                counts[network.FindLeaf(row.Features)]++;
            double total = counts.Sum();
            // Entropy of the leaf occupancy, in nats (ln 16 ≈ 2.77 for perfectly even use).
            return -counts.Where(c => c > 0).Sum(c => c / total * Math.Log(c / total));
        }
        double plain = Spread(0), balanced = Spread(2);
        Console.WriteLine($"leaf occupancy entropy: without balancing {plain:F3}, with {balanced:F3} (max {Math.Log(16):F3})");
        Assert.IsGreaterThan(plain, balanced);
    }

    [TestMethod]
    public void InputDropoutAndLabelSmoothingAreSeededAndChangeTheModel()
    {
        float[] Scores(float dropout, float smoothing)
        {
            var mlContext = new MLContext(seed: 0);
            var trainer = mlContext.BinaryClassification.Trainers.FastFeedForward(new FastFeedForwardBinaryTrainer.Options
            {
                Depth = 2, LeafWidth = 8, NumberOfEpochs = 5, NumberOfThreads = 1, InputDropout = dropout, LabelSmoothing = smoothing,
            });
            IDataView data = TestData.BinaryData(mlContext);
            return EstimatorWorkout.ReadScores(trainer.Fit(data).Transform(data));
        }
        float[] plain = Scores(0, 0), dropout = Scores(0.2f, 0), smoothing = Scores(0, 0.1f);
        CollectionAssert.AreEqual(EstimatorWorkout.Bits(dropout), EstimatorWorkout.Bits(Scores(0.2f, 0)), "input dropout is seeded");
        CollectionAssert.AreNotEqual(EstimatorWorkout.Bits(plain), EstimatorWorkout.Bits(dropout));
        CollectionAssert.AreNotEqual(EstimatorWorkout.Bits(plain), EstimatorWorkout.Bits(smoothing));
        // Smoothed targets never ask for infinite logits: the scores stay smaller in magnitude.
        Assert.IsLessThan(plain.Max(Math.Abs), smoothing.Max(Math.Abs));
    }

    [TestMethod]
    public void RecipeOptionsAreValidated()
    {
        var mlContext = new MLContext(seed: 0);
        void Rejected(string option, Action<FastFeedForwardBinaryTrainer.Options> set)
        {
            var options = new FastFeedForwardBinaryTrainer.Options();
            set(options);
            var e = Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => mlContext.BinaryClassification.Trainers.FastFeedForward(options));
            Assert.AreEqual(option, e.ParamName);
        }
        Rejected("MasterLeafWidth", o => o.MasterLeafWidth = -1);
        Rejected("LoadBalancingWeight", o => o.LoadBalancingWeight = float.NaN);
        Rejected("LoadBalancingFraction", o => o.LoadBalancingFraction = 1.5f);
        Rejected("InputDropout", o => o.InputDropout = 1);
        Rejected("LabelSmoothing", o => o.LabelSmoothing = -0.1f);
        Rejected("HardeningSchedule", o => o.HardeningSchedule = (FffHardeningSchedule)7);
        Rejected("NumberOfTrees", o => o.NumberOfTrees = 0);
        Rejected("DistillationTeacherWidth", o => o.DistillationTeacherWidth = -1);
        Rejected("FineTuneSoftTargetWeight", o => o.FineTuneSoftTargetWeight = 1.5f);
        Rejected("DistillationWeight", o => o.DistillationWeight = 2);
        Rejected("DistillationTemperature", o => o.DistillationTemperature = 0.5f);
    }

    [TestMethod]
    public void DistillationFromADenseTeacherTrainsEveryTask()
    {
        var mlContext = new MLContext(seed: 0);
        var split = mlContext.Data.TrainTestSplit(mlContext.Fff().SampleData.Digits(), testFraction: 0.2, seed: 0);
        var reports = new List<FffTrainingProgress>();
        var options = new FastFeedForwardMulticlassTrainer.Options
        {
            Depth = 3, LeafWidth = 16, NumberOfEpochs = 20, NumberOfThreads = 1, DistillationTeacherWidth = 128,
            Progress = new SynchronousProgress<FffTrainingProgress>(reports.Add),
        };
        var model = mlContext.Transforms.Conversion.MapValueToKey("Label")
            .Append(mlContext.MulticlassClassification.Trainers.FastFeedForward(options))
            .Fit(split.TrainSet);
        double accuracy = mlContext.MulticlassClassification.Evaluate(model.Transform(split.TestSet)).MicroAccuracy;
        Console.WriteLine($"digits, FFF depth 3 x 16 distilled from a dense 128 teacher: hard accuracy {accuracy:F4}");
        Assert.IsGreaterThanOrEqualTo(0.95, accuracy);
        // The progress reports the student's epochs only; the model is the FFF alone.
        Assert.HasCount(20, reports);
        Assert.AreEqual(FffArchitecture.FastFeedForward, model.LastTransformer.Model.Architecture);

        // Binary and regression use their own teacher terms (sigmoid cross-entropy, squared error).
        var binary = mlContext.BinaryClassification.Trainers.FastFeedForward(new FastFeedForwardBinaryTrainer.Options
        {
            Depth = 2, LeafWidth = 8, NumberOfEpochs = 10, NumberOfThreads = 1, DistillationTeacherWidth = 16,
        });
        IDataView binaryData = TestData.BinaryData(mlContext);
        Assert.IsGreaterThan(0.8, mlContext.BinaryClassification.Evaluate(binary.Fit(binaryData).Transform(binaryData)).AreaUnderRocCurve);
        double RSquared(int teacherWidth)
        {
            var regression = mlContext.Regression.Trainers.FastFeedForward(new FastFeedForwardRegressionTrainer.Options
            {
                Depth = 2, LeafWidth = 8, NumberOfEpochs = 30, NumberOfThreads = 1, DistillationTeacherWidth = teacherWidth,
            });
            IDataView regressionData = TestData.RegressionData(mlContext);
            return mlContext.Regression.Evaluate(regression.Fit(regressionData).Transform(regressionData)).RSquared;
        }
        double plain = RSquared(0), distilled = RSquared(32);
        Console.WriteLine($"regression R²: plain {plain:F4}, distilled from a dense 32 teacher {distilled:F4}");
        Assert.IsGreaterThan(0.5, distilled);
    }

    [TestMethod]
    public void SelfDistillationTeachesHardDescentTheSoftFunction()
    {
        // Same data and seeds with and without soft targets in the fine-tune phase: the soft targets pull the hard function
        // towards the soft one, so the two agree on more test rows, on average over three splits (one split of 365 test rows
        // moves by a row or two either way).
        FffSoftHardGap Gap(float weight, int seed)
        {
            var mlContext = new MLContext(seed: seed);
            var split = mlContext.Data.TrainTestSplit(mlContext.Fff().SampleData.Digits(), testFraction: 0.2, seed: seed);
            var model = mlContext.Transforms.Conversion.MapValueToKey("Label")
                .Append(mlContext.MulticlassClassification.Trainers.FastFeedForward(new FastFeedForwardMulticlassTrainer.Options
                {
                    Depth = 4, LeafWidth = 8, NumberOfEpochs = 20, NumberOfThreads = 1, FineTuneSoftTargetWeight = weight,
                }))
                .Fit(split.TrainSet);
            return mlContext.Fff().EvaluateSoftHardGap(model, split.TestSet);
        }
        FffSoftHardGap[] plain = Enumerable.Range(0, 3).Select(seed => Gap(0, seed)).ToArray();
        FffSoftHardGap[] self = Enumerable.Range(0, 3).Select(seed => Gap(0.9f, seed)).ToArray();
        for (int i = 0; i < 3; i++)
            Console.WriteLine($"digits depth 4 x 8, split {i}: without soft targets hard {plain[i].HardMetric:F4} agreement {plain[i].Agreement:F4}; with: hard {self[i].HardMetric:F4} agreement {self[i].Agreement:F4}");
        Assert.IsGreaterThan(plain.Average(g => g.Agreement), self.Average(g => g.Agreement));
        Assert.IsGreaterThanOrEqualTo(0.9, self.Average(g => g.HardMetric));
    }

    [TestMethod]
    public void DistillationNeedsTheDataInMemory()
    {
        var mlContext = new MLContext(seed: 0);
        var trainer = mlContext.BinaryClassification.Trainers.FastFeedForward(new FastFeedForwardBinaryTrainer.Options
        {
            Depth = 1, LeafWidth = 4, NumberOfEpochs = 1, DistillationTeacherWidth = 8, InMemoryLimitMegabytes = 0,
        });
        var e = Assert.ThrowsExactly<InvalidOperationException>(() => trainer.Fit(TestData.BinaryData(mlContext)));
        StringAssert.Contains(e.Message, "InMemoryLimitMegabytes");
        var self = mlContext.BinaryClassification.Trainers.FastFeedForward(new FastFeedForwardBinaryTrainer.Options
        {
            Depth = 1, LeafWidth = 4, NumberOfEpochs = 2, FineTuneSoftTargetWeight = 0.5f, HardFineTuneFraction = 0.5f, InMemoryLimitMegabytes = 0,
        });
        e = Assert.ThrowsExactly<InvalidOperationException>(() => self.Fit(TestData.BinaryData(mlContext)));
        StringAssert.Contains(e.Message, "FineTuneSoftTargetWeight");
    }

    [TestMethod]
    public void ShapesTooLargeToSaveAreRejectedBeforeAllocating()
    {
        var mlContext = new MLContext(seed: 0);
        IDataView data = TestData.BinaryData(mlContext);
        var fff = mlContext.BinaryClassification.Trainers.FastFeedForward(new FastFeedForwardBinaryTrainer.Options
        {
            Depth = 16, LeafWidth = 8192, NumberOfEpochs = 1,
        });
        var e = Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => fff.Fit(data));
        Assert.AreEqual("Depth", e.ParamName);
        StringAssert.Contains(e.Message, "LeafWidth");
        var dense = mlContext.BinaryClassification.Trainers.DenseFeedForward(new Dense.DenseFeedForwardBinaryTrainer.Options
        {
            HiddenLayerWidths = new[] { 65536, 65536 }, NumberOfEpochs = 1,
        });
        e = Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => dense.Fit(data));
        Assert.AreEqual("HiddenLayerWidths", e.ParamName);
    }


    private sealed class SynchronousProgress<T>(Action<T> report) : IProgress<T>
    {
        public void Report(T value) => report(value);
    }
}
