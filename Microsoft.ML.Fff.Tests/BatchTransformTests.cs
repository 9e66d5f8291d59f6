using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using Microsoft.ML.Data;
using Microsoft.ML.Fff.Dense;
using Microsoft.ML.Fff.MixtureOfExperts;
using Microsoft.ML.Fff.Scoring;
using Microsoft.VisualStudio.TestTools.UnitTesting;

namespace Microsoft.ML.Fff.Tests;

/// <summary>
/// <see cref="FffCatalog.WithBatchScoring"/>: <c>Transform</c> through the grouped batch kernels gives the wrapped model's
/// output bit for bit (every column, every task, across block boundaries, sparse and NaN rows), and the wrapper saves,
/// loads, serves a PredictionEngine and rejects what it cannot do.
/// </summary>
[TestClass]
public sealed class BatchTransformTests
{
    // An odd block size, so blocks end mid-data and the last one is partial.
    private const int Block = 37;

    [TestMethod]
    public void BinaryTransformEqualsTheRowByRowModel()
    {
        var mlContext = new MLContext(seed: 0);
        IDataView training = TestData.BinaryData(mlContext, count: 200), data = WithNaNRow(mlContext, training);
        var model = mlContext.BinaryClassification.Trainers.FastFeedForward(depth: 2, leafWidth: 8, numberOfEpochs: 2).Fit(training);
        FffBatchScoringTransformer batched = mlContext.Fff().WithBatchScoring(model, Block);
        AssertGrouped(batched.Transform(data));
        AssertSameOutput(model.Transform(data), batched.Transform(data));
        Assert.AreEqual(mlContext.BinaryClassification.Evaluate(model.Transform(data)).Accuracy,
            mlContext.BinaryClassification.Evaluate(batched.Transform(data)).Accuracy);

        // A changed threshold on the probability column is honoured.
        var strict = mlContext.BinaryClassification.ChangeModelThreshold(model, 0.9f);
        AssertSameOutput(strict.Transform(data), mlContext.Fff().WithBatchScoring(strict, Block).Transform(data));
    }

    [TestMethod]
    public void MulticlassPipelineTransformEqualsTheRowByRowModel()
    {
        var mlContext = new MLContext(seed: 0);
        IDataView data = TestData.MulticlassData(mlContext, count: 200);
        // Steps before and after the trainer: the key mapping in front, the label mapped back behind.
        var pipeline = TestData.MulticlassPrefix(mlContext)
            .Append(mlContext.MulticlassClassification.Trainers.MixtureOfExperts(
                new MixtureOfExpertsMulticlassTrainer.Options { NumberOfExperts = 4, ExpertWidth = 8, TopK = 2, NumberOfEpochs = 2 }))
            .Append(mlContext.Transforms.Conversion.MapKeyToValue("PredictedLabel"));
        ITransformer model = pipeline.Fit(data);
        FffBatchScoringTransformer batched = mlContext.Fff().WithBatchScoring(model, Block);
        AssertSameOutput(model.Transform(data), batched.Transform(data));
        ITransformer keys = TestData.MulticlassPrefix(mlContext).Fit(data);
        var trainer = mlContext.MulticlassClassification.Trainers.FastFeedForward(depth: 3, leafWidth: 4, numberOfEpochs: 2).Fit(keys.Transform(data));
        IDataView keyed = keys.Transform(WithNaNRow(mlContext, data));
        IDataView scored = mlContext.Fff().WithBatchScoring(trainer, Block).Transform(keyed);
        AssertGrouped(scored);
        AssertSameOutput(trainer.Transform(keyed), scored);
    }

    [TestMethod]
    public void RegressionTransformEqualsTheRowByRowModelThroughCursorSets()
    {
        var mlContext = new MLContext(seed: 0);
        IDataView data = TestData.RegressionData(mlContext, count: 200);
        var model = mlContext.Regression.Trainers.DenseFeedForward(
            new DenseFeedForwardRegressionTrainer.Options { HiddenLayerWidths = new[] { 16 }, NumberOfEpochs = 2 }).Fit(data);
        FffBatchScoringTransformer batched = mlContext.Fff().WithBatchScoring(model, Block);
        AssertSameOutput(model.Transform(data), batched.Transform(data));

        IDataView scored = batched.Transform(data);
        DataViewRowCursor[] set = scored.GetRowCursorSet(scored.Schema, 4);
        Assert.AreEqual(1, set.Length, "a grouped cursor set is one cursor: the batch kernels use the cores");
        var fromSet = new List<float>();
        using (DataViewRowCursor cursor = set[0])
        {
            var score = cursor.GetGetter<float>(scored.Schema["Score"]);
            float value = 0;
            while (cursor.MoveNext())
            {
                score(ref value);
                fromSet.Add(value);
            }
        }
        CollectionAssert.AreEqual(EstimatorWorkout.Bits(EstimatorWorkout.ReadScores(model.Transform(data))),
            EstimatorWorkout.Bits(fromSet.ToArray()));
    }

