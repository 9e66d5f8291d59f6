using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.IO;
using System.Linq;
using System.Text;
using Microsoft.ML.Data;
using Microsoft.ML.Fff.Dense;
using Microsoft.ML.Fff.Kinds;
using Microsoft.ML.Fff.Scoring;
using Microsoft.VisualStudio.TestTools.UnitTesting;
using static TorchSharp.torch;

namespace Microsoft.ML.Fff.Tests;

/// <summary>The dense MLP trainers, the dense network's scorer and binary format, and the blocked GEMM kernel.</summary>
[TestClass]
public sealed class DenseFeedForwardTests
{
    // ---------- trainers ----------

    [TestMethod]
    public void BinaryWorkout()
    {
        var mlContext = new MLContext(seed: 1);
        var trainer = mlContext.BinaryClassification.Trainers.DenseFeedForward(new DenseFeedForwardBinaryTrainer.Options
        {
            HiddenLayerWidths = new[] { 16 },
            NumberOfEpochs = 30,
            NumberOfThreads = 1,
        });
        ITransformer model = EstimatorWorkout.Run(trainer, TestData.BinaryData(mlContext), new[] { "Score", "Probability", "PredictedLabel" },
            (ml, scored) => Assert.IsGreaterThan(0.8, ml.BinaryClassification.Evaluate(scored).AreaUnderRocCurve));
        var parameters = ((BinaryPredictionTransformer<FffBinaryModelParameters>)model).Model;
        Assert.AreEqual(FffArchitecture.Dense, parameters.Architecture);
        Assert.AreEqual("Dense 16 ReLU, inputs clamped to the training range", parameters.Description);
        Assert.AreEqual(16, parameters.NeuronsPerRow);
    }

    [TestMethod]
    public void MulticlassWorkout()
    {
        var mlContext = new MLContext(seed: 1);
        var estimator = TestData.MulticlassPrefix(mlContext).Append(mlContext.MulticlassClassification.Trainers.DenseFeedForward(
            new DenseFeedForwardMulticlassTrainer.Options { HiddenLayerWidths = new[] { 16, 8 }, Activation = DenseActivation.Gelu, NumberOfEpochs = 30, NumberOfThreads = 1 }));
        EstimatorWorkout.Run(estimator, TestData.MulticlassData(mlContext), new[] { "Score", "PredictedLabel" },
            (ml, scored) => Assert.IsGreaterThan(0.7, ml.MulticlassClassification.Evaluate(scored).MicroAccuracy));
    }

    [TestMethod]
    public void RegressionWorkout()
    {
        var mlContext = new MLContext(seed: 1);
        var trainer = mlContext.Regression.Trainers.DenseFeedForward(new DenseFeedForwardRegressionTrainer.Options
        {
            HiddenLayerWidths = new[] { 16 },
            Activation = DenseActivation.Tanh,
            NumberOfEpochs = 30,
            NumberOfThreads = 1,
        });
        EstimatorWorkout.Run(trainer, TestData.RegressionData(mlContext), new[] { "Score" },
            (ml, scored) => Assert.IsGreaterThan(0.6, ml.Regression.Evaluate(scored).RSquared));
    }

    [TestMethod]
    public void DigitsAccuracyIsAtLeast95Percent()
    {
        var mlContext = new MLContext(seed: 0);
        var split = mlContext.Data.TrainTestSplit(mlContext.Fff().SampleData.Digits(), testFraction: 0.2, seed: 0);
        var clock = Stopwatch.StartNew();
        var model = mlContext.Transforms.Conversion.MapValueToKey("Label")
            .Append(mlContext.MulticlassClassification.Trainers.DenseFeedForward(new DenseFeedForwardMulticlassTrainer.Options { NumberOfThreads = 1 }))
            .Fit(split.TrainSet);
        var metrics = mlContext.MulticlassClassification.Evaluate(model.Transform(split.TestSet));
        Console.WriteLine($"digits dense 256 ReLU accuracy {metrics.MicroAccuracy:F4} (trained in {clock.Elapsed.TotalSeconds:F1}s)");
        Assert.IsGreaterThanOrEqualTo(0.95, metrics.MicroAccuracy);
    }

