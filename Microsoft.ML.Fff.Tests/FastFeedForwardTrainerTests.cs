using System;
using System.Linq;
using Microsoft.ML.Data;
using Microsoft.ML.Fff;
using Microsoft.ML.Fff.FastFeedForward;
using Microsoft.VisualStudio.TestTools.UnitTesting;

namespace Microsoft.ML.Fff.Tests;

[TestClass]
public sealed class FastFeedForwardTrainerTests
{
    [TestMethod]
    public void BinaryWorkout()
    {
        var mlContext = new MLContext(seed: 1);
        var trainer = mlContext.BinaryClassification.Trainers.FastFeedForward(depth: 2, leafWidth: 8, numberOfEpochs: 30);
        EstimatorWorkout.Run(trainer, TestData.BinaryData(mlContext), new[] { "Score", "Probability", "PredictedLabel" },
            (ml, scored) => Assert.IsGreaterThan(0.8, ml.BinaryClassification.Evaluate(scored).AreaUnderRocCurve));
    }

    [TestMethod]
    public void MulticlassWorkout()
    {
        var mlContext = new MLContext(seed: 1);
        var estimator = TestData.MulticlassPrefix(mlContext)
            .Append(mlContext.MulticlassClassification.Trainers.FastFeedForward(depth: 2, leafWidth: 8, numberOfEpochs: 30));
        EstimatorWorkout.Run(estimator, TestData.MulticlassData(mlContext), new[] { "Score", "PredictedLabel" },
            (ml, scored) => Assert.IsGreaterThan(0.7, ml.MulticlassClassification.Evaluate(scored).MicroAccuracy));
    }

    [TestMethod]
    public void RegressionWorkout()
    {
        var mlContext = new MLContext(seed: 1);
        var trainer = mlContext.Regression.Trainers.FastFeedForward(depth: 2, leafWidth: 8, numberOfEpochs: 30);
        EstimatorWorkout.Run(trainer, TestData.RegressionData(mlContext), new[] { "Score" },
            (ml, scored) => Assert.IsGreaterThan(0.6, ml.Regression.Evaluate(scored).RSquared));
    }

    [TestMethod]
    public void DigitsHardDescentAccuracyIsAtLeast95Percent()
    {
        var mlContext = new MLContext(seed: 0);
        var split = mlContext.Data.TrainTestSplit(mlContext.Fff().SampleData.Digits(), testFraction: 0.2, seed: 0);
        var model = mlContext.Transforms.Conversion.MapValueToKey("Label")
            .Append(mlContext.MulticlassClassification.Trainers.FastFeedForward())
            .Fit(split.TrainSet);
        var metrics = mlContext.MulticlassClassification.Evaluate(model.Transform(split.TestSet));
        Console.WriteLine($"digits hard-descent accuracy {metrics.MicroAccuracy:F4}");
        Assert.IsGreaterThanOrEqualTo(0.95, metrics.MicroAccuracy);

        // The reported soft/hard gap is small once training has hardened the routing.
        FffSoftHardGap gap = mlContext.Fff().EvaluateSoftHardGap(model, split.TestSet);
        Console.WriteLine($"digits soft {gap.SoftMetric:F4} hard {gap.HardMetric:F4}");
        Assert.AreEqual(metrics.MicroAccuracy, gap.HardMetric, 1e-9, "EvaluateSoftHardGap must score like the model");
        Assert.IsLessThan(0.02, Math.Abs(gap.Gap));
    }

    [TestMethod]
    public void BreastCancerAucIsAtLeast098()
    {
        var mlContext = new MLContext(seed: 0);
        var split = mlContext.Data.TrainTestSplit(mlContext.Fff().SampleData.BreastCancer(), testFraction: 0.2, seed: 0);
        var model = mlContext.BinaryClassification.Trainers.FastFeedForward().Fit(split.TrainSet);
        var metrics = mlContext.BinaryClassification.Evaluate(model.Transform(split.TestSet));
        Console.WriteLine($"breast cancer AUC {metrics.AreaUnderRocCurve:F4}, accuracy {metrics.Accuracy:F4}");
        Assert.IsGreaterThanOrEqualTo(0.98, metrics.AreaUnderRocCurve);
    }

