using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using Microsoft.ML.Fff.MixtureOfExperts;
using Microsoft.ML.Fff.Kinds;
using Microsoft.ML.Fff.Scoring;
using Microsoft.VisualStudio.TestTools.UnitTesting;
using static TorchSharp.torch;

namespace Microsoft.ML.Fff.Tests;

/// <summary>The mixture-of-experts trainers, network and module: ML.NET citizenship, accuracy, parity, format and options.</summary>
[TestClass]
public sealed class MixtureOfExpertsTests
{
    // ---- ML.NET workouts ----

    [TestMethod]
    public void MixtureOfExpertsBinaryWorkout()
    {
        var mlContext = new MLContext(seed: 1);
        var trainer = mlContext.BinaryClassification.Trainers.MixtureOfExperts(new MixtureOfExpertsBinaryTrainer.Options
        {
            NumberOfExperts = 4, ExpertWidth = 8, TopK = 2, NumberOfEpochs = 30, NumberOfThreads = 1,
        });
        EstimatorWorkout.Run(trainer, TestData.BinaryData(mlContext), new[] { "Score", "Probability", "PredictedLabel" },
            (ml, scored) => Assert.IsGreaterThan(0.8, ml.BinaryClassification.Evaluate(scored).AreaUnderRocCurve));
    }

    [TestMethod]
    public void MixtureOfExpertsMulticlassWorkout()
    {
        var mlContext = new MLContext(seed: 1);
        var estimator = TestData.MulticlassPrefix(mlContext)
            .Append(mlContext.MulticlassClassification.Trainers.MixtureOfExperts(new MixtureOfExpertsMulticlassTrainer.Options
            {
                NumberOfExperts = 4, ExpertWidth = 8, TopK = 2, Gating = MoeGating.Sigma, NumberOfEpochs = 30, NumberOfThreads = 1,
            }));
        EstimatorWorkout.Run(estimator, TestData.MulticlassData(mlContext), new[] { "Score", "PredictedLabel" },
            (ml, scored) => Assert.IsGreaterThan(0.7, ml.MulticlassClassification.Evaluate(scored).MicroAccuracy));
    }

    [TestMethod]
    [DataRow(MoeGating.SoftmaxTopK)]
    [DataRow(MoeGating.Sigma)]
    public void MixtureOfExpertsRegressionWorkout(MoeGating gating)
    {
        var mlContext = new MLContext(seed: 1);
        var trainer = mlContext.Regression.Trainers.MixtureOfExperts(new MixtureOfExpertsRegressionTrainer.Options
        {
            NumberOfExperts = 4, ExpertWidth = 8, TopK = 2, Gating = gating, NumberOfEpochs = 30, NumberOfThreads = 1,
        });
        EstimatorWorkout.Run(trainer, TestData.RegressionData(mlContext), new[] { "Score" },
            (ml, scored) => Assert.IsGreaterThan(0.6, ml.Regression.Evaluate(scored).RSquared));
    }

    [TestMethod]
    [DataRow(MoeGating.SoftmaxTopK)]
    [DataRow(MoeGating.Sigma)]
    public void MixtureOfExpertsDigitsAccuracyIsAtLeast95Percent(MoeGating gating)
    {
        var mlContext = new MLContext(seed: 0);
        var split = mlContext.Data.TrainTestSplit(mlContext.Fff().SampleData.Digits(), testFraction: 0.2, seed: 0);
        var reports = new List<FffTrainingProgress>();
        var options = new MixtureOfExpertsMulticlassTrainer.Options
        {
            Gating = gating,
            NumberOfThreads = 1,
            Progress = new SynchronousProgress<FffTrainingProgress>(reports.Add),
        };
        var model = mlContext.Transforms.Conversion.MapValueToKey("Label")
            .Append(mlContext.MulticlassClassification.Trainers.MixtureOfExperts(options))
            .Fit(split.TrainSet);
        var metrics = mlContext.MulticlassClassification.Evaluate(model.Transform(split.TestSet));
        FffTrainingProgress last = reports[^1];
        Console.WriteLine($"digits MoE {gating} accuracy {metrics.MicroAccuracy:F4} (entropy {last.NodeEntropy:F3}, balance {last.BalanceLoss:F3})");
        Assert.IsGreaterThanOrEqualTo(0.95, metrics.MicroAccuracy);
        Assert.AreEqual(FffArchitecture.MixtureOfExperts, model.LastTransformer.Model.Architecture);
        // The gate's average selection stays spread over the experts (ln 16 ≈ 2.77 is uniform).
        Assert.IsGreaterThan(1.0, last.NodeEntropy);
        if (gating == MoeGating.SoftmaxTopK)
            Assert.IsGreaterThan(0.0, last.BalanceLoss);
        // The options are read, never written.
        Assert.AreEqual(MixtureOfExpertsDefaults.NumberOfExperts, options.NumberOfExperts);
        Assert.AreEqual(gating, options.Gating);
        Assert.AreEqual(MixtureOfExpertsDefaults.TopK, options.TopK);
    }

