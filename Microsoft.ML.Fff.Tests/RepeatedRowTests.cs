using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using Microsoft.ML.Data;
using Microsoft.ML.Fff.Kinds;
using Microsoft.ML.Fff.Persistence;
using Microsoft.ML.Fff.RepeatedRows;
using Microsoft.ML.Fff.Scoring;
using Microsoft.VisualStudio.TestTools.UnitTesting;

namespace Microsoft.ML.Fff.Tests;

/// <summary>
/// Offsets for repeated rows (<c>RepeatedRowOffsets</c>, kind 7): the lookup (exact equality, 0 and -0, NaN, sparse rows,
/// batches), persistence and corrupt payloads, and the fit: panel data gains, data without repeats keeps the bare network,
/// <c>Fff().Train</c> turns it on for tables.
/// </summary>
[TestClass]
public sealed class RepeatedRowTests
{
    private const int Inputs = 6, Outputs = 3;

    /// <summary>A random depth-2 FFF with a table of <paramref name="rows"/> stored rows: random values, some slots 0, offsets in [-1, 1).</summary>
    private static RepeatedRowNetwork RandomTable(int rows, int seed, out float[] keys)
    {
        FeedForwardNetwork inner = ParityTests.RandomNetwork(Inputs, Outputs, 2, 4, seed);
        keys = NetworkChecks.RandomRows(rows, Inputs, seed + 1);
        for (int k = 0; k < keys.Length; k += 5)
            keys[k] = 0;
        float[] offsets = NetworkChecks.RandomRows(rows, Outputs, seed + 2);
        return new RepeatedRowNetwork(inner, keys, offsets);
    }

    [TestMethod]
    public void AStoredRowGetsItsOffsetsAndAnyOtherRowTheNetworkAlone()
    {
        RepeatedRowNetwork table = RandomTable(40, seed: 3, out float[] keys);
        var expected = new float[Outputs];
        var actual = new float[Outputs];
        for (int r = 0; r < 40; r++)
        {
            float[] row = keys.AsSpan(r * Inputs, Inputs).ToArray();
            table.Inner.Score(row, expected);
            for (int o = 0; o < Outputs; o++)
                expected[o] += table.Offsets[r * Outputs + o];
            table.Score(row, actual);
            CollectionAssert.AreEqual(EstimatorWorkout.Bits(expected), EstimatorWorkout.Bits(actual), $"stored row {r}");

            // -0 where the stored row has 0 is the same row; one slot off by one ulp, or NaN, is another row.
            float[] negativeZero = (float[])row.Clone();
            for (int j = 0; j < Inputs; j++)
                negativeZero[j] = negativeZero[j] == 0 ? -0f : negativeZero[j];
            Assert.AreEqual(r, table.Find(negativeZero), $"row {r} with -0");
            float[] nudged = (float[])row.Clone();
            nudged[r % Inputs] = MathF.BitIncrement(nudged[r % Inputs]);
            Assert.AreEqual(-1, table.Find(nudged), $"row {r} nudged");
            table.Inner.Score(nudged, expected);
            table.Score(nudged, actual);
            CollectionAssert.AreEqual(EstimatorWorkout.Bits(expected), EstimatorWorkout.Bits(actual), $"row {r} nudged scores as the network");
            float[] missing = (float[])row.Clone();
            missing[1] = float.NaN;
            Assert.AreEqual(-1, table.Find(missing), $"row {r} with NaN");
        }
    }

    [TestMethod]
    public void SparseRowsAndBatchesFindTheSameRows()
    {
        RepeatedRowNetwork table = RandomTable(30, seed: 5, out float[] keys);
        // Every stored row, then as many random rows; each sparse form keeps the non-zero slots.
        float[] rows = keys.Concat(NetworkChecks.RandomRows(30, Inputs, seed: 9)).ToArray();
        int count = rows.Length / Inputs;
        var batch = new float[count * Outputs];
        table.ScoreBatch(rows, count, batch);
        var dense = new float[Outputs];
        var sparse = new float[Outputs];
        for (int r = 0; r < count; r++)
        {
            float[] row = rows.AsSpan(r * Inputs, Inputs).ToArray();
            int[] indices = Enumerable.Range(0, Inputs).Where(j => row[j] != 0).ToArray();
            float[] values = indices.Select(j => row[j]).ToArray();
            Assert.AreEqual(r < 30 ? r : -1, table.Find(row), $"row {r}");
            Assert.AreEqual(table.Find(row), table.Find(indices, values), $"row {r} sparse");
            table.Score(row, dense);
            table.Score(indices, values, sparse);
            for (int o = 0; o < Outputs; o++)
                Assert.AreEqual(dense[o], sparse[o], 1e-4f * (1 + Math.Abs(dense[o])), $"row {r} output {o}");
            CollectionAssert.AreEqual(EstimatorWorkout.Bits(dense), EstimatorWorkout.Bits(batch.AsSpan(r * Outputs, Outputs).ToArray()), $"row {r} batch");
        }
    }

