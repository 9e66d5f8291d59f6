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

    private sealed class Prediction
    {
        public float Score { get; set; }
    }
}