    [TestMethod]
    public void MixtureOfExpertsSameSeedGivesIdenticalScores()
    {
        foreach (MoeGating gating in new[] { MoeGating.SoftmaxTopK, MoeGating.Sigma })
        {
            float[] Scores(int seed)
            {
                var mlContext = new MLContext(seed: seed);
                IDataView data = TestData.BinaryData(mlContext);
                var model = mlContext.BinaryClassification.Trainers.MixtureOfExperts(new MixtureOfExpertsBinaryTrainer.Options
                {
                    NumberOfExperts = 4, ExpertWidth = 4, TopK = 2, Gating = gating, NumberOfEpochs = 4, NumberOfThreads = 1,
                }).Fit(data);
                return EstimatorWorkout.ReadScores(model.Transform(data));
            }
            CollectionAssert.AreEqual(EstimatorWorkout.Bits(Scores(7)), EstimatorWorkout.Bits(Scores(7)), $"{gating}: same seed, different scores");
            CollectionAssert.AreNotEqual(EstimatorWorkout.Bits(Scores(7)), EstimatorWorkout.Bits(Scores(8)), $"{gating}: different seeds, same scores");
        }
    }

    // ---- options ----

    [TestMethod]
    public void MixtureOfExpertsBadOptionsThrowNamingTheOption()
    {
        var mlContext = new MLContext(seed: 0);
        var cases = new (string Option, Action<MixtureOfExpertsBinaryTrainer.Options> Set)[]
        {
            ("TopK", o => { o.NumberOfExperts = 4; o.TopK = 5; }),
            ("TopK", o => o.TopK = 0),
            ("NumberOfExperts", o => { o.NumberOfExperts = 1; o.TopK = 1; }),
            ("NumberOfExperts", o => o.NumberOfExperts = MixtureOfExpertsDefaults.MaxExperts + 1),
            ("ExpertWidth", o => o.ExpertWidth = 0),
            ("ExpertWidth", o => o.ExpertWidth = MixtureOfExpertsDefaults.MaxExpertWidth + 1),
            ("Gating", o => o.Gating = (MoeGating)7),
            ("BalanceWeight", o => o.BalanceWeight = -1),
            ("BalanceWeight", o => o.BalanceWeight = float.NaN),
            ("ExpertDropout", o => o.ExpertDropout = 1),
            ("ExpertDropout", o => o.ExpertDropout = -0.1f),
            ("SelectionEntropyWeight", o => o.SelectionEntropyWeight = float.PositiveInfinity),
            ("NumberOfEpochs", o => o.NumberOfEpochs = 0),
        };
        foreach ((string option, var set) in cases)
        {
            var options = new MixtureOfExpertsBinaryTrainer.Options();
            set(options);
            var e = Assert.Throws<ArgumentOutOfRangeException>(() => mlContext.BinaryClassification.Trainers.MixtureOfExperts(options), option);
            Assert.AreEqual(option, e.ParamName);
            StringAssert.Contains(e.Message, option);
        }
        var simple = Assert.Throws<ArgumentOutOfRangeException>(() => mlContext.Regression.Trainers.MixtureOfExperts(numberOfExperts: 3, topK: 4));
        Assert.AreEqual("TopK", simple.ParamName);
        // TopK = NumberOfExperts is fine.
        mlContext.MulticlassClassification.Trainers.MixtureOfExperts(numberOfExperts: 3, topK: 3);
    }