    [TestMethod]
    public void ScoringAllocatesNothingPerRow()
    {
        FeedForwardNetwork inner = ParityTests.RandomNetwork(64, 2, 2, 4, seed: 2);
        float[] keys = NetworkChecks.RandomRows(10, 64, seed: 4);
        NetworkChecks.ScoringAllocatesNothingPerRow(new RepeatedRowNetwork(inner, keys, NetworkChecks.RandomRows(10, 2, seed: 5)));
    }

    [TestMethod]
    public void TheConstructorRefusesBadTables()
    {
        FeedForwardNetwork inner = ParityTests.RandomNetwork(2, 1, 1, 2, seed: 1);
        StringAssert.Contains(Assert.ThrowsExactly<ArgumentException>(() => new RepeatedRowNetwork(inner, new[] { 1f, 0f, 1f, -0f }, new[] { 1f, 2f })).Message, "are equal");
        StringAssert.Contains(Assert.ThrowsExactly<ArgumentException>(() => new RepeatedRowNetwork(inner, new[] { 1f, float.NaN }, new[] { 1f })).Message, "not finite");
        Assert.ThrowsExactly<ArgumentException>(() => new RepeatedRowNetwork(inner, new[] { 1f, 2f, 3f }, new[] { 1f }));
        Assert.ThrowsExactly<ArgumentException>(() => new RepeatedRowNetwork(inner, new[] { 1f, 2f }, new[] { 1f, 2f }));
        var table = new RepeatedRowNetwork(inner, new[] { 1f, 2f }, new[] { 1f });
        Assert.ThrowsExactly<ArgumentException>(() => new RepeatedRowNetwork(table, new[] { 1f, 2f }, new[] { 1f }));
        Assert.ThrowsExactly<InvalidOperationException>(() => table.FoldInputTransform(new[] { 0f, 0f }, new[] { 1f, 1f }));
    }

    [TestMethod]
    public void TheOutputTransformScalesTheOffsets()
    {
        RepeatedRowNetwork table = RandomTable(5, seed: 7, out float[] keys);
        var before = new float[Outputs];
        var after = new float[Outputs];
        table.Score(keys.AsSpan(0, Inputs), before);
        table.FoldOutputTransform(2.5f, -1f);
        table.Score(keys.AsSpan(0, Inputs), after);
        for (int o = 0; o < Outputs; o++)
            Assert.AreEqual(before[o] * 2.5f - 1f, after[o], 1e-4f * (1 + Math.Abs(after[o])), $"output {o}");
    }

    // ---- persistence ----

    [TestMethod]
    public void SaveLoadRoundTripIsBitIdentical()
    {
        RepeatedRowNetwork table = RandomTable(12, seed: 11, out float[] keys);
        var loaded = (RepeatedRowNetwork)NetworkChecks.RoundTripIsBitIdentical(table);
        Assert.AreEqual(NetworkKind.RepeatedRows, loaded.Kind);
        Assert.AreEqual(12, loaded.RowCount);
        StringAssert.EndsWith(loaded.Describe(), ", offsets for 12 repeated training rows");
        Assert.AreEqual(table.Inner.NeuronsPerRow, loaded.NeuronsPerRow);
        for (int r = 0; r < 12; r++)
            Assert.AreEqual(r, loaded.Find(keys.AsSpan(r * Inputs, Inputs)));
        Assert.AreEqual(FffArchitecture.FastFeedForward, NetworkKinds.Of(loaded).FamilyOf(loaded));
        Assert.AreEqual(2, NetworkKinds.Of(loaded).Depth(loaded));
    }

