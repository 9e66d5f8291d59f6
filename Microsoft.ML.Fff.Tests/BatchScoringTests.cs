using System;
using System.Linq;
using Microsoft.ML.Data;
using Microsoft.ML.Fff;
using Microsoft.ML.Fff.FastFeedForward;
using Microsoft.VisualStudio.TestTools.UnitTesting;

namespace Microsoft.ML.Fff.Tests;

/// <summary><see cref="FffModelParametersBase{TOutput}.ScoreBatch"/>: the ML.NET Score column of every task, argument checks, NaN, no allocation.</summary>
[TestClass]
public sealed class BatchScoringTests
{
    [TestMethod]
    public void BinaryScoreBatchIsTheScoreColumn()
    {
        var mlContext = new MLContext(seed: 0);
        IDataView data = TestData.BinaryData(mlContext);
        var model = mlContext.BinaryClassification.Trainers.FastFeedForward(depth: 2, leafWidth: 8, numberOfEpochs: 3).Fit(data);
        Assert.AreEqual(1, model.Model.OutputCount);
        AssertScoreBatchEqualsScoreColumn(model.Model, model.Transform(data));
        // A loaded model is ML.NET's transformer typed with our model parameters, so the same cast reaches ScoreBatch.
        var loaded = Reload<BinaryPredictionTransformer<FffBinaryModelParameters>>(mlContext, model, data);
        AssertScoreBatchEqualsScoreColumn(loaded.Model, model.Transform(data));
    }

    [TestMethod]
    public void MulticlassScoreBatchIsTheScoreColumn()
    {
        var mlContext = new MLContext(seed: 0);
        IDataView data = KeyedMulticlassData(mlContext);
        var model = mlContext.MulticlassClassification.Trainers.FastFeedForward(depth: 2, leafWidth: 8, numberOfEpochs: 3).Fit(data);
        Assert.AreEqual(3, model.Model.OutputCount);
        Assert.AreEqual(model.Model.ClassCount, model.Model.OutputCount);
        AssertScoreBatchEqualsScoreColumn(model.Model, model.Transform(data));
        var loaded = Reload<MulticlassPredictionTransformer<FffMulticlassModelParameters>>(mlContext, model, data);
        AssertScoreBatchEqualsScoreColumn(loaded.Model, model.Transform(data));
    }

    [TestMethod]
    public void RegressionScoreBatchIsTheScoreColumn()
    {
        var mlContext = new MLContext(seed: 0);
        IDataView data = TestData.RegressionData(mlContext);
        var model = mlContext.Regression.Trainers.FastFeedForward(depth: 2, leafWidth: 8, numberOfEpochs: 3).Fit(data);
        Assert.AreEqual(1, model.Model.OutputCount);
        AssertScoreBatchEqualsScoreColumn(model.Model, model.Transform(data));
        var loaded = Reload<RegressionPredictionTransformer<FffRegressionModelParameters>>(mlContext, model, data);
        AssertScoreBatchEqualsScoreColumn(loaded.Model, model.Transform(data));
    }

    [TestMethod]
    public void ScoreBatchRejectsMismatchedSpansAndAcceptsAnEmptyBatch()
    {
        FffMulticlassModelParameters model = SmallMulticlassModel(out _);
        int width = model.FeatureCount, classes = model.OutputCount;
        var features = new float[3 * width];
        var scores = new float[3 * classes];

        var partialRow = Assert.Throws<ArgumentException>(() => model.ScoreBatch(features.AsSpan(0, 2 * width + 1), scores));
        Assert.AreEqual("features", partialRow.ParamName);
        var tooFew = Assert.Throws<ArgumentException>(() => model.ScoreBatch(features, scores.AsSpan(0, 2 * classes)));
        Assert.AreEqual("scores", tooFew.ParamName);
        var tooMany = Assert.Throws<ArgumentException>(() => model.ScoreBatch(features, new float[3 * classes + 1]));
        Assert.AreEqual("scores", tooMany.ParamName);
        var shared = new float[2 * width + 2 * classes];
        var overlap = Assert.Throws<ArgumentException>(() => model.ScoreBatch(shared.AsSpan(0, 2 * width), shared.AsSpan(2 * width - 1, 2 * classes)));
        Assert.AreEqual("scores", overlap.ParamName);

        model.ScoreBatch(ReadOnlySpan<float>.Empty, Span<float>.Empty);
    }

