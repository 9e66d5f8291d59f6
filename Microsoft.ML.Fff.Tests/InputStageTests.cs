using System;
using System.IO;
using System.Linq;
using Microsoft.ML.Data;
using Microsoft.ML.Fff;
using Microsoft.ML.Fff.Dense;
using Microsoft.ML.Fff.FastFeedForward;
using Microsoft.ML.Fff.InputStages;
using Microsoft.ML.Fff.Kinds;
using Microsoft.ML.Fff.MixtureOfExperts;
using Microsoft.ML.Fff.Scoring;
using Microsoft.ML.Fff.Training;
using Microsoft.VisualStudio.TestTools.UnitTesting;
using static TorchSharp.torch;

namespace Microsoft.ML.Fff.Tests;

/// <summary>Input stages (docs/input-stages.md): the maps, the numeric embeddings, torch/C# parity, the payload, the trainers.</summary>
[TestClass]
public sealed class InputStageTests
{
    // ---- networks built directly ----

    /// <summary>A quantile map of 3 features: a 4-knot one, a constant (one knot at 0) and a 2-knot one.</summary>
    private static FeatureMap QuantileMap() => FeatureMap.Quantile(new[] { 4, 1, 2 },
        new[] { -1f, 0f, 0.5f, 2f, /* constant */ 3f, /* binary */ 0f, 1f },
        new[] { -2f, -0.5f, 0.25f, 1.5f, 0f, -0.7f, 0.9f });

    /// <summary>A random stage of <paramref name="inputs"/> features (the first two pass through) before a dense network.</summary>
    internal static InputStageNetwork RandomStage(int inputs, int outputs, FffNumericEmbedding embedding, int seed, int width = 3, int size = 4,
        FeatureMapKind mapKind = FeatureMapKind.Standardize, FeedForwardNetwork? inner = null)
    {
        var random = new Random(seed);
        float Uniform() => (float)(random.NextDouble() * 2 - 1);
        FeatureMap map = mapKind switch
        {
            FeatureMapKind.Identity => FeatureMap.Identity(inputs),
            FeatureMapKind.Standardize => FeatureMap.Standardize(Enumerable.Range(0, inputs).Select(_ => 0.2f * Uniform()).ToArray(),
                Enumerable.Range(0, inputs).Select(_ => 1 + 0.5f * Uniform()).ToArray()),
            FeatureMapKind.RobustSmoothClip => FeatureMap.Robust(Enumerable.Range(0, inputs).Select(_ => 0.2f * Uniform()).ToArray(),
                Enumerable.Range(0, inputs).Select(_ => 2 + Uniform()).ToArray()),
            _ => FeatureMap.Quantile(Enumerable.Repeat(3, inputs).ToArray(),
                Enumerable.Range(0, inputs).SelectMany(_ => new[] { -0.8f, 0.1f, 0.7f }).ToArray(),
                Enumerable.Range(0, inputs).SelectMany(_ => new[] { -1.5f, 0f, 1.2f }).ToArray()),
        };
        NumericEmbeddingLayer? layer = null;
        if (embedding != FffNumericEmbedding.None)
        {
            int[] embedded = Enumerable.Range(2, inputs - 2).ToArray();
            int[] bins = embedded.Select((_, e) => 1 + e % size).ToArray();
            layer = new NumericEmbeddingLayer(embedding, inputs, embedded, width, size, embedding == FffNumericEmbedding.PiecewiseLinear ? bins : null);
            for (int e = 0; e < embedded.Length; e++)
            {
                if (embedding == FffNumericEmbedding.PiecewiseLinear)
                {
                    // Increasing edges in about [-1.5, 1.5], the tail repeating the last real one.
                    Span<float> edges = layer.First.AsSpan(e * (size + 1), size + 1);
                    float edge = -1.5f + 0.3f * (float)random.NextDouble();
                    for (int k = 0; k <= size; k++)
                    {
                        edges[k] = edge;
                        if (k < bins[e])
                            edge += 0.2f + (float)random.NextDouble() * 2.5f / bins[e];
                    }
                }
                else
                {
                    for (int k = 0; k < size; k++)
                        layer.First[e * size + k] = 0.7f * Uniform();
                }
            }
            for (int i = 0; i < layer.Weights.Length; i++)
                layer.Weights[i] = Uniform();
            for (int i = 0; i < layer.Biases.Length; i++)
                layer.Biases[i] = 0.3f * Uniform();
            layer.Refresh();
        }
        inner ??= RandomDense(layer?.OutputCount ?? inputs, outputs, seed + 1);
        return new InputStageNetwork(map, layer, inner);
    }

    private static DenseNetwork RandomDense(int inputs, int outputs, int seed)
    {
        var network = new DenseNetwork(inputs, outputs, new[] { 5 }, DenseActivation.ReLU);
        var random = new Random(seed);
        foreach (float[] array in network.Arrays)
        {
            for (int i = 0; i < array.Length; i++)
                array[i] = (float)(random.NextDouble() * 2 - 1);
        }
        return network;
    }

    /// <summary>Rows with values in [-2, 2], beyond every edge and knot on both sides.</summary>
    private static float[] WideRows(int rows, int width, int seed) => NetworkChecks.RandomRows(rows, width, seed).Select(v => 2 * v).ToArray();