    // ---- parity of the TorchSharp forward and the C# scorer ----

    public static IEnumerable<object[]> Shapes => new[]
    {
        // inputs, outputs, experts, width, k, gating
        new object[] { 7, 3, 5, 3, 1, MoeGating.SoftmaxTopK },
        new object[] { 7, 3, 5, 3, 2, MoeGating.SoftmaxTopK },
        new object[] { 7, 3, 5, 3, 5, MoeGating.SoftmaxTopK },
        new object[] { 33, 1, 2, 9, 1, MoeGating.Sigma },
        new object[] { 33, 1, 9, 4, 2, MoeGating.Sigma },
        new object[] { 33, 1, 9, 4, 9, MoeGating.Sigma },
        new object[] { 64, 10, 16, 5, 2, MoeGating.SoftmaxTopK },
        new object[] { 5, 2, 13, 1, 3, MoeGating.Sigma },
        new object[] { 129, 4, 3, 17, 2, MoeGating.SoftmaxTopK },
    };

    [TestMethod]
    [DynamicData(nameof(Shapes))]
    public void MixtureOfExpertsTorchForwardMatchesCSharpScorer(int inputs, int outputs, int experts, int width, int k, MoeGating gating)
    {
        MoeNetwork network = RandomNetwork(inputs, outputs, experts, width, k, gating, seed: inputs + 7 * experts + k);
        const int rows = 150;
        float[] x = NetworkChecks.RandomRows(rows, inputs, seed: 11);
        using var module = new MoeModule(inputs, outputs, ModuleOptions(experts, width, k, gating), CPU);
        module.Import(network);
        using Tensor input = tensor(x, new long[] { rows, inputs });
        using Tensor forward = module.forward(input);
        using Tensor selected = module.SelectedExperts(input);
        float[] torchOut = forward.data<float>().ToArray();
        long[] torchExperts = selected.data<long>().ToArray();

        var output = new float[outputs];
        var chosen = new int[k];
        var weights = new float[k];
        for (int r = 0; r < rows; r++)
        {
            ReadOnlySpan<float> row = x.AsSpan(r * inputs, inputs);
            Assert.IsTrue(network.SelectExperts(row, chosen, weights));
            CollectionAssert.AreEqual(torchExperts.Skip(r * k).Take(k).Select(e => (int)e).Order().ToArray(), chosen.Order().ToArray(), $"row {r} chose other experts");
            network.Score(row, output);
            for (int o = 0; o < outputs; o++)
                Assert.AreEqual(torchOut[r * outputs + o], output[o], 1e-4f * (1 + Math.Abs(output[o])), $"row {r} output {o}");
        }
    }

    [TestMethod]
    public void MixtureOfExpertsExportAfterImportIsLossless()
    {
        foreach (MoeGating gating in new[] { MoeGating.SoftmaxTopK, MoeGating.Sigma })
        {
            MoeNetwork network = RandomNetwork(10, 4, 6, 3, 2, gating, seed: 5);
            using var module = new MoeModule(10, 4, ModuleOptions(6, 3, 2, gating), CPU);
            module.Import(network);
            var copy = new MoeNetwork(10, 4, 6, 3, 2, gating);
            module.Export(copy);
            foreach ((float[] expected, float[] actual) in network.Arrays.Zip(copy.Arrays))
                CollectionAssert.AreEqual(expected, actual);
        }
    }

    [TestMethod]
    public void MixtureOfExpertsTopKBreaksTiesByLowerIndex()
    {
        var top = new int[3];
        MoeNetwork.SelectTopK(new float[] { 1, 5, 5, 2, 5, 0 }, top);
        CollectionAssert.AreEqual(new[] { 1, 2, 4 }, top);
        MoeNetwork.SelectTopK(new float[] { 3, 3, 3, 3 }, top);
        CollectionAssert.AreEqual(new[] { 0, 1, 2 }, top);
        MoeNetwork.SelectTopK(new float[] { 0, 1, 2, 3, 4 }, top);
        CollectionAssert.AreEqual(new[] { 4, 3, 2 }, top);
        MoeNetwork.SelectTopK(new float[] { 2, float.NegativeInfinity, 7 }, top);
        CollectionAssert.AreEqual(new[] { 2, 0, 1 }, top);
    }