    [TestMethod]
    public void SimpleOverloadsUseTheGivenWidthsAndCopyThem()
    {
        var mlContext = new MLContext(seed: 0);
        int[] widths = { 6, 3 };
        var trainer = mlContext.Regression.Trainers.DenseFeedForward(hiddenLayerWidths: widths, numberOfEpochs: 2);
        widths[0] = 0;   // too late to matter
        // The simple overload has no thread option: keep libtorch to one thread here, as every other test does.
        int threads = get_num_threads();
        set_num_threads(1);
        RegressionPredictionTransformer<FffRegressionModelParameters> model;
        try
        {
            model = trainer.Fit(TestData.RegressionData(mlContext, count: 50));
        }
        finally
        {
            set_num_threads(threads);
        }
        Assert.AreEqual("Dense 6-3 ReLU, inputs clamped to the training range", model.Model.Description);
        Assert.IsNotNull(mlContext.BinaryClassification.Trainers.DenseFeedForward());
        Assert.IsNotNull(mlContext.MulticlassClassification.Trainers.DenseFeedForward(hiddenLayerWidths: new[] { 4 }));
    }

    [TestMethod]
    public void TrainingDoesNotModifyTheOptions()
    {
        var mlContext = new MLContext(seed: 0);
        int[] widths = { 5, 4 };
        var options = new DenseFeedForwardRegressionTrainer.Options { HiddenLayerWidths = widths, NumberOfEpochs = 2, DropoutRate = 0.1f, NumberOfThreads = 1 };
        mlContext.Regression.Trainers.DenseFeedForward(options).Fit(TestData.RegressionData(mlContext, count: 50));
        Assert.AreSame(widths, options.HiddenLayerWidths);
        CollectionAssert.AreEqual(new[] { 5, 4 }, widths);
        Assert.AreEqual(0.1f, options.DropoutRate);
        Assert.AreEqual(2, options.NumberOfEpochs);
    }

    public static IEnumerable<object[]> BadOptions => new[]
    {
        new object[] { "HiddenLayerWidths", (Action<DenseFeedForwardBinaryTrainer.Options>)(o => o.HiddenLayerWidths = Array.Empty<int>()) },
        new object[] { "HiddenLayerWidths", (Action<DenseFeedForwardBinaryTrainer.Options>)(o => o.HiddenLayerWidths = null!) },
        new object[] { "HiddenLayerWidths", (Action<DenseFeedForwardBinaryTrainer.Options>)(o => o.HiddenLayerWidths = new[] { 8, 0 }) },
        new object[] { "HiddenLayerWidths", (Action<DenseFeedForwardBinaryTrainer.Options>)(o => o.HiddenLayerWidths = new[] { 65537 }) },
        new object[] { "HiddenLayerWidths", (Action<DenseFeedForwardBinaryTrainer.Options>)(o => o.HiddenLayerWidths = Enumerable.Repeat(4, 17).ToArray()) },
        new object[] { "Activation", (Action<DenseFeedForwardBinaryTrainer.Options>)(o => o.Activation = (DenseActivation)7) },
        new object[] { "DropoutRate", (Action<DenseFeedForwardBinaryTrainer.Options>)(o => o.DropoutRate = -0.1f) },
        new object[] { "DropoutRate", (Action<DenseFeedForwardBinaryTrainer.Options>)(o => o.DropoutRate = 1f) },
        new object[] { "DropoutRate", (Action<DenseFeedForwardBinaryTrainer.Options>)(o => o.DropoutRate = float.NaN) },
        new object[] { "NumberOfEpochs", (Action<DenseFeedForwardBinaryTrainer.Options>)(o => o.NumberOfEpochs = 0) },
    };