    [TestMethod]
    public void QuantileMapInterpolatesClampsAndMapsConstantsToZero()
    {
        FeatureMap map = QuantileMap();
        var y = new float[3];
        (float[] X, float[] Y)[] cases =
        {
            (new[] { -5f, 3f, -1f }, new[] { -2f, 0f, -0.7f }),         // below the first knot: the first y; constant: 0
            (new[] { 0.25f, -100f, 0.5f }, new[] { -0.125f, 0f, 0.1f }), // halfway between knots
            (new[] { 2f, 100f, 9f }, new[] { 1.5f, 0f, 0.9f }),          // at and beyond the last knot
            (new[] { 0.5f, 3f, 1f }, new[] { 0.25f, 0f, 0.9f }),         // exactly on knots
        };
        foreach ((float[] x, float[] expected) in cases)
        {
            map.Apply(x, y);
            for (int j = 0; j < 3; j++)
                Assert.AreEqual(expected[j], y[j], 1e-6f, $"x = {x[j]}, feature {j}");
        }
        map.Apply(new[] { float.NaN, 0f, 0f }, y);
        Assert.IsTrue(float.IsNaN(y[0]), "NaN stays NaN");
    }

    [TestMethod]
    public void RobustMapCentresScalesAndClipsSmoothly()
    {
        FeatureMap map = FeatureMap.Robust(new[] { 1f, 0f }, new[] { 0.5f, 2f });
        var y = new float[2];
        map.Apply(new[] { 3f, 1000f }, y);
        Assert.AreEqual(1 / MathF.Sqrt(1 + 1f / 9), y[0], 1e-6f, "z = 1");
        map.Apply(new[] { 1f, float.MaxValue }, y);
        Assert.AreEqual(3f, y[1], "no overflow: the limit");
        Assert.IsTrue(y[1] <= 3 && y[1] > 2.999f, "large values approach 3");
        map.Apply(new[] { 1f, -1000f }, y);
        Assert.AreEqual(0f, y[0]);
        Assert.IsTrue(y[1] >= -3 && y[1] < -2.999f, "large negative values approach -3");
    }

    [TestMethod]
    public void FittingGivesMedianIqrQuantileKnotsAndEdgesFromTheData()
    {
        // Feature 0: 0..999 (uniform); feature 1: binary, 30 % ones; feature 2: constant; feature 3: IQR 0, range 10.
        var mlContext = new MLContext(seed: 1);
        var rows = Enumerable.Range(0, 1000).Select(i => new TestData.VectorRow<bool>
        {
            Features = new[] { (float)i, i % 10 < 3 ? 1f : 0f, 5f, i == 0 ? -5f : i == 999 ? 5f : 0f },
            Label = i % 2 == 0,
        }).ToList();
        TrainingData train = TrainingData.Scan(mlContext, TestData.Table(mlContext, rows, 4), "Features", "Label", null, LabelKind.Binary, 64L << 20, 2048, 1);
        var fit = new StageFitting(train, seed: 1);

        FeatureMap robust = fit.Robust();
        CollectionAssert.AreEqual(new[] { 499.5f, 0f, 5f, 0f }, robust.First);
        Assert.AreEqual(1 / 499.5f, robust.Second[0], 1e-9f, "IQR of 0..999");
        Assert.AreEqual(1f, robust.Second[1], "binary: IQR 1");
        Assert.AreEqual(1f, robust.Second[2], "constant: no IQR, no range");
        Assert.AreEqual(0.1f, robust.Second[3], 1e-7f, "IQR 0: the range");

        FeatureMap quantile = fit.QuantileNormal();
        Assert.AreEqual(FeatureMap.MaxKnots, quantile.KnotCount(0));
        Assert.AreEqual(2, quantile.KnotCount(1), "binary: one knot per value");
        Assert.AreEqual(1, quantile.KnotCount(2));
        Assert.IsNull(quantile.Problem());
        var y = new float[4];
        quantile.Apply(new[] { 499.5f, 0f, 5f, 0f }, y);
        Assert.AreEqual(0f, y[0], 0.01f, "the median maps to about 0");
        Assert.IsTrue(y[1] < 0, "the common 0 of the binary feature maps below 0");
        Assert.AreEqual(0f, y[2], "constant feature");
        quantile.Apply(new[] { 841.3f, 1f, 5f, 0f }, y);
        Assert.AreEqual(1f, y[0], 0.02f, "the 84th percentile maps to about 1");
        Assert.IsTrue(y[1] > 0, "the rare 1 maps above 0");

        NumericEmbeddingLayer ple = fit.PiecewiseLinear(FeatureMap.Identity(4), bins: 8, width: 2);
        CollectionAssert.AreEqual(new[] { 0, 3 }, ple.Embedded, "binary and constant features pass through");
        CollectionAssert.AreEqual(new[] { 1, 2 }, ple.Passed);
        Assert.AreEqual(8, ple.BinCounts[0]);
        Assert.AreEqual(0f, ple.First[0]);
        Assert.AreEqual(999f, ple.First[8]);
        Assert.AreEqual(2, ple.BinCounts[1], "feature 3 has edges -5, 0, 5 only");
        Assert.IsNull(ple.Problem());
        Assert.AreEqual(2 * 2 + 2, ple.OutputCount);
        Assert.AreEqual(0.8413, StageFitting.NormalCdf(1), 1e-4);
        Assert.AreEqual(-1.6449, StageFitting.NormalQuantile(0.05), 1e-3);
    }