    [TestMethod]
    public void TruncatedPaddedAndCorruptPayloadsAreRejected()
    {
        // 2 inputs, 1 output, 2 stored rows: kind at 0, shape fields at 4, 8, 12; keys (count at 16, values 20..35); offsets (count
        // at 36, values 40..47); the inner kind at 48.
        FeedForwardNetwork inner = ParityTests.RandomNetwork(2, 1, 1, 2, seed: 1);
        var table = new RepeatedRowNetwork(inner, new[] { 1f, 2f, 3f, 4f }, new[] { 0.5f, -0.5f });
        byte[] bytes = NetworkChecks.SaveBytes(table);
        Assert.AreEqual((int)NetworkKind.RepeatedRows, BitConverter.ToInt32(bytes, 0));
        NetworkChecks.TruncatedAndPaddedPayloadsAreRejected(bytes);

        (int Offset, byte[] Value, string Message)[] cases =
        {
            (12, BitConverter.GetBytes(0), "out of range"),
            (12, BitConverter.GetBytes(RepeatedRowNetwork.MaxRows + 1), "out of range"),
            (12, BitConverter.GetBytes(3), "stored rows hold 4 values"),
            (4, BitConverter.GetBytes(3), "stored rows hold 4 values"),
            (28, BitConverter.GetBytes(1f).Concat(BitConverter.GetBytes(2f)).ToArray(), "are equal"),   // row 1 becomes row 0
            (20, BitConverter.GetBytes(float.NaN), "not finite"),
            (40, BitConverter.GetBytes(float.PositiveInfinity), "NaN or infinite"),
            (40, BitConverter.GetBytes(1e37f), "so large"),
            (48, BitConverter.GetBytes((int)NetworkKind.RepeatedRows), "holds another"),
            (48, BitConverter.GetBytes(99), "unknown network kind 99"),
        };
        foreach ((int offset, byte[] value, string message) in cases)
        {
            byte[] copy = (byte[])bytes.Clone();
            value.CopyTo(copy, offset);
            StringAssert.Contains(NetworkChecks.ExpectCorrupt(copy, copy.Length).Message, message, $"offset {offset}");
        }

        // The inner network's inputs must be the table's.
        var mismatched = new MemoryStream();
        using (var writer = new BinaryWriter(mismatched, System.Text.Encoding.UTF8, leaveOpen: true))
        {
            writer.Write((int)NetworkKind.RepeatedRows);
            writer.Write(3);
            writer.Write(1);
            writer.Write(1);
            PayloadFormat.WriteArray(writer, new[] { 1f, 2f, 3f });
            PayloadFormat.WriteArray(writer, new[] { 0.5f });
            NetworkFormat.Save(inner, writer);
        }
        StringAssert.Contains(NetworkChecks.ExpectCorrupt(mismatched.ToArray(), mismatched.Length).Message, "the network behind them has 2");

        // A file of the format before this kind cannot hold it.
        using var reader = new BinaryReader(new MemoryStream(bytes));
        InvalidDataException old = Assert.ThrowsExactly<InvalidDataException>(() => NetworkFormat.Load(reader, bytes.Length, ModelFormat.ClampVersion));
        StringAssert.Contains(old.Message, "older than the format that added it");
    }

    [TestMethod]
    public void SeededByteMutationsAreRejectedOrScoreFinitely()
    {
        RepeatedRowNetwork table = RandomTable(8, seed: 13, out float[] keys);
        int loaded = NetworkChecks.MutationsAreRejectedOrScoreFinitely(NetworkChecks.SaveBytes(table), keys, trials: 2000, new Random(17));
        Assert.IsGreaterThan(100, loaded, "most mutations of weights load");
    }

    // ---- the fit ----