    [TestMethod]
    public void SparseAndDenseRowsMixInOneBlock()
    {
        var mlContext = new MLContext(seed: 0);
        var rows = Enumerable.Range(0, 120).Select(i => new TextRow
        {
            Text = i % 3 == 0 ? "" : (i % 2 == 0 ? "good fine great movie" : "bad awful poor movie") + $" word{i % 7}",
            Label = i % 2 == 0,
        }).ToList();
        IDataView data = mlContext.Data.LoadFromEnumerable(rows);
        var model = mlContext.Transforms.Text.FeaturizeText("Features", "Text")
            .Append(mlContext.BinaryClassification.Trainers.FastFeedForward(depth: 1, leafWidth: 4, numberOfEpochs: 2))
            .Fit(data);
        AssertSameOutput(model.Transform(data), mlContext.Fff().WithBatchScoring(model, Block).Transform(data));
    }

    [TestMethod]
    public void SavesLoadsAndServesAPredictionEngine()
    {
        var mlContext = new MLContext(seed: 0);
        IDataView data = TestData.BinaryData(mlContext, count: 100);
        var model = mlContext.BinaryClassification.Trainers.FastFeedForward(depth: 2, leafWidth: 4, numberOfEpochs: 2).Fit(data);
        FffBatchScoringTransformer batched = mlContext.Fff().WithBatchScoring(model, Block);
        string path = Path.Combine(Path.GetTempPath(), $"fff-batch-{Guid.NewGuid():N}.zip");
        try
        {
            mlContext.Model.Save(batched, data.Schema, path);
            var fresh = new MLContext(seed: 1);
            ITransformer loaded = fresh.Model.Load(path, out _);
            Assert.IsInstanceOfType<FffBatchScoringTransformer>(loaded);
            Assert.AreEqual(Block, ((FffBatchScoringTransformer)loaded).RowsPerBlock);
            AssertSameOutput(model.Transform(data), loaded.Transform(data));

            SchemaDefinition input = SchemaDefinition.Create(typeof(TestData.VectorRow<bool>));
            input["Features"].ColumnType = data.Schema["Features"].Type;
            var engine = fresh.Model.CreatePredictionEngine<TestData.VectorRow<bool>, BinaryPrediction>(loaded, inputSchemaDefinition: input);
            var reference = mlContext.Model.CreatePredictionEngine<TestData.VectorRow<bool>, BinaryPrediction>(model, inputSchemaDefinition: input);
            foreach (var row in mlContext.Data.CreateEnumerable<TestData.VectorRow<bool>>(data, reuseRowObject: false).Take(20))
            {
                BinaryPrediction expected = reference.Predict(row), actual = engine.Predict(row);
                Assert.AreEqual(BitConverter.SingleToInt32Bits(expected.Score), BitConverter.SingleToInt32Bits(actual.Score));
                Assert.AreEqual(expected.PredictedLabel, actual.PredictedLabel);
            }
        }
        finally
        {
            File.Delete(path);
        }
    }

    [TestMethod]
    public void RejectsModelsWithoutOurTrainerBadBlockSizesAndUnrepeatableInput()
    {
        var mlContext = new MLContext(seed: 0);
        IDataView data = TestData.BinaryData(mlContext, count: 100);
        ITransformer notOurs = mlContext.BinaryClassification.Trainers.SdcaLogisticRegression().Fit(data);
        var noTrainer = Assert.Throws<ArgumentException>(() => mlContext.Fff().WithBatchScoring(notOurs));
        StringAssert.Contains(noTrainer.Message, "FastFeedForward");
        Assert.AreEqual("model", noTrainer.ParamName);

        var model = mlContext.BinaryClassification.Trainers.FastFeedForward(depth: 1, leafWidth: 4, numberOfEpochs: 1).Fit(data);
        var zero = Assert.Throws<ArgumentOutOfRangeException>(() => mlContext.Fff().WithBatchScoring(model, 0));
        Assert.AreEqual("rowsPerBlock", zero.ParamName);

        IDataView scored = mlContext.Fff().WithBatchScoring(model, Block).Transform(new SkipsARowOnItsSecondCursor(data));
        var order = Assert.Throws<InvalidOperationException>(() => mlContext.BinaryClassification.Evaluate(scored));
        StringAssert.Contains(order.Message, "not repeatable");
    }