    [TestMethod]
    [DataRow(FffNumericEmbedding.PiecewiseLinear, 4, 3)]
    [DataRow(FffNumericEmbedding.PiecewiseLinear, 1, 5)]
    [DataRow(FffNumericEmbedding.Periodic, 6, 2)]
    [DataRow(FffNumericEmbedding.Periodic, 1, 1)]
    public void TorchEmbeddingMatchesTheCSharpScorer(FffNumericEmbedding embedding, int size, int width)
    {
        const int inputs = 7, outputs = 3, rows = 200;
        InputStageNetwork network = RandomStage(inputs, outputs, embedding, seed: size + width, width, size);
        var architecture = new DenseArchitecture(new DenseFeedForwardBinaryTrainer.Options { HiddenLayerWidths = new[] { 5 } });
        using var module = new InputStageModule(network.Embedding, architecture.CreateModule(network.Inner.InputCount, outputs, CPU), CPU);
        module.Import(network);
        module.eval();
        float[] x = WideRows(rows, inputs, seed: 5);
        float[] mapped = (float[])x.Clone();
        for (int r = 0; r < rows; r++)
            network.Map.Apply(x.AsSpan(r * inputs, inputs), mapped.AsSpan(r * inputs, inputs));
        using Tensor input = tensor(mapped, new long[] { rows, inputs });
        using Tensor embedded = module.Embed(input);
        using Tensor forward = module.forward(input);
        float[] torchEmbedded = embedded.data<float>().ToArray();
        float[] torchOut = forward.data<float>().ToArray();

        int width2 = network.Inner.InputCount;
        var stage = new float[width2];
        var output = new float[outputs];
        for (int r = 0; r < rows; r++)
        {
            network.Embedding!.Apply(mapped.AsSpan(r * inputs, inputs), stage);
            for (int i = 0; i < width2; i++)
                Assert.AreEqual(torchEmbedded[r * width2 + i], stage[i], 2e-5f * (1 + Math.Abs(stage[i])), $"row {r} stage value {i}");
            network.Score(x.AsSpan(r * inputs, inputs), output);
            for (int o = 0; o < outputs; o++)
                Assert.AreEqual(torchOut[r * outputs + o], output[o], 1e-4f * (1 + Math.Abs(output[o])), $"row {r} output {o}");
        }

        // Export after import gives the same weights back; the hard fine-tune stage leaves the embedding alone.
        InputStageNetwork copy = RandomStage(inputs, outputs, embedding, seed: 99, width, size);
        module.Export(copy);
        foreach ((float[] expected, float[] actual) in network.Embedding!.Arrays.Skip(embedding == FffNumericEmbedding.PiecewiseLinear ? 1 : 0)
            .Zip(copy.Embedding!.Arrays.Skip(embedding == FffNumericEmbedding.PiecewiseLinear ? 1 : 0)))
            CollectionAssert.AreEqual(expected, actual);
        int all = module.ParametersFor(new PhasePlan(FffTrainingPhase.Soft, 1)).Count();
        int fineTune = module.ParametersFor(new PhasePlan(FffTrainingPhase.HardFineTune, 1)).Count();
        Assert.AreEqual(embedding == FffNumericEmbedding.Periodic ? 3 : 2, all - fineTune);
    }

    [TestMethod]
    [DataRow((int)FeatureMapKind.QuantileNormal, FffNumericEmbedding.None)]
    [DataRow((int)FeatureMapKind.RobustSmoothClip, FffNumericEmbedding.PiecewiseLinear)]
    [DataRow((int)FeatureMapKind.Identity, FffNumericEmbedding.Periodic)]
    [DataRow((int)FeatureMapKind.Standardize, FffNumericEmbedding.PiecewiseLinear)]
    public void RoundTripSparseRowsBatchesAndNoAllocation(int map, FffNumericEmbedding embedding)
    {
        const int inputs = 70;
        InputStageNetwork network = RandomStage(inputs, 2, embedding, seed: 3, mapKind: (FeatureMapKind)map);
        Assert.IsNull(network.Map.Problem());
        NetworkChecks.RoundTripIsBitIdentical(network);
        NetworkChecks.SparseRowsScoreLikeDenseRows(network);
        NetworkChecks.ScoringAllocatesNothingPerRow(network);

        // A batch scores each row bit-identically to Score, through the inner network's batch path.
        float[] x = WideRows(300, inputs, seed: 9);
        var batch = new float[300 * 2];
        network.ScoreBatch(x, 300, batch);
        var row = new float[2];
        for (int r = 0; r < 300; r++)
        {
            network.Score(x.AsSpan(r * inputs, inputs), row);
            CollectionAssert.AreEqual(EstimatorWorkout.Bits(row), EstimatorWorkout.Bits(batch.AsSpan(r * 2, 2).ToArray()), $"row {r}");
        }

        // NaN features give NaN scores.
        x[5] = float.NaN;
        x[inputs + 1] = float.NaN;
        network.Score(x.AsSpan(0, inputs), row);
        Assert.IsTrue(row.All(float.IsNaN), "NaN in an embedded feature");
        network.Score(x.AsSpan(inputs, inputs), row);
        Assert.IsTrue(row.All(float.IsNaN), "NaN in a passed-through feature");
    }