    // ---- the C# scorer ----

    [TestMethod]
    public void MixtureOfExpertsSparseRowsScoreLikeDenseRows()
    {
        foreach (MoeGating gating in new[] { MoeGating.SoftmaxTopK, MoeGating.Sigma })
            NetworkChecks.SparseRowsScoreLikeDenseRows(RandomNetwork(300, 3, 8, 7, 2, gating, seed: 9));
    }

    [TestMethod]
    [DataRow(16, 2)]
    [DataRow(600, 300)]
    public void MixtureOfExpertsScoringAllocatesNothingPerRow(int experts, int k)
        => NetworkChecks.ScoringAllocatesNothingPerRow(RandomNetwork(64, 10, experts, 4, k, MoeGating.SoftmaxTopK, seed: 3));

    [TestMethod]
    [DataRow(MoeGating.SoftmaxTopK, 1)]
    [DataRow(MoeGating.SoftmaxTopK, 3)]
    [DataRow(MoeGating.Sigma, 2)]
    public void MixtureOfExpertsScoringTouchesOnlyTheChosenExperts(MoeGating gating, int k)
    {
        const int inputs = 12, outputs = 3, experts = 7, width = 5;
        MoeNetwork network = RandomNetwork(inputs, outputs, experts, width, k, gating, seed: 17);
        float[] x = NetworkChecks.RandomRows(40, inputs, seed: 2);
        var chosen = new int[k];
        var weights = new float[k];
        var expected = new float[outputs];
        var actual = new float[outputs];
        for (int r = 0; r < 40; r++)
        {
            ReadOnlySpan<float> row = x.AsSpan(r * inputs, inputs);
            network.Score(row, expected);
            Assert.IsTrue(network.SelectExperts(row, chosen, weights));
            MoeNetwork poisoned = (MoeNetwork)network.Clone();
            for (int e = 0; e < experts; e++)
            {
                if (chosen.Contains(e))
                    continue;
                poisoned.HiddenWeights.AsSpan(e * width * inputs, width * inputs).Fill(float.NaN);
                poisoned.HiddenBiases.AsSpan(e * width, width).Fill(float.NaN);
                poisoned.OutputWeights.AsSpan(e * width * outputs, width * outputs).Fill(float.NaN);
            }
            poisoned.Score(row, actual);
            CollectionAssert.AreEqual(EstimatorWorkout.Bits(expected), EstimatorWorkout.Bits(actual), $"row {r}: an unchosen expert changed the score");
        }
        Assert.AreEqual(experts + k * width, network.NeuronsPerRow);
        Assert.AreEqual(experts * width, network.TrainingWidth);
        StringAssert.Contains(network.Describe(), $"MoE {experts} experts x {width}, top-{k}");
    }

    [TestMethod]
    public void MixtureOfExpertsNaNFeaturesGiveNaNScores()
    {
        MoeNetwork network = RandomNetwork(4, 2, 3, 3, 2, MoeGating.Sigma, seed: 2);
        var output = new float[2];
        network.Score(new[] { 1f, float.NaN, 0f, 2f }, output);
        Assert.IsTrue(output.All(float.IsNaN));
    }

    [TestMethod]
    public void MixtureOfExpertsFoldedScalingEqualsScaledInput()
    {
        foreach (MoeGating gating in new[] { MoeGating.SoftmaxTopK, MoeGating.Sigma })
            NetworkChecks.FoldedScalingEqualsScaledInput(RandomNetwork(8, 2, 5, 3, 2, gating, seed: 21));
    }

    // ---- binary format ----