    /// <summary>The data with one more row whose features are all NaN.</summary>
    private static IDataView WithNaNRow(MLContext mlContext, IDataView data)
    {
        int width = ((VectorDataViewType)data.Schema["Features"].Type).Size;
        return data.Schema["Label"].Type switch
        {
            BooleanDataViewType => Append<bool>(mlContext, data, width),
            TextDataViewType => Append<string>(mlContext, data, width),
            _ => Append<float>(mlContext, data, width),
        };
    }

    private static IDataView Append<TLabel>(MLContext mlContext, IDataView data, int width)
    {
        var rows = mlContext.Data.CreateEnumerable<TestData.VectorRow<TLabel>>(data, reuseRowObject: false).ToList();
        rows.Insert(rows.Count / 2, new TestData.VectorRow<TLabel> { Features = Enumerable.Repeat(float.NaN, width).ToArray(), Label = rows[0].Label });
        return TestData.Table(mlContext, rows, width);
    }

    /// <summary>The view reads through the grouping cursor (not ML.NET's row-by-row scorer).</summary>
    private static void AssertGrouped(IDataView scored)
    {
        Assert.IsInstanceOfType<BatchScoredDataView>(scored);
        using DataViewRowCursor cursor = scored.GetRowCursor(scored.Schema);
        Assert.AreEqual(typeof(BatchScoredDataView), cursor.GetType().DeclaringType);
    }

    /// <summary>Same schema, same rows, every column's values equal (Single values bit for bit).</summary>
    private static void AssertSameOutput(IDataView expected, IDataView actual)
    {
        Assert.AreEqual(expected.Schema.Count, actual.Schema.Count);
        for (int i = 0; i < expected.Schema.Count; i++)
        {
            Assert.AreEqual(expected.Schema[i].Name, actual.Schema[i].Name);
            Assert.AreEqual(expected.Schema[i].Type, actual.Schema[i].Type, expected.Schema[i].Name);
        }
        DataDebuggerPreview e = expected.Preview(int.MaxValue), a = actual.Preview(int.MaxValue);
        Assert.AreEqual(e.RowView.Length, a.RowView.Length);
        for (int row = 0; row < e.RowView.Length; row++)
        {
            for (int column = 0; column < e.RowView[row].Values.Length; column++)
            {
                object x = e.RowView[row].Values[column].Value, y = a.RowView[row].Values[column].Value;
                string where = $"row {row}, column {e.RowView[row].Values[column].Key}";
                switch (x)
                {
                    case float f:
                        Assert.AreEqual(BitConverter.SingleToInt32Bits(f), BitConverter.SingleToInt32Bits((float)y), where);
                        break;
                    case VBuffer<float> v:
                        CollectionAssert.AreEqual(EstimatorWorkout.Bits(v.DenseValues().ToArray()),
                            EstimatorWorkout.Bits(((VBuffer<float>)y).DenseValues().ToArray()), where);
                        break;
                    case VBuffer<ReadOnlyMemory<char>> t:
                        CollectionAssert.AreEqual(t.DenseValues().Select(m => m.ToString()).ToArray(),
                            ((VBuffer<ReadOnlyMemory<char>>)y).DenseValues().Select(m => m.ToString()).ToArray(), where);
                        break;
                    case ReadOnlyMemory<char> m:
                        Assert.AreEqual(m.ToString(), ((ReadOnlyMemory<char>)y).ToString(), where);
                        break;
                    default:
                        Assert.AreEqual(x, y, where);
                        break;
                }
            }
        }
    }

    private sealed class TextRow
    {
        public string Text { get; set; } = "";

        public bool Label { get; set; }
    }

    private sealed class BinaryPrediction
    {
        public float Score { get; set; }

        public bool PredictedLabel { get; set; }
    }

    /// <summary>A data view that is not repeatable: its second cursor starts one row later.</summary>
    private sealed class SkipsARowOnItsSecondCursor(IDataView inner) : IDataView
    {
        private int _cursors;

        public bool CanShuffle => false;

        public DataViewSchema Schema => inner.Schema;

        public long? GetRowCount() => null;

        public DataViewRowCursor GetRowCursor(IEnumerable<DataViewSchema.Column> columnsNeeded, Random? rand = null)
        {
            DataViewRowCursor cursor = inner.GetRowCursor(columnsNeeded, rand);
            if (++_cursors == 2)
                cursor.MoveNext();
            return cursor;
        }

        public DataViewRowCursor[] GetRowCursorSet(IEnumerable<DataViewSchema.Column> columnsNeeded, int n, Random? rand = null)
            => new[] { GetRowCursor(columnsNeeded, rand) };
    }
}