    [TestMethod]
    public void AnyInnerKindWorksBehindAStage()
    {
        FeedForwardNetwork[] inners =
        {
            ParityTests.RandomNetwork(3 * 4 + 2, 2, depth: 2, leafWidth: 3, seed: 4, masterWidth: 2),
            RandomDense(3 * 4 + 2, 2, seed: 5),
        };
        foreach (FeedForwardNetwork inner in inners)
        {
            InputStageNetwork network = RandomStage(6, 2, FffNumericEmbedding.PiecewiseLinear, seed: 7, width: 3, inner: inner);
            FeedForwardNetwork loaded = NetworkChecks.RoundTripIsBitIdentical(network);
            Assert.AreEqual(NetworkKind.InputStage, loaded.Kind);
            Assert.AreEqual(NetworkKinds.Of(inner).Family, NetworkKinds.Of(loaded).FamilyOf(loaded));
            Assert.AreEqual(inner.NeuronsPerRow + 4 * 3, loaded.NeuronsPerRow);
            Assert.ThrowsExactly<InvalidOperationException>(() => network.FoldInputTransform(new float[6], Enumerable.Repeat(2f, 6).ToArray()));
        }
        Assert.ThrowsExactly<ArgumentException>(() => new InputStageNetwork(FeatureMap.Identity(6), null, RandomStage(6, 2, FffNumericEmbedding.None, seed: 1)));
    }

    [TestMethod]
    public void TruncatedPaddedAndCorruptPayloadsAreRejected()
    {
        foreach (FffNumericEmbedding embedding in new[] { FffNumericEmbedding.PiecewiseLinear, FffNumericEmbedding.Periodic })
            NetworkChecks.TruncatedAndPaddedPayloadsAreRejected(NetworkChecks.SaveBytes(RandomStage(4, 1, embedding, seed: 2, width: 2, size: 2)));
        byte[] quantile = NetworkChecks.SaveBytes(new InputStageNetwork(QuantileMap(), null, RandomDense(3, 1, seed: 1)));
        NetworkChecks.TruncatedAndPaddedPayloadsAreRejected(quantile);

        // Layout of the quantile stage: kind 5 at 0, inputs 4, map 8, embedding 12, width 16, size 20, embedded 24, knot counts 28..39,
        // x knots count 40 and values 44..71, y knots count 72 and values 76..103, inner kind 104.
        (int Offset, int Value, string Message)[] cases =
        {
            (4, 0, "out of range"),
            (8, 9, "unknown input map code 9"),
            (12, 7, "unknown numeric embedding code 7"),
            (16, 3, "out of range"),
            (28, 0, "feature 0 has 0 quantile knots"),
            (28, FeatureMap.MaxKnots + 1, "quantile knots (1 .."),
            (40, 6, "quantile knots hold 6 values"),
            (48, BitConverter.SingleToInt32Bits(-2f), "not strictly increasing"),
            (80, BitConverter.SingleToInt32Bits(-3f), "normal quantiles of feature 0 decrease"),
            (104, (int)NetworkKind.InputStage, "another input stage"),
            (104, 77, "unknown network kind 77"),
        };
        foreach ((int offset, int value, string message) in cases)
        {
            byte[] copy = (byte[])quantile.Clone();
            BitConverter.GetBytes(value).CopyTo(copy, offset);
            StringAssert.Contains(NetworkChecks.ExpectCorrupt(copy, copy.Length).Message, message, $"offset {offset} value {value}");
        }

        // NaN knots, NaN or huge embedding weights, and edges out of order.
        foreach (float bad in new[] { float.NaN, float.PositiveInfinity })
        {
            byte[] copy = (byte[])quantile.Clone();
            BitConverter.GetBytes(bad).CopyTo(copy, 44);
            NetworkChecks.ExpectCorrupt(copy, copy.Length);
        }
        foreach (float bad in new[] { float.NaN, 1e37f })
        {
            InputStageNetwork network = RandomStage(4, 1, FffNumericEmbedding.Periodic, seed: 2, width: 2, size: 2);
            network.Embedding!.Weights[3] = bad;
            NetworkChecks.ExpectCorrupt(NetworkChecks.SaveBytes(network), null);
        }
        InputStageNetwork disordered = RandomStage(4, 1, FffNumericEmbedding.PiecewiseLinear, seed: 2, width: 2, size: 3);
        disordered.Embedding!.First[1] = disordered.Embedding.First[0];
        StringAssert.Contains(NetworkChecks.ExpectCorrupt(NetworkChecks.SaveBytes(disordered), null).Message, "bin edges");
        InputStageNetwork huge = RandomStage(4, 1, FffNumericEmbedding.PiecewiseLinear, seed: 2, width: 2, size: 3);
        byte[] hugeBytes = NetworkChecks.SaveBytes(huge);
        BitConverter.GetBytes(FeedForwardOptionsBase.MaxNumericEmbeddingSize + 1).CopyTo(hugeBytes, 16);
        StringAssert.Contains(NetworkChecks.ExpectCorrupt(hugeBytes, hugeBytes.Length).Message, "out of range");
    }

    // ---- the clamp (ClampToTrainingRange) ----