    [TestMethod]
    public void DiabetesRSquaredIsAtLeast040()
    {
        var mlContext = new MLContext(seed: 0);
        var split = mlContext.Data.TrainTestSplit(mlContext.Fff().SampleData.Diabetes(), testFraction: 0.2, seed: 0);
        var model = mlContext.Regression.Trainers.FastFeedForward().Fit(split.TrainSet);
        var metrics = mlContext.Regression.Evaluate(model.Transform(split.TestSet));
        Console.WriteLine($"diabetes R2 {metrics.RSquared:F4}, RMSE {metrics.RootMeanSquaredError:F2}");
        Assert.IsGreaterThanOrEqualTo(0.40, metrics.RSquared);
    }

    [TestMethod]
    public void SameSeedGivesIdenticalModelBytesAndPredictions()
    {
        byte[] Train()
        {
            var mlContext = new MLContext(seed: 42);
            var model = mlContext.BinaryClassification.Trainers.FastFeedForward(depth: 2, leafWidth: 8, numberOfEpochs: 5)
                .Fit(TestData.BinaryData(mlContext));
            var stream = new System.IO.MemoryStream();
            mlContext.Model.Save(model, null, stream);
            return stream.ToArray();
        }
        byte[] first = Train(), second = Train();
        CollectionAssert.AreEqual(ModelPayload(first), ModelPayload(second));
    }

    [TestMethod]
    public void RunsThatMeasureNoEpochKeepTheSameLastModel()
    {
        // Without a validation set the last epoch is kept; runs that measure only it (Train) or none (epoch-selection folds) export
        // no earlier epoch, and must return the model a run measuring every epoch returns, byte for byte.
        byte[] Train(EpochMetrics metrics)
        {
            var mlContext = new MLContext(seed: 42);
            var options = new FastFeedForwardBinaryTrainer.Options { Depth = 2, LeafWidth = 8, NumberOfEpochs = 6, EpochMetrics = metrics };
            var model = mlContext.BinaryClassification.Trainers.FastFeedForward(options).Fit(TestData.BinaryData(mlContext));
            Assert.AreEqual(6, model.Model.TrainingReport!.BestEpoch, "the last epoch is kept");
            var stream = new System.IO.MemoryStream();
            mlContext.Model.Save(model, null, stream);
            return stream.ToArray();
        }
        byte[] every = Train(EpochMetrics.Every);
        CollectionAssert.AreEqual(ModelPayload(every), ModelPayload(Train(EpochMetrics.Last)));
        CollectionAssert.AreEqual(ModelPayload(every), ModelPayload(Train(EpochMetrics.None)));
    }

    [TestMethod]
    public void DifferentSeedsGiveDifferentModels()
    {
        float[] Scores(int seed)
        {
            var mlContext = new MLContext(seed: seed);
            IDataView data = TestData.BinaryData(mlContext);
            var model = mlContext.BinaryClassification.Trainers.FastFeedForward(depth: 2, leafWidth: 8, numberOfEpochs: 3).Fit(data);
            return EstimatorWorkout.ReadScores(model.Transform(data));
        }
        CollectionAssert.AreNotEqual(EstimatorWorkout.Bits(Scores(1)), EstimatorWorkout.Bits(Scores(2)));
    }