    [TestMethod]
    [DynamicData(nameof(BadOptions))]
    public void BadOptionsThrowNamingTheOption(string option, Action<DenseFeedForwardBinaryTrainer.Options> spoil)
    {
        var options = new DenseFeedForwardBinaryTrainer.Options();
        spoil(options);
        var e = Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => new MLContext(seed: 0).BinaryClassification.Trainers.DenseFeedForward(options));
        Assert.AreEqual(option, e.ParamName);
        StringAssert.Contains(e.Message, option);
    }

    [TestMethod]
    public void DefaultsAreDocumentedValues()
    {
        var options = new DenseFeedForwardMulticlassTrainer.Options();
        CollectionAssert.AreEqual(new[] { 256 }, options.HiddenLayerWidths);
        Assert.AreEqual(DenseActivation.ReLU, options.Activation);
        Assert.AreEqual(0f, options.DropoutRate);
        Assert.AreNotSame(options.HiddenLayerWidths, new DenseFeedForwardMulticlassTrainer.Options().HiddenLayerWidths);
    }

    [TestMethod]
    public void SameSeedGivesIdenticalScoresWithDropout()
    {
        float[] Scores(int seed)
        {
            var mlContext = new MLContext(seed: seed);
            IDataView data = TestData.BinaryData(mlContext);
            var model = mlContext.BinaryClassification.Trainers.DenseFeedForward(new DenseFeedForwardBinaryTrainer.Options
            {
                HiddenLayerWidths = new[] { 12, 6 },
                DropoutRate = 0.3f,
                NumberOfEpochs = 4,
                NumberOfThreads = 1,
            }).Fit(data);
            return EstimatorWorkout.ReadScores(model.Transform(data));
        }
        CollectionAssert.AreEqual(EstimatorWorkout.Bits(Scores(42)), EstimatorWorkout.Bits(Scores(42)));
        CollectionAssert.AreNotEqual(EstimatorWorkout.Bits(Scores(1)), EstimatorWorkout.Bits(Scores(2)));
    }

    // ---------- TorchSharp module vs C# scorer ----------

    public static IEnumerable<object[]> Shapes => new[]
    {
        new object[] { 7, 1, new[] { 5 }, DenseActivation.ReLU },
        new object[] { 33, 10, new[] { 16, 9 }, DenseActivation.Gelu },
        new object[] { 5, 3, new[] { 1 }, DenseActivation.Tanh },
        new object[] { 129, 1, new[] { 17, 3 }, DenseActivation.Tanh },
        new object[] { 64, 10, new[] { 31 }, DenseActivation.Gelu },
        new object[] { 9, 2, new[] { 8, 11, 4 }, DenseActivation.ReLU },
        new object[] { 1, 10, new[] { 13, 7 }, DenseActivation.ReLU },
    };

    [TestMethod]
    [DynamicData(nameof(Shapes))]
    public void TorchForwardMatchesCSharpScorer(int inputs, int outputs, int[] widths, DenseActivation activation)
    {
        DenseNetwork network = RandomNetwork(inputs, outputs, widths, activation, seed: inputs + widths.Length);
        const int rows = 100;
        float[] x = NetworkChecks.RandomRows(rows, inputs, seed: 11);
        using var module = new DenseModule(inputs, outputs, widths, activation, dropoutRate: 0.5f, CPU);
        module.Import(network);
        module.eval();
        using Tensor input = tensor(x, new long[] { rows, inputs });
        using Tensor forward = module.forward(input);
        float[] torchOut = forward.data<float>().ToArray();
        var output = new float[outputs];
        for (int r = 0; r < rows; r++)
        {
            network.Score(x.AsSpan(r * inputs, inputs), output);
            for (int o = 0; o < outputs; o++)
                Assert.AreEqual(torchOut[r * outputs + o], output[o], 1e-4f * (1 + Math.Abs(output[o])), $"row {r} output {o}");
        }
    }

    [TestMethod]
    public void ExportAfterImportIsLossless()
    {
        DenseNetwork network = RandomNetwork(10, 4, new[] { 6, 3 }, DenseActivation.Tanh, seed: 5);
        using var module = new DenseModule(10, 4, new[] { 6, 3 }, DenseActivation.Tanh, 0, CPU);
        module.Import(network);
        var copy = new DenseNetwork(10, 4, new[] { 6, 3 }, DenseActivation.Tanh);
        module.Export(copy);
        Assert.AreEqual(6, copy.Arrays.Count());
        foreach ((float[] expected, float[] actual) in network.Arrays.Zip(copy.Arrays))
            CollectionAssert.AreEqual(expected, actual);
    }

    [TestMethod]
    public void TrainingForwardDropsOnlyWithDropoutAndIsSeeded()
    {
        DenseNetwork network = RandomNetwork(6, 2, new[] { 32 }, DenseActivation.ReLU, seed: 3);
        using var module = new DenseModule(6, 2, new[] { 32 }, DenseActivation.ReLU, dropoutRate: 0.5f, CPU);
        module.Import(network);
        using Tensor input = tensor(NetworkChecks.RandomRows(20, 6, seed: 2), new long[] { 20, 6 });
        float[] Train(ulong seed)
        {
            using var generator = new Generator(seed, CPU);
            var plan = new Training.PhasePlan(FffTrainingPhase.Training, 1);
            using var scope = NewDisposeScope();
            return module.TrainingForward(input, new Training.StepContext(plan, 0, 1, generator)).Output.data<float>().ToArray();
        }
        float[] eval;
        using (Tensor forward = module.forward(input))
            eval = forward.data<float>().ToArray();
        CollectionAssert.AreEqual(Train(7), Train(7));
        CollectionAssert.AreNotEqual(eval, Train(7));
    }

    // ---------- the C# scorer ----------

    public static IEnumerable<object[]> BatchShapes => new[]
    {
        new object[] { 1, 1, new[] { 1 }, DenseActivation.ReLU },
        new object[] { 7, 3, new[] { 5 }, DenseActivation.Tanh },
        new object[] { 13, 1, new[] { 9, 3 }, DenseActivation.Gelu },
        new object[] { 37, 10, new[] { 33, 17 }, DenseActivation.ReLU },
        new object[] { 8, 2, new[] { 16 }, DenseActivation.Gelu },
        new object[] { 301, 10, new[] { 257, 33 }, DenseActivation.Tanh },   // 1000 rows of this take the parallel path
    };

    [TestMethod]
    [DynamicData(nameof(BatchShapes))]
    public void ScoreBatchIsBitIdenticalToScore(int inputs, int outputs, int[] widths, DenseActivation activation)
    {
        DenseNetwork network = RandomNetwork(inputs, outputs, widths, activation, seed: inputs * 3 + outputs);
        foreach (int rows in new[] { 1, 3, 5, 67, 1000 })
        {
            float[] x = NetworkChecks.RandomRows(rows, inputs, seed: rows);
            var batch = new float[rows * outputs];
            network.ScoreBatch(x, rows, batch);
            var single = new float[rows * outputs];
            for (int r = 0; r < rows; r++)
                network.Score(x.AsSpan(r * inputs, inputs), single.AsSpan(r * outputs, outputs));
            CollectionAssert.AreEqual(EstimatorWorkout.Bits(single), EstimatorWorkout.Bits(batch), $"{rows} rows");
        }
        Assert.IsGreaterThanOrEqualTo(DenseNetwork.ParallelMultiplyAdds, 1000 * RandomNetwork(301, 10, new[] { 257, 33 }, activation, 1).MultiplyAddsPerRow,
            "the largest shape exercises the parallel path");
    }

    [TestMethod]
    public void ScoreBatchOfATrainedModelIsItsScoreColumn()
    {
        var mlContext = new MLContext(seed: 0);
        IDataView raw = TestData.MulticlassData(mlContext);
        IDataView data = TestData.MulticlassPrefix(mlContext).Fit(raw).Transform(raw);
        var model = mlContext.MulticlassClassification.Trainers.DenseFeedForward(new DenseFeedForwardMulticlassTrainer.Options
        {
            HiddenLayerWidths = new[] { 10, 5 },
            NumberOfEpochs = 3,
            NumberOfThreads = 1,
        }).Fit(data);
        IDataView scored = model.Transform(data);
        float[] features = scored.GetColumn<VBuffer<float>>("Features").SelectMany(v => v.DenseValues().ToArray()).ToArray();
        float[] expected = scored.GetColumn<VBuffer<float>>("Score").SelectMany(v => v.DenseValues().ToArray()).ToArray();
        var actual = new float[expected.Length];
        model.Model.ScoreBatch(features, actual);
        CollectionAssert.AreEqual(EstimatorWorkout.Bits(expected), EstimatorWorkout.Bits(actual));
    }

    [TestMethod]
    public void SparseRowsScoreLikeDenseRows()
        => NetworkChecks.SparseRowsScoreLikeDenseRows(RandomNetwork(300, 3, new[] { 19, 7 }, DenseActivation.Gelu, seed: 9));

    [TestMethod]
    public void NaNFeaturesGiveNaNScores()
    {
        foreach (DenseActivation activation in Enum.GetValues<DenseActivation>())
        {
            DenseNetwork network = RandomNetwork(4, 2, new[] { 3 }, activation, seed: 2);
            var output = new float[2];
            network.Score(new[] { 1f, float.NaN, 0f, 2f }, output);
            Assert.IsTrue(output.All(float.IsNaN), activation.ToString());
        }
    }

    [TestMethod]
    public void FoldedScalingEqualsScaledInput()
        => NetworkChecks.FoldedScalingEqualsScaledInput(RandomNetwork(8, 2, new[] { 5, 4 }, DenseActivation.Tanh, seed: 21));

    [TestMethod]
    public void ScoringAllocatesNothingPerRow()
    {
        // A narrow network (stack scratch) and one wider than the stack scratch (ThreadScratch).
        foreach (int width in new[] { 64, 3000 })
        {
            DenseNetwork network = RandomNetwork(64, 10, new[] { width, 17 }, DenseActivation.Gelu, seed: 3);
            float[] x = NetworkChecks.RandomRows(1, 64, seed: 4);
            float[] batch = NetworkChecks.RandomRows(100, 64, seed: 5);
            var batchOut = new float[100 * 10];
            int[] indices = { 1, 7, 30, 63 };
            float[] values = { 0.5f, -1f, 2f, 0.25f };
            var output = new float[10];
            network.Score(x, output);
            network.Score(indices, values, output);
            if (100 * network.MultiplyAddsPerRow < DenseNetwork.ParallelMultiplyAdds)
                network.ScoreBatch(batch, 100, batchOut);
            long dense = NetworkChecks.AllocatedBytesOnceWarm(() =>
            {
                for (int i = 0; i < 200; i++)
                    network.Score(x, output);
            });
            long sparse = NetworkChecks.AllocatedBytesOnceWarm(() =>
            {
                for (int i = 0; i < 200; i++)
                    network.Score(indices, values, output);
            });
            long batched = NetworkChecks.AllocatedBytesOnceWarm(() =>
            {
                if (100 * network.MultiplyAddsPerRow < DenseNetwork.ParallelMultiplyAdds)
                    network.ScoreBatch(batch, 100, batchOut);
            });
            Console.WriteLine($"width {width}: dense {dense} sparse {sparse} batch {batched}");
            Assert.AreEqual(0L, dense + sparse + batched, $"width {width}: dense {dense}, sparse {sparse}, batch {batched} bytes");
        }
    }

    [TestMethod]
    public void ShapeProperties()
    {
        DenseNetwork network = RandomNetwork(12, 3, new[] { 256, 128 }, DenseActivation.ReLU, seed: 1);
        Assert.AreEqual("Dense 256-128 ReLU", network.Describe());
        Assert.AreEqual(384, network.TrainingWidth);
        Assert.AreEqual(384, network.NeuronsPerRow);
        Assert.AreEqual(NetworkKind.Dense, network.Kind);
        Assert.AreEqual(12L * 256 + 256 * 128 + 128 * 3, network.MultiplyAddsPerRow);
    }

    // ---------- binary format ----------

    [TestMethod]
    public void SaveLoadRoundTripIsBitIdentical()
    {
        foreach (DenseActivation activation in Enum.GetValues<DenseActivation>())
        {
            DenseNetwork network = RandomNetwork(11, 4, new[] { 9, 5, 3 }, activation, seed: 17);
            byte[] bytes = NetworkChecks.SaveBytes(network);
            var loaded = (DenseNetwork)FeedForwardNetwork.Load(new BinaryReader(new MemoryStream(bytes)), bytes.Length);
            Assert.AreEqual(network.Describe(), loaded.Describe());
            Assert.AreEqual(activation, loaded.Activation);
            foreach ((float[] expected, float[] actual) in network.Arrays.Zip(loaded.Arrays))
                CollectionAssert.AreEqual(EstimatorWorkout.Bits(expected), EstimatorWorkout.Bits(actual));
            CollectionAssert.AreEqual(bytes, NetworkChecks.SaveBytes(loaded));
            float[] x = NetworkChecks.RandomRows(9, 11, seed: 1);
            var a = new float[9 * 4];
            var b = new float[9 * 4];
            network.ScoreBatch(x, 9, a);
            loaded.ScoreBatch(x, 9, b);
            CollectionAssert.AreEqual(EstimatorWorkout.Bits(a), EstimatorWorkout.Bits(b));
        }
    }

    [TestMethod]
    public void TruncatedPayloadIsRejected()
    {
        byte[] bytes = NetworkChecks.SaveBytes(RandomNetwork(5, 2, new[] { 3, 2 }, DenseActivation.ReLU, seed: 1));
        for (int length = 0; length < bytes.Length; length++)
        {
            byte[] cut = bytes.AsSpan(0, length).ToArray();
            NetworkChecks.ExpectCorrupt(cut, cut.Length);
            NetworkChecks.ExpectCorrupt(cut, null);
            NetworkChecks.ExpectCorrupt(cut, bytes.Length);   // the container claims more bytes than the stream has
        }
        byte[] padded = bytes.Append((byte)0).ToArray();
        NetworkChecks.ExpectCorrupt(padded, padded.Length);
    }

    public static IEnumerable<object[]> AbsurdHeaders => new[]
    {
        new object[] { new[] { 1, 0, 3, 0, 1, 4 }, "out of range" },                                // no inputs
        new object[] { new[] { 1, 4, 0, 0, 1, 4 }, "out of range" },                                // no outputs
        new object[] { new[] { 1, int.MaxValue, 1, 0, 1, 4 }, "out of range" },                     // absurd input count
        new object[] { new[] { 1, 4, 1 << 21, 0, 1, 4 }, "out of range" },                          // absurd output count
        new object[] { new[] { 1, 4, 1, 0, 0 }, "out of range" },                                   // no hidden layer
        new object[] { new[] { 1, 4, 1, 0, 1_000_000, 4 }, "out of range" },                        // absurd layer count
        new object[] { new[] { 1, 4, 1, 9, 1, 4 }, "unknown activation code 9" },
        new object[] { new[] { 1, 4, 1, 0, 2, 4, 0 }, "hidden layer 1 has width 0" },
        new object[] { new[] { 1, 4, 1, 0, 1, 1 << 20 }, "hidden layer 0 has width" },
        new object[] { new[] { 1, 1 << 28, 1, 0, 2, 1 << 16, 1 << 16 }, "more weights than one array can hold" },
        new object[] { new[] { 1, 4, 1, 0, 2, 1 << 16, 1 << 14 }, "needs" },                        // fits an array, not the stream
        new object[] { new[] { 1, 4, 1, 0, 3, 4, 4 }, "needs" },                                    // widths cut short
    };

    [TestMethod]
    [DynamicData(nameof(AbsurdHeaders))]
    public void AbsurdShapesAreRejectedBeforeAllocating(int[] fields, string reason)
    {
        var bytes = new MemoryStream();
        using (var writer = new BinaryWriter(bytes, Encoding.UTF8, leaveOpen: true))
        {
            foreach (int field in fields)
                writer.Write(field);
        }
        long before = GC.GetAllocatedBytesForCurrentThread();
        InvalidDataException e = NetworkChecks.ExpectCorrupt(bytes.ToArray(), bytes.Length);
        StringAssert.Contains(e.Message, reason);
        Assert.IsLessThan(1L << 20, GC.GetAllocatedBytesForCurrentThread() - before, "nothing large is allocated");
    }

    [TestMethod]
    public void NonFiniteOrHugeWeightsAreRejected()
    {
        DenseNetwork network = RandomNetwork(5, 2, new[] { 3 }, DenseActivation.ReLU, seed: 1);
        network.HiddenBiases[0][1] = float.NaN;
        StringAssert.Contains(NetworkChecks.ExpectCorrupt(NetworkChecks.SaveBytes(network), null).Message, "NaN or infinite");

        network = RandomNetwork(5, 2, new[] { 3, 3 }, DenseActivation.ReLU, seed: 1);
        network.HiddenWeights[0][2] = 1e30f;
        network.HiddenWeights[1][3] = 1e30f;   // neuron 1 of layer 1 reads neuron 0 of layer 0: 1e30 * 1e30
        StringAssert.Contains(NetworkChecks.ExpectCorrupt(NetworkChecks.SaveBytes(network), null).Message, "so large");

        // Tanh saturates at 1: the same huge first-layer weight is harmless after it.
        network = RandomNetwork(5, 2, new[] { 3, 3 }, DenseActivation.Tanh, seed: 1);
        network.HiddenWeights[0][2] = 1e30f;
        byte[] bytes = NetworkChecks.SaveBytes(network);
        FeedForwardNetwork.Load(new BinaryReader(new MemoryStream(bytes)), bytes.Length);
    }

    // ---------- GEMM kernel ----------

    [TestMethod]
    public void GemmMatchesNaiveDoubleReferenceForOddShapes()
    {
        var random = new Random(1);
        foreach (int rows in new[] { 0, 1, 2, 3, 5, 8 })
        {
            foreach (int width in new[] { 1, 3, 7, 8, 9, 15, 16, 17, 31, 33, 100 })
            {
                foreach (int neurons in new[] { 1, 2, 3, 4, 5, 7, 9 })
                {
                    float[] a = Enumerable.Range(0, rows * width).Select(_ => (float)(random.NextDouble() * 2 - 1)).ToArray();
                    float[] w = Enumerable.Range(0, neurons * width).Select(_ => (float)(random.NextDouble() * 2 - 1)).ToArray();
                    float[] bias = Enumerable.Range(0, neurons).Select(_ => (float)(random.NextDouble() * 2 - 1)).ToArray();
                    // Canaries after the destination must survive.
                    var c = new float[rows * neurons + 3];
                    c.AsSpan(rows * neurons).Fill(42f);
                    GemmKernels.MultiplyTransposedAddBias(a, rows, width, w, bias, c.AsSpan(0, rows * neurons));
                    for (int r = 0; r < rows; r++)
                    {
                        for (int j = 0; j < neurons; j++)
                        {
                            double expected = bias[j], magnitude = Math.Abs(bias[j]);
                            for (int i = 0; i < width; i++)
                            {
                                expected += (double)a[r * width + i] * w[j * width + i];
                                magnitude += Math.Abs((double)a[r * width + i] * w[j * width + i]);
                            }
                            Assert.AreEqual(expected, c[r * neurons + j], 1e-6 * (1 + magnitude), $"rows {rows} width {width} neurons {neurons} at ({r}, {j})");
                        }
                    }
                    CollectionAssert.AreEqual(new[] { 42f, 42f, 42f }, c.Skip(rows * neurons).ToArray());
                }
            }
        }
    }

    [TestMethod]
    public void GemmRowsAreIndependentOfTheirBatch()
    {
        var random = new Random(2);
        const int rows = 7, width = 29, neurons = 11;
        float[] a = Enumerable.Range(0, rows * width).Select(_ => (float)(random.NextDouble() * 2 - 1)).ToArray();
        float[] w = Enumerable.Range(0, neurons * width).Select(_ => (float)(random.NextDouble() * 2 - 1)).ToArray();
        float[] bias = new float[neurons];
        var all = new float[rows * neurons];
        GemmKernels.MultiplyTransposedAddBias(a, rows, width, w, bias, all);
        for (int r = 0; r < rows; r++)
        {
            var one = new float[neurons];
            GemmKernels.MultiplyTransposedAddBias(a.AsSpan(r * width, width), 1, width, w, bias, one);
            CollectionAssert.AreEqual(EstimatorWorkout.Bits(all.Skip(r * neurons).Take(neurons).ToArray()), EstimatorWorkout.Bits(one), $"row {r}");
        }
    }

    [TestMethod]
    public void GemmRejectsShortSpans()
    {
        var a = new float[6];
        var w = new float[6];
        var b = new float[2];
        Assert.ThrowsExactly<ArgumentException>(() => GemmKernels.MultiplyTransposedAddBias(a, 3, 3, w, b, new float[6]));
        Assert.ThrowsExactly<ArgumentException>(() => GemmKernels.MultiplyTransposedAddBias(a, 2, 3, w.AsSpan(0, 5), b, new float[4]));
        Assert.ThrowsExactly<ArgumentException>(() => GemmKernels.MultiplyTransposedAddBias(a, 2, 3, w, b, new float[3]));
    }

    [TestMethod]
    [TestCategory("Benchmark")]
    public void ThroughputSingleRowVersusBatch()
    {
        DenseNetwork network = RandomNetwork(784, 10, new[] { 256, 128 }, DenseActivation.ReLU, seed: 1);
        const int rows = 4096;
        float[] x = NetworkChecks.RandomRows(rows, 784, seed: 2);
        var y = new float[rows * 10];
        network.ScoreBatch(x, rows, y);
        for (int r = 0; r < rows; r++)
            network.Score(x.AsSpan(r * 784, 784), y.AsSpan(r * 10, 10));
        double single = 0, batch = 0;
        for (int repeat = 0; repeat < 3; repeat++)
        {
            var clock = Stopwatch.StartNew();
            for (int r = 0; r < rows; r++)
                network.Score(x.AsSpan(r * 784, 784), y.AsSpan(r * 10, 10));
            single = Math.Max(single, rows / clock.Elapsed.TotalSeconds);
            clock.Restart();
            network.ScoreBatch(x, rows, y);
            batch = Math.Max(batch, rows / clock.Elapsed.TotalSeconds);
        }
        double flops = 2.0 * network.MultiplyAddsPerRow;
        Console.WriteLine($"784-256-128-10 ReLU: single row {single:F0} rows/s ({single * flops / 1e9:F1} GFLOP/s), " +
            $"ScoreBatch {batch:F0} rows/s ({batch * flops / 1e9:F1} GFLOP/s) on {Environment.ProcessorCount} cores");
    }

    // ---------- helpers ----------

    internal static DenseNetwork RandomNetwork(int inputs, int outputs, int[] widths, DenseActivation activation, int seed)
    {
        var network = new DenseNetwork(inputs, outputs, widths, activation);
        var random = new Random(seed);
        int fanIn = inputs;
        for (int l = 0; l <= widths.Length; l++)
        {
            float[] weights = l < widths.Length ? network.HiddenWeights[l] : network.OutputWeights;
            float[] biases = l < widths.Length ? network.HiddenBiases[l] : network.OutputBiases;
            // Twice PyTorch's bound, so activations reach the non-linear range of tanh and GELU.
            double bound = 2 / Math.Sqrt(fanIn);
            for (int i = 0; i < weights.Length; i++)
                weights[i] = (float)((random.NextDouble() * 2 - 1) * bound);
            for (int i = 0; i < biases.Length; i++)
                biases[i] = (float)((random.NextDouble() * 2 - 1) * bound);
            fanIn = l < widths.Length ? widths[l] : fanIn;
        }
        return network;
    }
}