    [TestMethod]
    public void ClampMapHoldsEachFeatureToItsRangeOverOddLengthsAndKeepsNaN()
    {
        var random = new Random(7);
        for (int n = 1; n <= 37; n += 2)
        {
            float[] lower = Enumerable.Range(0, n).Select(_ => (float)(random.NextDouble() - 1)).ToArray();
            float[] upper = lower.Select(l => l + (float)random.NextDouble()).ToArray();
            if (n > 2)
                (lower[1], upper[1]) = (float.MinValue, float.MaxValue); // a slot left free
            FeatureMap map = FeatureMap.Clamp(lower, upper);
            Assert.IsNull(map.Problem());
            float[] x = Enumerable.Range(0, n).Select(_ => (float)(random.NextDouble() * 6 - 3)).ToArray();
            x[n / 2] = float.NaN;
            var y = new float[n];
            map.Apply(x, y);
            for (int j = 0; j < n; j++)
            {
                float expected = float.IsNaN(x[j]) ? float.NaN : x[j] < lower[j] ? lower[j] : x[j] > upper[j] ? upper[j] : x[j];
                Assert.AreEqual(expected, y[j], $"length {n}, feature {j}, x {x[j]} in [{lower[j]}, {upper[j]}]");
                Assert.AreEqual(BitConverter.SingleToInt32Bits(y[j]), BitConverter.SingleToInt32Bits(map.MapValue(j, x[j])), "MapValue agrees");
            }
            map.Apply(x, x);
            CollectionAssert.AreEqual(y, x, "in place");
        }
        Assert.AreEqual(4, FeatureMap.Clamp(new[] { -0.5f, 4f }, new[] { 0.5f, 9f }).Bound(), "a range above [-1, 1] bounds by its lower end");
        StringAssert.Contains(FeatureMap.Clamp(new[] { 1f }, new[] { 0f }).Problem(), "lower bound must not exceed");
    }

    /// <summary>A clamp stage before a dense network: the layout the corrupt-payload checks patch.</summary>
    private static InputStageNetwork ClampStage() => new(FeatureMap.Clamp(new[] { -1f, float.MinValue, 0f }, new[] { 1f, float.MaxValue, 3f }), null, RandomDense(3, 1, seed: 1));

    [TestMethod]
    public void ClampPayloadsCheckTheirBoundsAndTheFormatVersion()
    {
        InputStageNetwork stage = ClampStage();
        byte[] bytes = NetworkChecks.SaveBytes(stage);
        NetworkChecks.TruncatedAndPaddedPayloadsAreRejected(bytes);
        var loaded = (InputStageNetwork)NetworkChecks.LoadBytes(bytes);
        Assert.AreEqual(FeatureMapKind.Clamp, loaded.Map.Kind);
        CollectionAssert.AreEqual(stage.Map.First, loaded.Map.First);
        CollectionAssert.AreEqual(stage.Map.Second, loaded.Map.Second);

        // Layout: kind 5 at 0, inputs 4, map 8, embedding fields 12..27, lower bounds count 28 and values 32..43, upper bounds
        // count 44 and values 48..59, inner kind 60.
        (int Offset, float Value, string Message)[] cases =
        {
            (32, 2f, "clamp range of feature 0 is [2, 1]"),
            (56, -1f, "clamp range of feature 2 is [0, -1]"),
            (32, float.NaN, "Corrupt FFF model"),
            (48, float.PositiveInfinity, "Corrupt FFF model"),
        };
        foreach ((int offset, float value, string message) in cases)
        {
            byte[] copy = (byte[])bytes.Clone();
            BitConverter.GetBytes(value).CopyTo(copy, offset);
            StringAssert.Contains(NetworkChecks.ExpectCorrupt(copy, copy.Length).Message, message, $"offset {offset} value {value}");
        }

        // Readers of 0x00010004 did not know map kind 4: a file that claims that format and holds it is corrupt.
        using var reader = new BinaryReader(new MemoryStream(bytes));
        var e = Assert.ThrowsExactly<InvalidDataException>(() => Microsoft.ML.Fff.Persistence.NetworkFormat.Load(reader, bytes.Length,
            Microsoft.ML.Fff.Persistence.ModelFormat.NarrowKernelsVersion));
        StringAssert.Contains(e.Message, "unknown input map code 4");
    }