    /// <summary>
    /// Panel rows: <paramref name="people"/> people with four features each (fixed over time, one decimal) and an effect of their
    /// own that the features do not explain, seen <paramref name="times"/> times with fresh noise. The label: regression
    /// <c>x . b + u + noise</c>, binary <c>x . b + 2u + logistic noise &gt; 0</c>, multiclass the largest of three such scores.
    /// </summary>
    private static IDataView Panel(MLContext ml, FffTask task, int people, int times, int seed, bool repeatFeatures = true)
    {
        var random = new Random(seed);
        var features = new float[people][];
        var effects = new double[people][];
        var person = new Random(1234);
        for (int p = 0; p < people; p++)
        {
            features[p] = Enumerable.Range(0, 4).Select(_ => MathF.Round((float)(person.NextDouble() * 4 - 2), 1)).ToArray();
            effects[p] = Enumerable.Range(0, 3).Select(_ => Gaussian(person)).ToArray();
        }
        var rows = new List<PanelRow>();
        for (int t = 0; t < times; t++)
        {
            for (int p = 0; p < people; p++)
            {
                float[] x = repeatFeatures ? features[p] : features[p].Select(v => v + (float)random.NextDouble()).ToArray();
                double Score(int c) => 0.6 * x[c] - 0.4 * x[3] + (task == FffTask.Regression ? 1 : 2) * effects[p][c];
                var row = new PanelRow { X0 = x[0], X1 = x[1], X2 = x[2], X3 = x[3] };
                switch (task)
                {
                    case FffTask.Regression:
                        row.Value = (float)(Score(0) + 0.3 * Gaussian(random));
                        break;
                    case FffTask.BinaryClassification:
                        double u = random.NextDouble();
                        row.Flag = Score(0) + Math.Log(u / (1 - u)) > 0;
                        break;
                    default:
                        row.Class = "abc"[Enumerable.Range(0, 3).Select(c => (Value: Score(c) - Math.Log(-Math.Log(random.NextDouble())), Class: c)).Max().Class].ToString();
                        break;
                }
                rows.Add(row);
            }
        }
        IDataView view = ml.Data.LoadFromEnumerable(rows);
        string label = task switch { FffTask.Regression => nameof(PanelRow.Value), FffTask.BinaryClassification => nameof(PanelRow.Flag), _ => nameof(PanelRow.Class) };
        string[] drop = new[] { nameof(PanelRow.Value), nameof(PanelRow.Flag), nameof(PanelRow.Class) }.Where(c => c != label).ToArray();
        return ml.Transforms.DropColumns(drop).Append(ml.Transforms.CopyColumns("Label", label)).Append(ml.Transforms.DropColumns(label)).Fit(view).Transform(view);
    }

    /// <summary>The messages the trainers log about the offsets (what they found, what they kept and why), as they come.</summary>
    private static List<string> OffsetMessages(MLContext ml)
    {
        var messages = new List<string>();
        ml.Log += (_, e) =>
        {
            if (e.Message.Contains("RepeatedRowOffsets:", StringComparison.Ordinal))
                messages.Add(e.Message);
        };
        return messages;
    }

    private static double Gaussian(Random random) => Math.Sqrt(-2 * Math.Log(1 - random.NextDouble())) * Math.Cos(2 * Math.PI * random.NextDouble());

    private sealed class PanelRow
    {
        public float X0 { get; set; }
        public float X1 { get; set; }
        public float X2 { get; set; }
        public float X3 { get; set; }
        public float Value { get; set; }
        public bool Flag { get; set; }
        public string Class { get; set; } = "";
    }

    private static double Metric(MLContext ml, FffTask task, ITransformer model, IDataView test) => task switch
    {
        FffTask.Regression => ml.Regression.Evaluate(model.Transform(test)).RSquared,
        FffTask.BinaryClassification => ml.BinaryClassification.EvaluateNonCalibrated(model.Transform(test)).AreaUnderRocCurve,
        _ => ml.MulticlassClassification.Evaluate(model.Transform(test)).MicroAccuracy,
    };

    private static FeedForwardNetwork NetworkOf(ITransformer model) => ModelSteps.Flatten(model).OfType<ISingleFeaturePredictionTransformer<object>>()
        .Select(t => ((IFffScoringModel)t.Model).Network).Single();

    [TestMethod]
    [DataRow(FffTask.Regression, 0.2)]
    [DataRow(FffTask.BinaryClassification, 0.05)]
    [DataRow(FffTask.MulticlassClassification, 0.05)]
    public void PanelDataGainsFromTheOffsetsAndTrainTurnsThemOn(FffTask task, double gain)
    {
        OneTorchThread.Enter();
        var ml = new MLContext(seed: 1);
        IDataView train = Panel(ml, task, people: 150, times: 5, seed: 1);
        IDataView test = Panel(ml, task, people: 150, times: 2, seed: 2);
        List<string> messages = OffsetMessages(ml);
        var options = new FffAutoTrainOptions { Task = task, NumberOfEpochs = 20, Seed = 1 };
        ITransformer with = ml.Fff().Train(train, "Label", options);
        Assert.IsInstanceOfType<RepeatedRowNetwork>(NetworkOf(with), "Train fits offsets for tables by default");
        Assert.IsTrue(messages.Any(m => m.Contains("offsets kept for 150 rows")), string.Join(Environment.NewLine, messages));
        ITransformer without = ml.Fff().Train(train, "Label", new FffAutoTrainOptions { Task = task, NumberOfEpochs = 20, Seed = 1, RepeatedRowOffsets = false });
        Assert.IsNotInstanceOfType<RepeatedRowNetwork>(NetworkOf(without));
        double metricWith = Metric(ml, task, with, test), metricWithout = Metric(ml, task, without, test);
        Assert.IsGreaterThan(metricWithout + gain, metricWith, $"{task}: {metricWith:F4} with offsets, {metricWithout:F4} without");

        // A fresh context loads the model and scores the same bits; the model scores rows without a label.
        var stream = new MemoryStream();
        ml.Model.Save(with, train.Schema, stream);
        stream.Position = 0;
        ITransformer loaded = new MLContext(seed: 5).Model.Load(stream, out _);
        string scoreColumn = "Score";
        float[] Scores(ITransformer model) => task == FffTask.MulticlassClassification
            ? model.Transform(test).GetColumn<VBuffer<float>>(scoreColumn).SelectMany(v => v.DenseValues()).ToArray()
            : model.Transform(test).GetColumn<float>(scoreColumn).ToArray();
        CollectionAssert.AreEqual(EstimatorWorkout.Bits(Scores(with)), EstimatorWorkout.Bits(Scores(loaded)));
    }