    [TestMethod]
    public void ValidationSetKeepsTheBestEpochAndReportsProgress()
    {
        var mlContext = new MLContext(seed: 0);
        var split = mlContext.Data.TrainTestSplit(TestData.BinaryData(mlContext, count: 400), testFraction: 0.25, seed: 0);
        var reports = new System.Collections.Generic.List<FffTrainingProgress>();
        var trainer = mlContext.BinaryClassification.Trainers.FastFeedForward(new FastFeedForwardBinaryTrainer.Options
        {
            Depth = 2,
            LeafWidth = 8,
            NumberOfEpochs = 12,
            EarlyStoppingPatience = 3,
            Progress = new SynchronousProgress<FffTrainingProgress>(reports.Add),
        });
        var messages = new System.Collections.Generic.List<string>();
        mlContext.Log += (_, e) => messages.Add(e.Message);
        var model = trainer.Fit(split.TrainSet, split.TestSet);

        FffTrainingReport report = model.Model.TrainingReport!;
        Assert.IsNotEmpty(reports);
        Assert.AreEqual(reports.Count, report.Epochs.Count);
        Assert.IsTrue(reports.All(r => r.OnValidationSet));
        Assert.AreEqual(reports.Max(r => r.HardMetric), report.Final.HardMetric, "the best validation epoch is kept");
        Assert.IsTrue(messages.Any(m => m.Contains("FFF epoch 1/12", StringComparison.Ordinal)), "progress goes to MLContext.Log");
        // The kept epoch's hard metric is what the returned model scores on the validation set.
        var metrics = mlContext.BinaryClassification.Evaluate(model.Transform(split.TestSet));
        Assert.AreEqual(report.Final.HardMetric, metrics.Accuracy, 1e-9);
    }

    [TestMethod]
    public void ValidationSetOnRarePositives_KeepsAnEpochThatRanksThem()
    {
        // About 2 % positives: every early epoch has the validation accuracy of "always negative", so choosing epochs by accuracy kept
        // epoch 1, an untrained model (AUC about 0.5). Binary epochs are compared by hard-descent AUC.
        var mlContext = new MLContext(seed: 0);
        IDataView data = TestData.Table(mlContext, TestData.Synthetic(5000, 4, 21, x => x[0] + x[1] > 1.6f), 4);
        var split = mlContext.Data.TrainTestSplit(data, testFraction: 0.2, seed: 0);
        var trainer = mlContext.BinaryClassification.Trainers.FastFeedForward(new FastFeedForwardBinaryTrainer.Options
        {
            Depth = 2,
            LeafWidth = 8,
            NumberOfEpochs = 30,
            EarlyStoppingPatience = 8,
        });
        var model = trainer.Fit(split.TrainSet, split.TestSet);

        FffTrainingReport report = model.Model.TrainingReport!;
        double auc = mlContext.BinaryClassification.EvaluateNonCalibrated(model.Transform(split.TestSet)).AreaUnderRocCurve;
        Assert.IsGreaterThan(1, report.BestEpoch, "a trained epoch is kept");
        Assert.IsGreaterThan(0.95, auc, $"validation AUC {auc} of kept epoch {report.BestEpoch}");
    }

    [TestMethod]
    public void ExampleWeightsChangeTheModel()
    {
        var mlContext = new MLContext(seed: 0);
        var rows = TestData.Synthetic(300, 6, 7, x => x[0] + 0.5f * x[1] > 0);
        foreach (var row in rows.Where(r => r.Label))
            row.Weight = 5;
        IDataView weighted = TestData.Table(mlContext, rows, 6);
        var plain = mlContext.BinaryClassification.Trainers.FastFeedForward(depth: 1, leafWidth: 4, numberOfEpochs: 5).Fit(weighted);
        var heavy = mlContext.BinaryClassification.Trainers.FastFeedForward(exampleWeightColumnName: "Weight", depth: 1, leafWidth: 4, numberOfEpochs: 5).Fit(weighted);
        double meanPlain = EstimatorWorkout.ReadScores(plain.Transform(weighted)).Take(300).Average();
        double meanHeavy = EstimatorWorkout.ReadScores(heavy.Transform(weighted)).Take(300).Average();
        Assert.IsGreaterThan(meanPlain, meanHeavy, "up-weighting the positive class must raise the scores");
    }