    /// <summary>
    /// y = 3x on x in [0, 1] beside a Boolean slot: with the clamp (the default) a row far outside the range scores exactly as
    /// the range's end, rows inside it score bit for bit as without the clamp (the same training), and without it the far row
    /// is extrapolated. The Boolean slot is left free.
    /// </summary>
    [TestMethod]
    public void TheClampHoldsFarRowsToTheTrainingRangeAndLeavesRowsInsideItAlone()
    {
        var random = new Random(2);
        var rows = Enumerable.Range(0, 400).Select(i =>
        {
            float x = i == 0 ? 0f : i == 1 ? 1f : (float)random.NextDouble();
            float flag = i % 3 == 0 ? 1f : 0f;
            return new TestData.VectorRow<float> { Features = new[] { x, flag }, Label = 3 * x + flag };
        }).ToList();
        FastFeedForwardRegressionTrainer.Options Options(bool clamp)
            => new() { Depth = 1, LeafWidth = 8, NumberOfEpochs = 20, LearningRate = 1e-2f, Seed = 3, NumberOfThreads = 1, ClampToTrainingRange = clamp };
        var mlContext = new MLContext(seed: 1);
        IDataView data = TestData.Table(mlContext, rows, 2);
        var clamped = mlContext.Regression.Trainers.FastFeedForward(Options(true)).Fit(data);
        var free = mlContext.Regression.Trainers.FastFeedForward(Options(false)).Fit(data);

        var stage = (InputStageNetwork)clamped.Model.Network;
        Assert.AreEqual(FeatureMapKind.Clamp, stage.Map.Kind);
        CollectionAssert.AreEqual(new[] { 0f, float.MinValue }, stage.Map.First, "x's minimum; the Boolean slot is free");
        CollectionAssert.AreEqual(new[] { 1f, float.MaxValue }, stage.Map.Second);
        StringAssert.EndsWith(clamped.Model.Description, ", inputs clamped to the training range");
        Assert.AreEqual(NetworkKind.FastFeedForward, free.Model.Network.Kind, "without the option: no stage");

        float Score(ITransformer model, float x, float flag)
        {
            IDataView one = TestData.Table(mlContext, new[] { new TestData.VectorRow<float> { Features = new[] { x, flag } } }, 2);
            return model.Transform(one).GetColumn<float>("Score").Single();
        }
        foreach (float flag in new[] { 0f, 1f })
        {
            Assert.AreEqual(Score(clamped, 1f, flag), Score(clamped, 50f, flag), $"x = 50 scores as x = 1 (flag {flag})");
            Assert.AreEqual(Score(clamped, 0f, flag), Score(clamped, -50f, flag), $"x = -50 scores as x = 0 (flag {flag})");
            Assert.AreNotEqual(Score(free, 1f, flag), Score(free, 50f, flag), "without the clamp the network extrapolates");
            foreach (float x in new[] { 0f, 0.3f, 0.77f, 1f })
                Assert.AreEqual(BitConverter.SingleToInt32Bits(Score(free, x, flag)), BitConverter.SingleToInt32Bits(Score(clamped, x, flag)), $"x = {x} inside the range");
        }
        Assert.AreNotEqual(Score(clamped, 1f, 1f), Score(clamped, 1f, 2f), "the Boolean slot is not clamped");
        Assert.IsGreaterThan(0.95, mlContext.Regression.Evaluate(clamped.Transform(data)).RSquared);
    }

    [TestMethod]
    public void SeededByteMutationsAreRejectedOrScoreFinitely()
    {
        byte[][] subjects =
        {
            NetworkChecks.SaveBytes(RandomStage(5, 2, FffNumericEmbedding.PiecewiseLinear, seed: 6, width: 2, size: 3)),
            NetworkChecks.SaveBytes(RandomStage(5, 2, FffNumericEmbedding.Periodic, seed: 6, width: 2, size: 2, mapKind: FeatureMapKind.QuantileNormal)),
            NetworkChecks.SaveBytes(new InputStageNetwork(FeatureMap.Clamp(new[] { -0.5f, 0f, float.MinValue, -2f, 0.1f }, new[] { 0.5f, 2f, float.MaxValue, -1f, 0.2f }),
                null, RandomDense(5, 2, seed: 6))),
        };
        // Rows in [-1, 1]: the load-time bound is stated for that box.
        float[] x = NetworkChecks.RandomRows(4, 5, seed: 3);
        var random = new Random(12);
        int loaded = subjects.Sum(bytes => NetworkChecks.MutationsAreRejectedOrScoreFinitely(bytes, x, 1500, random));
        Assert.IsGreaterThan(200, loaded, "most mutations of weights load");
    }

    // ---- trainers ----

    private static T Small<T>(T options, FffFeatureScaling scaling, FffNumericEmbedding embedding) where T : FeedForwardOptionsBase
    {
        options.FeatureScaling = scaling;
        options.NumericEmbedding = embedding;
        options.NumericEmbeddingWidth = 4;
        options.NumericEmbeddingBins = 6;
        options.NumericEmbeddingFrequencies = 4;
        options.NumberOfEpochs = 15;
        options.LearningRate = 1e-2f;
        options.Seed = 1;
        options.NumberOfThreads = 1;
        if (options is FastFeedForwardOptionsBase fff)
        {
            fff.Depth = 2;
            fff.LeafWidth = 6;
        }
        return options;
    }