    [TestMethod]
    public void RowsThatNeverRepeatKeepTheBareNetwork()
    {
        OneTorchThread.Enter();
        var ml = new MLContext(seed: 1);
        List<string> messages = OffsetMessages(ml);
        IDataView train = Panel(ml, FffTask.Regression, people: 150, times: 3, seed: 1, repeatFeatures: false);
        ITransformer model = ml.Fff().Train(train, "Label", new FffAutoTrainOptions { Task = FffTask.Regression, NumberOfEpochs = 10, Seed = 1 });
        Assert.IsNotInstanceOfType<RepeatedRowNetwork>(NetworkOf(model));
        Assert.IsTrue(messages.Any(m => m.Contains("no two of the 450 training rows have the same features")), string.Join(Environment.NewLine, messages));
    }

    [TestMethod]
    public void AFewCoincidentalRepeatsAreNotFitted()
    {
        // 450 distinct rows and two of them once more: 4 of 452 rows repeat, under 1 %.
        OneTorchThread.Enter();
        var ml = new MLContext(seed: 1);
        List<string> messages = OffsetMessages(ml);
        var random = new Random(5);
        var rows = Enumerable.Range(0, 450).Select(i => new PanelRow { X0 = i, X1 = (float)random.NextDouble(), Value = (float)Gaussian(random) }).ToList();
        rows.Add(rows[0]);
        rows.Add(rows[1]);
        IDataView train = ml.Transforms.DropColumns(nameof(PanelRow.Flag), nameof(PanelRow.Class)).Fit(ml.Data.LoadFromEnumerable(rows))
            .Transform(ml.Data.LoadFromEnumerable(rows));
        ITransformer model = ml.Fff().Train(train, nameof(PanelRow.Value), new FffAutoTrainOptions { Task = FffTask.Regression, NumberOfEpochs = 5, Seed = 1 });
        Assert.IsNotInstanceOfType<RepeatedRowNetwork>(NetworkOf(model));
        Assert.IsTrue(messages.Any(m => m.Contains("4 of 452 training rows repeat another's features, fewer than 1")), string.Join(Environment.NewLine, messages));
    }

    [TestMethod]
    public void RepeatedRowsWhoseLabelsDoNotRepeatKeepTheBareNetwork()
    {
        // Every row is seen five times but its label is noise around 0: the offsets would only fit noise, and leave-one-out says so.
        OneTorchThread.Enter();
        var ml = new MLContext(seed: 1);
        List<string> messages = OffsetMessages(ml);
        var random = new Random(3);
        var rows = Enumerable.Range(0, 600).Select(i =>
        {
            float x = (i % 120) / 10f;
            return new PanelRow { X0 = x, X1 = (i % 120) % 7, X2 = 0, X3 = 1, Value = (float)Gaussian(random) };
        }).ToList();
        IDataView train = ml.Transforms.DropColumns(nameof(PanelRow.Flag), nameof(PanelRow.Class)).Fit(ml.Data.LoadFromEnumerable(rows))
            .Transform(ml.Data.LoadFromEnumerable(rows));
        ITransformer model = ml.Fff().Train(train, nameof(PanelRow.Value), new FffAutoTrainOptions { Task = FffTask.Regression, NumberOfEpochs = 10, Seed = 1 });
        Assert.IsNotInstanceOfType<RepeatedRowNetwork>(NetworkOf(model), string.Join(Environment.NewLine, messages));
        Assert.IsTrue(messages.Any(m => m.Contains("no offsets kept")), string.Join(Environment.NewLine, messages));
    }