    [TestMethod]
    public void PermutationFeatureImportanceWorks()
    {
        var mlContext = new MLContext(seed: 0);
        IDataView data = TestData.RegressionData(mlContext, count: 200);
        var model = mlContext.Regression.Trainers.FastFeedForward(depth: 1, leafWidth: 8, numberOfEpochs: 30).Fit(data);
        var importance = mlContext.Regression.PermutationFeatureImportance(model, data, permutationCount: 1);
        Assert.HasCount(6, importance);
        // The label depends on slots 0..2 only; slot 0 (weight 2) matters more than slot 5 (unused).
        Assert.IsGreaterThan(importance[5].RootMeanSquaredError.Mean, importance[0].RootMeanSquaredError.Mean);
    }

    [TestMethod]
    public void CrossValidateWorks()
    {
        var mlContext = new MLContext(seed: 0);
        var results = mlContext.BinaryClassification.CrossValidate(TestData.BinaryData(mlContext), 
            mlContext.BinaryClassification.Trainers.FastFeedForward(depth: 1, leafWidth: 8, numberOfEpochs: 20), numberOfFolds: 3);
        Assert.HasCount(3, results);
        Assert.IsTrue(results.All(r => r.Metrics.AreaUnderRocCurve > 0.5));
    }

    [TestMethod]
    public void ByteKeyLabelsTrain()
    {
        var mlContext = new MLContext(seed: 0);
        var random = new Random(3);
        var rows = Enumerable.Range(0, 150).Select(i =>
        {
            var x = new float[4];
            for (int j = 0; j < 4; j++)
                x[j] = (float)random.NextDouble();
            return new ByteKeyRow { Features = x, Label = (byte)(x[0] > 0.5f ? 0 : x[1] > 0.5f ? 1 : 2) };
        }).ToList();
        IDataView data = mlContext.Data.LoadFromEnumerable(rows);
        var model = mlContext.MulticlassClassification.Trainers.FastFeedForward(depth: 1, leafWidth: 8, numberOfEpochs: 30).Fit(data);
        Assert.AreEqual(3, model.Model.ClassCount);
        Assert.IsGreaterThan(0.7, mlContext.MulticlassClassification.Evaluate(model.Transform(data)).MicroAccuracy);
    }

    [TestMethod]
    public void ThreadOptionDoesNotLeakIntoTheProcess()
    {
        var mlContext = new MLContext(seed: 0);
        int before = TorchSharp.torch.get_num_threads();
        mlContext.Regression.Trainers.FastFeedForward(new FastFeedForwardRegressionTrainer.Options { NumberOfThreads = before + 1, Depth = 1, LeafWidth = 2, NumberOfEpochs = 1 })
            .Fit(TestData.RegressionData(mlContext, count: 30));
        Assert.AreEqual(before, TorchSharp.torch.get_num_threads());
    }

    private sealed class ByteKeyRow
    {
        [VectorType(4)]
        public float[] Features { get; set; } = Array.Empty<float>();

        // LoadFromEnumerable stores a POCO key as value + 1 (0 means missing), so 0..2 here are keys 1..3.
        [KeyType(3)]
        public byte Label { get; set; }
    }

    /// <summary>The model file minus ML.NET's zip timestamps: the bytes of each entry, in order.</summary>
    internal static byte[] ModelPayload(byte[] zip)
    {
        using var archive = new System.IO.Compression.ZipArchive(new System.IO.MemoryStream(zip));
        var payload = new System.IO.MemoryStream();
        foreach (var entry in archive.Entries.OrderBy(e => e.FullName, StringComparer.Ordinal))
        {
            using var s = entry.Open();
            s.CopyTo(payload);
        }
        return payload.ToArray();
    }

    private sealed class SynchronousProgress<T>(Action<T> report) : IProgress<T>
    {
        public void Report(T value) => report(value);
    }
}