    [TestMethod]
    [DataRow(FffFeatureScaling.QuantileNormal, FffNumericEmbedding.None, "quantile-normal + FFF depth 2 x leaf 6")]
    [DataRow(FffFeatureScaling.RobustSmoothClip, FffNumericEmbedding.None, "robust smooth-clip + FFF depth 2 x leaf 6")]
    [DataRow(FffFeatureScaling.Auto, FffNumericEmbedding.PiecewiseLinear, "standardized + piecewise-linear embedding (6 features x 6 bins -> 4) + FFF depth 2 x leaf 6")]
    [DataRow(FffFeatureScaling.QuantileNormal, FffNumericEmbedding.Periodic, "quantile-normal + periodic embedding (6 features x 4 frequencies -> 4) + FFF depth 2 x leaf 6")]
    public void BinaryFffWorkoutWithEachStage(FffFeatureScaling scaling, FffNumericEmbedding embedding, string description)
    {
        var mlContext = new MLContext(seed: 1);
        var trainer = mlContext.BinaryClassification.Trainers.FastFeedForward(Small(new FastFeedForwardBinaryTrainer.Options(), scaling, embedding));
        ITransformer model = EstimatorWorkout.Run(trainer, TestData.BinaryData(mlContext), new[] { "Score", "Probability", "PredictedLabel" },
            (ml, scored) => Assert.IsGreaterThan(0.8, ml.BinaryClassification.Evaluate(scored).AreaUnderRocCurve));
        FffBinaryModelParameters parameters = ((BinaryPredictionTransformer<FffBinaryModelParameters>)model).Model;
        Assert.AreEqual(description, parameters.Description);
        Assert.AreEqual(FffArchitecture.FastFeedForward, parameters.Architecture);
        Assert.AreEqual(2, parameters.Depth);
        Assert.AreEqual(6, parameters.LeafWidth);

        IDataView rows = TestData.BinaryData(mlContext, count: 50, seed: 8);
        float[] features = rows.GetColumn<VBuffer<float>>("Features").SelectMany(v => v.DenseValues().ToArray()).ToArray();
        var scores = new float[50];
        parameters.ScoreBatch(features, scores);
        CollectionAssert.AreEqual(EstimatorWorkout.Bits(model.Transform(rows).GetColumn<float>("Score").ToArray()), EstimatorWorkout.Bits(scores));
        FffSoftHardGap gap = mlContext.Fff().EvaluateSoftHardGap(model, rows);
        Assert.AreEqual(mlContext.BinaryClassification.Evaluate(model.Transform(rows)).Accuracy, gap.HardMetric, 1e-9);
    }

    [TestMethod]
    public void DenseRegressionAndMoeMulticlassWorkouts()
    {
        var mlContext = new MLContext(seed: 1);
        var dense = new DenseFeedForwardRegressionTrainer.Options { HiddenLayerWidths = new[] { 16 } };
        EstimatorWorkout.Run(mlContext.Regression.Trainers.DenseFeedForward(Small(dense, FffFeatureScaling.RobustSmoothClip, FffNumericEmbedding.PiecewiseLinear)),
            TestData.RegressionData(mlContext), new[] { "Score" },
            (ml, scored) => Assert.IsGreaterThan(0.6, ml.Regression.Evaluate(scored).RSquared));
        var moe = new MixtureOfExpertsMulticlassTrainer.Options { NumberOfExperts = 4, ExpertWidth = 8 };
        EstimatorWorkout.Run(TestData.MulticlassPrefix(mlContext).Append(mlContext.MulticlassClassification.Trainers.MixtureOfExperts(
                Small(moe, FffFeatureScaling.Auto, FffNumericEmbedding.Periodic))),
            TestData.MulticlassData(mlContext), new[] { "Score", "PredictedLabel" },
            (ml, scored) => Assert.IsGreaterThan(0.7, ml.MulticlassClassification.Evaluate(scored).MicroAccuracy));
    }

    [TestMethod]
    public void DistillationTeacherTrainsBehindTheSameStage()
    {
        var mlContext = new MLContext(seed: 1);
        var messages = new System.Collections.Concurrent.ConcurrentQueue<string>();
        mlContext.Log += (_, e) => messages.Enqueue(e.Message);
        var options = Small(new FastFeedForwardRegressionTrainer.Options(), FffFeatureScaling.RobustSmoothClip, FffNumericEmbedding.PiecewiseLinear);
        options.DistillationTeacherWidth = 16;
        var model = mlContext.Regression.Trainers.FastFeedForward(options).Fit(TestData.RegressionData(mlContext));
        Assert.IsInstanceOfType<InputStageNetwork>(model.Model.Network);
        Assert.AreEqual(2, messages.Count(m => m.Contains("Input stage: robust smooth-clip, piecewise-linear embedding")), "the teacher and the student each fit the stage");
        Assert.IsGreaterThan(0.5, mlContext.Regression.Evaluate(model.Transform(TestData.RegressionData(mlContext, seed: 9))).RSquared);
    }

    [TestMethod]
    public void SameSeedGivesTheSameModelAndOptionsStayUnchanged()
    {
        byte[] Train(int seed)
        {
            var mlContext = new MLContext(seed: 1);
            var options = Small(new FastFeedForwardRegressionTrainer.Options(), FffFeatureScaling.QuantileNormal, FffNumericEmbedding.Periodic);
            options.Seed = seed;
            var model = mlContext.Regression.Trainers.FastFeedForward(options).Fit(TestData.RegressionData(mlContext));
            Assert.AreEqual(FffNumericEmbedding.Periodic, options.NumericEmbedding, "options are not modified");
            Assert.AreEqual(FffFeatureScaling.QuantileNormal, options.FeatureScaling);
            return NetworkChecks.SaveBytes(model.Model.Network);
        }
        CollectionAssert.AreEqual(Train(3), Train(3));
        CollectionAssert.AreNotEqual(Train(3), Train(4));
    }

    [TestMethod]
    [DataRow(FffFeatureScaling.QuantileNormal)]
    [DataRow(FffFeatureScaling.RobustSmoothClip)]
    public void WholeTableAndPerBatchTrainingSeeTheSameMappedRows(FffFeatureScaling scaling)
    {
        // The in-memory table is turned into tensors once (whole-table path) unless it exceeds InMemoryLimitMegabytes;
        // a limit of 0 builds every batch row by row instead. Both must apply the stage's map, so they train the same model.
        byte[] Train(int inMemoryLimitMegabytes)
        {
            var mlContext = new MLContext(seed: 1);
            var options = Small(new FastFeedForwardRegressionTrainer.Options(), scaling, FffNumericEmbedding.None);
            options.InMemoryLimitMegabytes = inMemoryLimitMegabytes;
            var model = mlContext.Regression.Trainers.FastFeedForward(options).Fit(TestData.RegressionData(mlContext));
            return NetworkChecks.SaveBytes(model.Model.Network);
        }
        CollectionAssert.AreEqual(Train(0), Train(FffDefaults.InMemoryLimitMegabytes));
    }

