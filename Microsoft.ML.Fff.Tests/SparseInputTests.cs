using System;
using System.Collections.Generic;
using System.Linq;
using Microsoft.ML.Data;
using Microsoft.ML.Fff;
using Microsoft.ML.Fff.FastFeedForward;
using Microsoft.ML.Fff.Training;
using Microsoft.VisualStudio.TestTools.UnitTesting;

namespace Microsoft.ML.Fff.Tests;

/// <summary>Text-shaped input: 100,000 slots with about 100 non-zeros per row stays sparse in training and scoring.</summary>
[TestClass]
public sealed class SparseInputTests
{
    private const int Slots = 100_000;

    private sealed class SparseRow
    {
        [VectorType(Slots)]
        public VBuffer<float> Features { get; set; }

        public bool Label { get; set; }
    }

    internal static IDataView SparseData(MLContext mlContext, int rows, int seed)
    {
        var random = new Random(seed);
        var list = new List<SparseRow>(rows);
        for (int r = 0; r < rows; r++)
        {
            bool label = r % 2 == 0;
            // ~100 random "n-grams", plus a few informative ones whose slots depend on the label.
            var slots = new SortedSet<int>();
            while (slots.Count < 95)
                slots.Add(random.Next(Slots));
            for (int k = 0; k < 5; k++)
                slots.Add((label ? 1000 : 2000) + random.Next(20));
            int[] indices = slots.ToArray();
            float[] values = indices.Select(_ => 1 + (float)random.NextDouble()).ToArray();
            list.Add(new SparseRow { Features = new VBuffer<float>(Slots, indices.Length, values, indices), Label = label });
        }
        return mlContext.Data.LoadFromEnumerable(list);
    }

    [TestMethod]
    public void SparseTextShapedDataTrainsAndScoresWithoutDensifying()
    {
        var mlContext = new MLContext(seed: 0);
        IDataView train = SparseData(mlContext, 400, seed: 1);
        IDataView test = SparseData(mlContext, 200, seed: 2);

        // The training table keeps the rows in CSR form: about 100 stored values per row, not 100,000.
        TrainingTable table = TrainingData.Scan(mlContext, train, "Features", "Label", null, LabelKind.Binary, 1L << 30, 16, seed: 0).InMemory!;
        Assert.IsTrue(table.IsSparse);
        Assert.IsEmpty(table.Dense);
        Assert.IsLessThanOrEqualTo(400 * 100, table.RowStart[table.RowCount]);

        var model = mlContext.BinaryClassification.Trainers.FastFeedForward(new FastFeedForwardBinaryTrainer.Options
        {
            Depth = 2,
            LeafWidth = 8,
            NumberOfEpochs = 10,
        }).Fit(train);
        var metrics = mlContext.BinaryClassification.Evaluate(model.Transform(test));
        Console.WriteLine($"sparse AUC {metrics.AreaUnderRocCurve:F4}");
        Assert.IsGreaterThan(0.9, metrics.AreaUnderRocCurve);

        // The sparse scoring path agrees with scoring the same rows densified.
        var engine = mlContext.Model.CreatePredictionEngine<SparseRow, Prediction>(model);
        foreach (SparseRow row in mlContext.Data.CreateEnumerable<SparseRow>(test, reuseRowObject: false).Take(20))
        {
            float sparse = engine.Predict(row).Score;
            var dense = new float[Slots];
            row.Features.CopyTo(dense);
            float densified = engine.Predict(new SparseRow { Features = new VBuffer<float>(Slots, dense), Label = row.Label }).Score;
            Assert.AreEqual(densified, sparse, 1e-3f * (1 + Math.Abs(sparse)));
        }
    }

    private const int NarrowSlots = 12;

    private sealed class NarrowRow
    {
        [VectorType(NarrowSlots)]
        public VBuffer<float> Features { get; set; }

        public bool Label { get; set; }
    }

    [TestMethod]
    public void NarrowSparseRowsScoreAsTheSameRowsDenseBitForBit()
    {
        // A table's row: 12 slots, numeric values in slots 0, 3, 8, 9 and 10 (some zero, so not stored) and a one-hot category in
        // the others. Such rows are scattered and scored by the dense kernels, so a sparse row and its dense copy give the same
        // bits, through the engine and through the network's own sparse entry (a narrow network scatters there too).
        var mlContext = new MLContext(seed: 0);
        var random = new Random(5);
        int[] numericSlots = { 0, 3, 8, 9, 10 }, categorySlots = { 1, 2, 4, 5, 6, 7, 11 };
        var rows = new List<NarrowRow>();
        for (int r = 0; r < 200; r++)
        {
            var slots = new SortedDictionary<int, float>();
            foreach (int slot in numericSlots)
            {
                if (random.Next(5) > 0)
                    slots[slot] = (float)(random.NextDouble() * 4 - 2);
            }
            int category = random.Next(categorySlots.Length);
            slots[categorySlots[category]] = 1f;
            float label = slots.GetValueOrDefault(0) + slots.GetValueOrDefault(9) + 0.3f * category;
            rows.Add(new NarrowRow { Features = new VBuffer<float>(NarrowSlots, slots.Count, slots.Values.ToArray(), slots.Keys.ToArray()), Label = label > 1 });
        }
        IDataView data = mlContext.Data.LoadFromEnumerable(rows);
        var model = mlContext.BinaryClassification.Trainers.FastFeedForward(depth: 2, leafWidth: 9, numberOfEpochs: 3).Fit(data);
        var engine = mlContext.Model.CreatePredictionEngine<NarrowRow, Prediction>(model);
        var network = ((FffBinaryModelParameters)model.Model).Network;
        var raw = new float[1];
        foreach (NarrowRow row in rows.Take(60))
        {
            float sparse = engine.Predict(row).Score;
            var dense = new float[NarrowSlots];
            row.Features.CopyTo(dense);
            float densified = engine.Predict(new NarrowRow { Features = new VBuffer<float>(NarrowSlots, dense), Label = row.Label }).Score;
            Assert.AreEqual(BitConverter.SingleToInt32Bits(densified), BitConverter.SingleToInt32Bits(sparse), $"sparse {sparse}, dense {densified}");
            network.Score(row.Features.GetIndices(), row.Features.GetValues(), raw);
            Assert.AreEqual(BitConverter.SingleToInt32Bits(sparse), BitConverter.SingleToInt32Bits(raw[0]), "the network's sparse entry");
        }
    }

    private sealed class Prediction
    {
        public float Score { get; set; }
    }
}