    [TestMethod]
    public void NaNFeatureGivesNaNScoresForItsRowOnly()
    {
        FffMulticlassModelParameters model = SmallMulticlassModel(out float[] features);
        int width = model.FeatureCount, classes = model.OutputCount;
        var clean = new float[3 * classes];
        model.ScoreBatch(features.AsSpan(0, 3 * width), clean);

        float[] dirty = features.Take(3 * width).ToArray();
        dirty[width + 2] = float.NaN;
        var scores = new float[3 * classes];
        model.ScoreBatch(dirty, scores);
        Assert.IsTrue(scores.Skip(classes).Take(classes).All(float.IsNaN), "the NaN row's scores are all NaN");
        CollectionAssert.AreEqual(EstimatorWorkout.Bits(clean.Take(classes).ToArray()), EstimatorWorkout.Bits(scores.Take(classes).ToArray()));
        CollectionAssert.AreEqual(EstimatorWorkout.Bits(clean.Skip(2 * classes).ToArray()), EstimatorWorkout.Bits(scores.Skip(2 * classes).ToArray()));
    }

    [TestMethod]
    public void ScoreBatchDoesNotAllocate()
    {
        FffMulticlassModelParameters model = SmallMulticlassModel(out float[] features);
        var scores = new float[features.Length / model.FeatureCount * model.OutputCount];
        model.ScoreBatch(features, scores);   // warm up (JIT, tiering)
        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 10; i++)
            model.ScoreBatch(features, scores);
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.AreEqual(0L, allocated, $"ScoreBatch allocated {allocated} bytes for {10 * scores.Length / model.OutputCount} rows");
    }

    /// <summary>Saves the transformer and loads it on a fresh MLContext as <typeparamref name="TTransformer"/>.</summary>
    private static TTransformer Reload<TTransformer>(MLContext mlContext, ITransformer model, IDataView data)
    {
        var stream = new System.IO.MemoryStream();
        mlContext.Model.Save(model, data.Schema, stream);
        stream.Position = 0;
        ITransformer loaded = new MLContext(seed: 5).Model.Load(stream, out _);
        Assert.IsInstanceOfType<TTransformer>(loaded);
        return (TTransformer)loaded;
    }

    private static IDataView KeyedMulticlassData(MLContext mlContext)
    {
        IDataView raw = TestData.MulticlassData(mlContext);
        return TestData.MulticlassPrefix(mlContext).Fit(raw).Transform(raw);
    }

    private static FffMulticlassModelParameters SmallMulticlassModel(out float[] features)
    {
        var mlContext = new MLContext(seed: 0);
        IDataView data = KeyedMulticlassData(mlContext);
        features = data.GetColumn<VBuffer<float>>("Features").SelectMany(v => v.DenseValues().ToArray()).ToArray();
        return mlContext.MulticlassClassification.Trainers.FastFeedForward(depth: 2, leafWidth: 8, numberOfEpochs: 2).Fit(data).Model;
    }

    /// <summary>ScoreBatch over every row equals the Score column of Transform, bit for bit.</summary>
    private static void AssertScoreBatchEqualsScoreColumn<T>(FffModelParametersBase<T> model, IDataView scored)
    {
        float[] features = scored.GetColumn<VBuffer<float>>("Features").SelectMany(v => v.DenseValues().ToArray()).ToArray();
        float[] expected = scored.Schema["Score"].Type is VectorDataViewType
            ? scored.GetColumn<VBuffer<float>>("Score").SelectMany(v => v.DenseValues().ToArray()).ToArray()
            : scored.GetColumn<float>("Score").ToArray();
        var actual = new float[features.Length / model.FeatureCount * model.OutputCount];
        model.ScoreBatch(features, actual);
        CollectionAssert.AreEqual(EstimatorWorkout.Bits(expected), EstimatorWorkout.Bits(actual));
    }
}