    [TestMethod]
    public void InvalidStageOptionsAreRejectedWithTheirNames()
    {
        var mlContext = new MLContext(seed: 1);
        (Action<FastFeedForwardBinaryTrainer.Options> Set, string Name)[] cases =
        {
            (o => o.NumericEmbedding = (FffNumericEmbedding)9, nameof(FeedForwardOptionsBase.NumericEmbedding)),
            (o => o.FeatureScaling = (FffFeatureScaling)9, nameof(FeedForwardOptionsBase.FeatureScaling)),
            (o => o.NumericEmbeddingWidth = 0, nameof(FeedForwardOptionsBase.NumericEmbeddingWidth)),
            (o => o.NumericEmbeddingWidth = 257, nameof(FeedForwardOptionsBase.NumericEmbeddingWidth)),
            (o => o.NumericEmbeddingBins = 0, nameof(FeedForwardOptionsBase.NumericEmbeddingBins)),
            (o => o.NumericEmbeddingFrequencies = 1000, nameof(FeedForwardOptionsBase.NumericEmbeddingFrequencies)),
            (o => o.PeriodicSigma = 0, nameof(FeedForwardOptionsBase.PeriodicSigma)),
            (o => o.PeriodicSigma = float.NaN, nameof(FeedForwardOptionsBase.PeriodicSigma)),
        };
        foreach ((Action<FastFeedForwardBinaryTrainer.Options> set, string name) in cases)
        {
            var options = new FastFeedForwardBinaryTrainer.Options();
            set(options);
            var e = Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => mlContext.BinaryClassification.Trainers.FastFeedForward(options));
            Assert.AreEqual(name, e.ParamName);
        }

        // Wide sparse (text-like) features: a clear error naming the option, at Fit.
        var sparseRows = Enumerable.Range(0, 40).Select(i => new SparseRow { Features = new VBuffer<float>(2000, 1, new[] { 1f }, new[] { i * 37 % 2000 }), Label = i % 2 == 0 });
        IDataView sparse = mlContext.Data.LoadFromEnumerable(sparseRows);
        var robust = Small(new FastFeedForwardBinaryTrainer.Options(), FffFeatureScaling.RobustSmoothClip, FffNumericEmbedding.None);
        var error = Assert.Throws<Exception>(() => mlContext.BinaryClassification.Trainers.FastFeedForward(robust).Fit(sparse));
        StringAssert.Contains(error.Message, "FeatureScaling = RobustSmoothClip");
        StringAssert.Contains(error.Message, "sparse");
    }

    private sealed class SparseRow
    {
        [VectorType(2000)]
        public VBuffer<float> Features { get; set; }

        public bool Label { get; set; }
    }

    [TestMethod]
    public void NarrowSparseFeaturesAreDensifiedAndOldKindsKeepTheirFormat()
    {
        var mlContext = new MLContext(seed: 1);
        // One-hot-like sparse rows of 12 slots: trained through the stage, scored sparse and dense alike.
        var random = new Random(3);
        var rows = Enumerable.Range(0, 300).Select(_ =>
        {
            // Slot 0 numeric, slots 1-6 a one-hot category, the rest always 0.
            int a = random.Next(6);
            float value = (float)random.NextDouble() * 4;
            return new SparseRow12 { Features = new VBuffer<float>(12, 2, new[] { value, 1f }, new[] { 0, 1 + a }), Label = value > 1 + 0.4f * a };
        }).ToList();
        IDataView data = mlContext.Data.LoadFromEnumerable(rows);
        var options = Small(new FastFeedForwardBinaryTrainer.Options(), FffFeatureScaling.QuantileNormal, FffNumericEmbedding.PiecewiseLinear);
        var model = mlContext.BinaryClassification.Trainers.FastFeedForward(options).Fit(data);
        var network = (InputStageNetwork)model.Model.Network;
        NetworkChecks.SparseRowsScoreLikeDenseRows(network);
        Assert.IsGreaterThan(0.6, mlContext.BinaryClassification.Evaluate(model.Transform(data)).Accuracy);

        // Without a stage (and without the clamp) the network is the inner kind itself, folded as before.
        FastFeedForwardBinaryTrainer.Options plainOptions = Small(new FastFeedForwardBinaryTrainer.Options(), FffFeatureScaling.Auto, FffNumericEmbedding.None);
        plainOptions.ClampToTrainingRange = false;
        var plain = mlContext.BinaryClassification.Trainers.FastFeedForward(plainOptions).Fit(TestData.BinaryData(mlContext));
        Assert.AreEqual(NetworkKind.FastFeedForward, plain.Model.Network.Kind);
    }

    private sealed class SparseRow12
    {
        [VectorType(12)]
        public VBuffer<float> Features { get; set; }

        public bool Label { get; set; }
    }
}