    [TestMethod]
    public void MixtureOfExpertsSaveLoadIsBitIdentical()
    {
        foreach (MoeGating gating in new[] { MoeGating.SoftmaxTopK, MoeGating.Sigma })
        {
            MoeNetwork network = RandomNetwork(9, 3, 6, 4, 3, gating, seed: 31);
            byte[] bytes = Saved(network);
            var loaded = (MoeNetwork)Load(bytes);
            Assert.AreEqual(NetworkKind.MixtureOfExperts, loaded.Kind);
            Assert.AreEqual((6, 4, 3, gating), (loaded.ExpertCount, loaded.ExpertWidth, loaded.TopK, loaded.Gating));
            foreach ((float[] expected, float[] actual) in network.Arrays.Zip(loaded.Arrays))
                CollectionAssert.AreEqual(EstimatorWorkout.Bits(expected), EstimatorWorkout.Bits(actual));
            CollectionAssert.AreEqual(bytes, Saved(loaded));
            float[] x = NetworkChecks.RandomRows(20, 9, seed: 1);
            var a = new float[3];
            var b = new float[3];
            for (int r = 0; r < 20; r++)
            {
                network.Score(x.AsSpan(r * 9, 9), a);
                loaded.Score(x.AsSpan(r * 9, 9), b);
                CollectionAssert.AreEqual(EstimatorWorkout.Bits(a), EstimatorWorkout.Bits(b));
            }
        }
    }

    [TestMethod]
    public void MixtureOfExpertsCorruptPayloadIsRejected()
    {
        MoeNetwork network = RandomNetwork(9, 3, 6, 4, 3, MoeGating.Sigma, seed: 31);
        byte[] good = Saved(network);
        // Header: kind, I, O, E, G, k, gating, activation (int32 each), then the arrays.
        var corruptions = new List<(string What, byte[] Bytes)>
        {
            ("truncated", good[..^5]),
            ("padded", good.Concat(new byte[4]).ToArray()),
            ("header only", good[..20]),
        };
        foreach ((int field, int value, string what) in new[]
        {
            (3, 1, "one expert"), (3, MoeNetwork.MaxExperts + 1, "too many experts"), (4, 0, "zero width"),
            (5, 7, "top-k above the experts"), (5, 0, "top-k 0"), (6, 2, "unknown gating"), (7, 1, "unknown activation"),
            (1, 10, "inputs disagree with the arrays"), (3, int.MaxValue, "huge expert count"),
        })
        {
            byte[] bytes = (byte[])good.Clone();
            BitConverter.TryWriteBytes(bytes.AsSpan(4 * field), value);
            corruptions.Add((what, bytes));
        }
        byte[] nan = (byte[])good.Clone();
        BitConverter.TryWriteBytes(nan.AsSpan(8 * 4 + 4 + 8), float.NaN);
        corruptions.Add(("NaN gate weight", nan));
        MoeNetwork huge = (MoeNetwork)network.Clone();
        huge.OutputWeights[0] = 1e38f;
        huge.HiddenWeights[0] = 1e10f;
        corruptions.Add(("overflowing weights", Saved(huge)));
        foreach ((string what, byte[] bytes) in corruptions)
        {
            var e = Assert.Throws<InvalidDataException>(() => Load(bytes), what);
            StringAssert.StartsWith(e.Message, "Corrupt FFF model:", what);
        }
    }

    // ---- helpers ----

    internal static MixtureOfExpertsOptionsBase ModuleOptions(int experts, int width, int k, MoeGating gating)
        => new MixtureOfExpertsMulticlassTrainer.Options { NumberOfExperts = experts, ExpertWidth = width, TopK = k, Gating = gating };

    internal static MoeNetwork RandomNetwork(int inputs, int outputs, int experts, int width, int k, MoeGating gating, int seed)
    {
        var network = new MoeNetwork(inputs, outputs, experts, width, k, gating);
        var random = new Random(seed);
        foreach (float[] array in network.Arrays)
        {
            for (int i = 0; i < array.Length; i++)
                array[i] = (float)(random.NextDouble() * 2 - 1);
        }
        return network;
    }


    private static byte[] Saved(FeedForwardNetwork network)
    {
        var stream = new MemoryStream();
        using (var writer = new BinaryWriter(stream, System.Text.Encoding.UTF8, leaveOpen: true))
            network.Save(writer);
        return stream.ToArray();
    }

    private static FeedForwardNetwork Load(byte[] bytes)
    {
        using var reader = new BinaryReader(new MemoryStream(bytes));
        return FeedForwardNetwork.Load(reader, bytes.Length);
    }

    private sealed class SynchronousProgress<T>(Action<T> report) : IProgress<T>
    {
        public void Report(T value) => report(value);
    }
}