    [TestMethod]
    public void ASmallTableStoresEveryDistinctRowALargeOneOnlyTheRepeatedRows()
    {
        // 20 rows seen five times each with labels of their own, and 200 rows seen once; a random network knows none of it.
        var ml = new MLContext(seed: 1);
        var random = new Random(7);
        var rows = new List<TestData.VectorRow<float>>();
        for (int g = 0; g < 20; g++)
        {
            float[] x = Enumerable.Range(0, 4).Select(_ => (float)random.Next(10)).Append(g).ToArray();
            float effect = (float)(3 * Gaussian(random));
            for (int t = 0; t < 5; t++)
                rows.Add(new TestData.VectorRow<float> { Features = x, Label = effect + (float)(0.1 * Gaussian(random)) });
        }
        for (int i = 0; i < 200; i++)
            rows.Add(new TestData.VectorRow<float> { Features = Enumerable.Range(0, 5).Select(_ => (float)random.NextDouble() + 100).ToArray(), Label = (float)Gaussian(random) });
        Training.TrainingData train = Training.TrainingData.Scan(ml, TestData.Table(ml, rows, 5), "Features", "Label", null,
            Training.LabelKind.Regression, 64L << 20, 64, seed: 1);
        FeedForwardNetwork network = ParityTests.RandomNetwork(5, 1, 1, 2, seed: 3);
        using Microsoft.ML.Runtime.IChannel ch = ((Microsoft.ML.Runtime.IHostEnvironment)ml).Register("test").Start("test");

        var every = (RepeatedRowNetwork)RepeatedRowFitting.Fit(ch, network, train, Training.LabelKind.Regression);
        Assert.AreEqual(220, every.RowCount, "every distinct row: 220 x 5 values fit");
        var repeated = (RepeatedRowNetwork)RepeatedRowFitting.Fit(ch, network, train, Training.LabelKind.Regression, maxEveryRowValues: 220 * 5 - 1);
        Assert.AreEqual(20, repeated.RowCount, "only the rows seen five times");
        var output = new float[1];
        var bare = new float[1];
        for (int r = 0; r < rows.Count; r += 5)
        {
            network.Score(rows[r].Features, bare);
            repeated.Score(rows[r].Features, output);
            if (r < 100)
                Assert.AreNotEqual(bare[0], output[0], $"row {r} is stored");
            else
                Assert.AreEqual(bare[0], output[0], $"row {r} is not stored");
        }
    }

    [TestMethod]
    public void TrainsPlanSaysWhetherAndWhy()
    {
        var ml = new MLContext(seed: 1);
        IDataView data = Panel(ml, FffTask.Regression, people: 20, times: 2, seed: 1);
        FffAutoTrainChoices on = ml.Fff().CreatePlan(data, "Label").Training;
        Assert.IsTrue(on.RepeatedRowOffsets);
        Assert.IsTrue(on.Reasons.Any(r => r.StartsWith("offsets for repeated rows on: rows whose features repeat", StringComparison.Ordinal)), string.Join(Environment.NewLine, on.Reasons));
        FffAutoTrainChoices off = ml.Fff().CreatePlan(data, "Label", new FffAutoTrainOptions { RepeatedRowOffsets = false }).Training;
        Assert.IsFalse(off.RepeatedRowOffsets);
        Assert.Contains("offsets for repeated rows off: set by RepeatedRowOffsets", off.Reasons);
    }

    [TestMethod]
    public void TheTrainersLeaveItOffAndFoldsNeverFitIt()
    {
        Assert.AreEqual(FffDefaults.RepeatedRowOffsets, new FastFeedForward.FastFeedForwardRegressionTrainer.Options().RepeatedRowOffsets);
        Assert.AreEqual(FffDefaults.RepeatedRowOffsets, new Dense.DenseFeedForwardRegressionTrainer.Options().RepeatedRowOffsets);
        var options = new FastFeedForward.FastFeedForwardRegressionTrainer.Options { RepeatedRowOffsets = true };
        Assert.IsFalse(options.ForRun(10, isFold: true).RepeatedRowOffsets);
        Assert.IsTrue(options.ForRun(10, isFold: false).RepeatedRowOffsets);
        Assert.IsTrue(options.RepeatedRowOffsets, "the caller's options are never written to");
    }
}
