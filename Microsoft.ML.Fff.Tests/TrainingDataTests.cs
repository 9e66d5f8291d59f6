using System;
using System.Linq;
using Microsoft.ML.Fff;
using Microsoft.ML.Fff.FastFeedForward;
using Microsoft.ML.Fff.Training;
using Microsoft.VisualStudio.TestTools.UnitTesting;

namespace Microsoft.ML.Fff.Tests;

/// <summary>Reading training data once, in memory or streamed every epoch with bounded memory.</summary>
[TestClass]
public sealed class TrainingDataTests
{
    [TestMethod]
    public void ScanGathersExactStatisticsAndASeededSample()
    {
        var mlContext = new MLContext(seed: 0);
        var rows = TestData.Synthetic(500, 5, 4, x => x[0] > 0);
        IDataView data = TestData.Table(mlContext, rows, 5);
        TrainingData scanned = TrainingData.Scan(mlContext, data, "Features", "Label", null, LabelKind.Binary, 1L << 30, 64, seed: 7);

        Assert.AreEqual(500, scanned.RowCount);
        Assert.AreEqual(rows.Count(r => r.Label), scanned.PositiveCount);
        for (int j = 0; j < 5; j++)
            Assert.AreEqual(rows.Sum(r => (double)r.Features[j]), scanned.FeatureSum[j], 1e-6);
        Assert.IsNotNull(scanned.InMemory);
        Assert.AreEqual(64, scanned.EvaluationSample.RowCount);

        TrainingData again = TrainingData.Scan(mlContext, data, "Features", "Label", null, LabelKind.Binary, 0, 64, seed: 7);
        Assert.IsNull(again.InMemory, "a zero limit streams");
        CollectionAssert.AreEqual(scanned.EvaluationSample.Labels, again.EvaluationSample.Labels, "the sample depends only on the seed");
        CollectionAssert.AreEqual(scanned.EvaluationSample.Dense.Take(64 * 5).ToArray(), again.EvaluationSample.Dense.Take(64 * 5).ToArray());
    }

    [TestMethod]
    public void StreamingInOneChunkTrainsExactlyLikeInMemory()
    {
        float[] Scores(int limitMegabytes)
        {
            var mlContext = new MLContext(seed: 3);
            IDataView data = TestData.RegressionData(mlContext, count: 300);
            var model = mlContext.Regression.Trainers.FastFeedForward(new FastFeedForwardRegressionTrainer.Options
            {
                Depth = 2,
                LeafWidth = 4,
                NumberOfEpochs = 4,
                InMemoryLimitMegabytes = limitMegabytes,
            }).Fit(data);
            return EstimatorWorkout.ReadScores(model.Transform(data));
        }
        CollectionAssert.AreEqual(EstimatorWorkout.Bits(Scores(512)), EstimatorWorkout.Bits(Scores(0)));
    }

    [TestMethod]
    public void StreamingInManyChunksLearns()
    {
        var mlContext = new MLContext(seed: 3);
        IDataView data = TestData.BinaryData(mlContext, count: 600);
        var options = new FastFeedForwardBinaryTrainer.Options
        {
            Depth = 2,
            LeafWidth = 8,
            NumberOfEpochs = 20,
            InMemoryLimitMegabytes = 0,
            StreamChunkRows = 128,
        };
        var messages = new System.Collections.Generic.List<string>();
        mlContext.Log += (_, e) => messages.Add(e.Message);
        var model = mlContext.BinaryClassification.Trainers.FastFeedForward(options).Fit(data);
        Assert.IsTrue(messages.Any(m => m.Contains("streamed from the data view", StringComparison.Ordinal)));
        Assert.IsGreaterThan(0.85, mlContext.BinaryClassification.Evaluate(model.Transform(data)).AreaUnderRocCurve);
    }

    [TestMethod]
    public void BadValuesAreFoundWhileStreamingToo()
    {
        var mlContext = new MLContext(seed: 0);
        var rows = TestData.Synthetic(50, 4, 1, x => x[0] > 0);
        rows[40].Features[1] = float.NaN;
        var trainer = mlContext.BinaryClassification.Trainers.FastFeedForward(new FastFeedForwardBinaryTrainer.Options { InMemoryLimitMegabytes = 0, NumberOfEpochs = 1 });
        var e = Assert.ThrowsExactly<InvalidOperationException>(() => trainer.Fit(TestData.Table(mlContext, rows, 4)));
        StringAssert.Contains(e.Message, "row 40, slot 1");
    }
}
