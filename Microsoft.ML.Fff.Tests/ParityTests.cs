using System;
using System.Linq;
using Microsoft.ML.Fff;
using Microsoft.ML.Fff.FastFeedForward;
using Microsoft.ML.Fff.Training;
using Microsoft.VisualStudio.TestTools.UnitTesting;
using TorchSharp;
using static TorchSharp.torch;

namespace Microsoft.ML.Fff.Tests;

/// <summary>The TorchSharp forward passes and the pure-C# scorer compute the same function on the same weights.</summary>
[TestClass]
public sealed class ParityTests
{
    public static System.Collections.Generic.IEnumerable<object[]> Shapes => new[]
    {
        new object[] { 7, 3, 3, 5, 0 },
        new object[] { 33, 1, 0, 4, 0 },
        new object[] { 64, 10, 4, 16, 0 },
        new object[] { 5, 2, 6, 1, 0 },
        new object[] { 129, 1, 2, 9, 0 },
        new object[] { 17, 4, 3, 5, 8 },
        new object[] { 9, 1, 0, 3, 2 },
    };

    [TestMethod]
    [DynamicData(nameof(Shapes))]
    public void HardForwardMatchesCSharpScorer(int inputs, int outputs, int depth, int leafWidth, int masterWidth)
    {
        FastFeedForwardNetwork network = RandomNetwork(inputs, outputs, depth, leafWidth, seed: inputs + depth, masterWidth);
        float[] x = NetworkChecks.RandomRows(200, inputs, seed: 11);
        using var module = new FastFeedForwardModule(inputs, outputs, ModuleOptions(depth, leafWidth, masterWidth), CPU);
        module.Import(network);
        using Tensor input = tensor(x, new long[] { 200, inputs });
        using Tensor hard = module.HardForward(input);
        using Tensor leaves = module.HardLeaves(input);
        float[] torchOut = hard.data<float>().ToArray();
        long[] torchLeaves = leaves.data<long>().ToArray();

        var output = new float[outputs];
        for (int r = 0; r < 200; r++)
        {
            ReadOnlySpan<float> row = x.AsSpan(r * inputs, inputs);
            Assert.AreEqual(torchLeaves[r], network.FindLeaf(row), $"row {r} reached a different leaf");
            network.Score(row, output);
            for (int o = 0; o < outputs; o++)
                Assert.AreEqual(torchOut[r * outputs + o], output[o], 1e-4f * (1 + Math.Abs(output[o])), $"row {r} output {o}");
        }
    }

    [TestMethod]
    public void HardForwardGradientsReachOnlyTheLeavesRowsReach()
    {
        // Hard descent mixes the leaves with a one-hot weight: an unreached leaf's units are multiplied by zero, so neither its
        // hidden nor its output weights may move, and the routing nodes (frozen while fine-tuning) get no gradient at all.
        const int inputs = 6, outputs = 2, depth = 3, leafWidth = 4;
        FastFeedForwardNetwork network = RandomNetwork(inputs, outputs, depth, leafWidth, seed: 5, masterWidth: 0);
        float[] x = NetworkChecks.RandomRows(3, inputs, seed: 13);
        using var module = new FastFeedForwardModule(inputs, outputs, ModuleOptions(depth, leafWidth, 0), CPU);
        module.Import(network);
        using Tensor input = tensor(x, new long[] { 3, inputs });
        using (Tensor hard = module.HardForward(input))
        using (Tensor sum = hard.sum())
            sum.backward();

        var reached = Enumerable.Range(0, 3).Select(r => network.FindLeaf(x.AsSpan(r * inputs, inputs))).ToHashSet();
        var named = module.named_parameters().ToDictionary(p => p.name, p => p.parameter);
        Assert.IsNull(named["node_weight"].grad, "routing nodes get no gradient from hard descent");
        float[] hidden = named["hidden_weight"].grad!.data<float>().ToArray();      // [inputs, leaves * width]
        float[] output = named["output_weight"].grad!.data<float>().ToArray();      // [leaves, width, outputs]
        for (int leaf = 0; leaf < 1 << depth; leaf++)
        {
            double hiddenMass = 0, outputMass = 0;
            for (int i = 0; i < inputs; i++)
                for (int u = 0; u < leafWidth; u++)
                    hiddenMass += Math.Abs(hidden[i * (8 * leafWidth) + leaf * leafWidth + u]);
            for (int k = 0; k < leafWidth * outputs; k++)
                outputMass += Math.Abs(output[leaf * leafWidth * outputs + k]);
            if (reached.Contains(leaf))
                Assert.IsGreaterThan(0.0, outputMass, $"leaf {leaf} is reached and learns");
            else
                Assert.AreEqual(0.0, hiddenMass + outputMass, $"leaf {leaf} is reached by no row");
        }
    }

    [TestMethod]
    [DataRow(9, 3, 1, 5, 0, 40)]
    [DataRow(7, 2, 2, 6, 3, 300)]
    [DataRow(12, 1, 4, 8, 0, 25)]      // 16 leaves for 25 rows: some leaves get no row
    [DataRow(5, 4, 3, 3, 2, 1)]
    public void HardForwardLeafByLeafMatchesTheMixtureAndItsGradients(int inputs, int outputs, int depth, int leafWidth, int masterWidth, int rows)
    {
        // Large batches compute each leaf on its own rows (FastFeedForwardModule.LeafByLeafMinHiddenValues): the same function and
        // the same gradients as the one-hot mixture, up to the order of the additions.
        FastFeedForwardNetwork network = RandomNetwork(inputs, outputs, depth, leafWidth, seed: 7 * inputs + depth, masterWidth);
        float[] x = NetworkChecks.RandomRows(rows, inputs, seed: 21);
        float[] target = NetworkChecks.RandomRows(rows, outputs, seed: 22);
        (float[] Output, float[][] Gradients) Run(bool leafByLeaf)
        {
            using var module = new FastFeedForwardModule(inputs, outputs, ModuleOptions(depth, leafWidth, masterWidth), CPU);
            module.Import(network);
            using var scope = NewDisposeScope();
            Tensor input = tensor(x, new long[] { rows, inputs });
            Tensor hard = module.HardForward(input, leafByLeaf);
            hard.add(tensor(target, new long[] { rows, outputs }), AliveScalars.MinusOne).square().sum().backward();
            float[][] gradients = module.parameters().Select(p => p.grad is null ? Array.Empty<float>() : p.grad.data<float>().ToArray()).ToArray();
            return (hard.data<float>().ToArray(), gradients);
        }
        (float[] mixture, float[][] mixtureGradients) = Run(leafByLeaf: false);
        (float[] byLeaf, float[][] byLeafGradients) = Run(leafByLeaf: true);
        for (int k = 0; k < mixture.Length; k++)
            Assert.AreEqual(mixture[k], byLeaf[k], 1e-5f * (1 + Math.Abs(mixture[k])), $"output {k}");
        Assert.HasCount(mixtureGradients.Length, byLeafGradients);
        for (int p = 0; p < mixtureGradients.Length; p++)
        {
            Assert.HasCount(mixtureGradients[p].Length, byLeafGradients[p], $"parameter {p}: a gradient on one side only");
            for (int k = 0; k < mixtureGradients[p].Length; k++)
                Assert.AreEqual(mixtureGradients[p][k], byLeafGradients[p][k], 1e-4f * (1 + Math.Abs(mixtureGradients[p][k])), $"parameter {p}, element {k}");
        }
    }

    [TestMethod]
    public void LargeBatchesScoreAsTheCSharpScorer()
    {
        // 1,024 rows x 4 leaves x 32 units reach LeafByLeafMinHiddenValues, so HardForward takes the leaf-by-leaf path here.
        const int inputs = 11, outputs = 3, depth = 2, leafWidth = 32, rows = 1024;
        Assert.IsGreaterThanOrEqualTo(FastFeedForwardModule.LeafByLeafMinHiddenValues, (long)rows * (1 << depth) * leafWidth);
        FastFeedForwardNetwork network = RandomNetwork(inputs, outputs, depth, leafWidth, seed: 31, masterWidth: 4);
        float[] x = NetworkChecks.RandomRows(rows, inputs, seed: 32);
        using var module = new FastFeedForwardModule(inputs, outputs, ModuleOptions(depth, leafWidth, 4), CPU);
        module.Import(network);
        using Tensor input = tensor(x, new long[] { rows, inputs });
        using Tensor hard = module.HardForward(input);
        float[] torchOut = hard.data<float>().ToArray();
        var output = new float[outputs];
        var reached = new bool[1 << depth];
        for (int r = 0; r < rows; r++)
        {
            ReadOnlySpan<float> row = x.AsSpan(r * inputs, inputs);
            reached[network.FindLeaf(row)] = true;
            network.Score(row, output);
            for (int o = 0; o < outputs; o++)
                Assert.AreEqual(output[o], torchOut[r * outputs + o], 1e-4f * (1 + Math.Abs(output[o])), $"row {r} output {o}");
        }
        Assert.IsTrue(reached.All(leaf => leaf), "every leaf gets rows, so every leaf's slice is exercised");
    }

    [TestMethod]
    [DynamicData(nameof(Shapes))]
    public void SoftForwardMatchesCSharpSoftScorer(int inputs, int outputs, int depth, int leafWidth, int masterWidth)
    {
        FastFeedForwardNetwork network = RandomNetwork(inputs, outputs, depth, leafWidth, seed: 3 * inputs + depth, masterWidth);
        AssertSoftForwardMatchesCSharp(network, ModuleOptions(depth, leafWidth, masterWidth), NetworkChecks.RandomRows(50, inputs, seed: 12), 50);
    }

    /// <summary>The module's soft forward on <paramref name="rows"/> rows of <paramref name="x"/> against <c>ScoreSoft</c>, row by row.</summary>
    internal static void AssertSoftForwardMatchesCSharp(FastFeedForwardNetwork network, FastFeedForwardOptionsBase options, float[] x, int rows)
    {
        int inputs = network.InputCount, outputs = network.OutputCount;
        using var module = new FastFeedForwardModule(inputs, outputs, options, CPU);
        module.Import(network);
        using Tensor input = tensor(x, new long[] { rows, inputs });
        using Tensor soft = module.forward(input);
        float[] torchOut = soft.contiguous().data<float>().ToArray();
        var output = new float[outputs];
        var scratch = new float[2 * network.LeafCount];
        for (int r = 0; r < rows; r++)
        {
            network.ScoreSoft(x.AsSpan(r * inputs, inputs), output, scratch);
            for (int o = 0; o < outputs; o++)
                Assert.AreEqual(torchOut[r * outputs + o], output[o], 1e-4f * (1 + Math.Abs(output[o])), $"row {r} output {o}");
        }
    }

    [TestMethod]
    public void ExportAfterImportIsLossless()
    {
        FastFeedForwardNetwork network = RandomNetwork(10, 4, 3, 6, seed: 5, masterWidth: 3);
        using var module = new FastFeedForwardModule(10, 4, ModuleOptions(3, 6, 3), CPU);
        module.Import(network);
        var copy = new FastFeedForwardNetwork(10, 4, 3, 6, 3);
        module.Export(copy);
        foreach ((float[] expected, float[] actual) in network.Arrays.Zip(copy.Arrays))
            CollectionAssert.AreEqual(expected, actual);
        Assert.AreEqual(11, copy.Arrays.Count());
    }

    [TestMethod]
    public void HardFineTuneTrainsEverythingButTheRoutingNodes()
    {
        using var module = new FastFeedForwardModule(10, 4, ModuleOptions(3, 6, 2), CPU);
        var all = module.parameters().ToArray();
        var fineTune = module.ParametersFor(new Microsoft.ML.Fff.Training.PhasePlan(FffTrainingPhase.HardFineTune, 1)).ToArray();
        var soft = module.ParametersFor(new Microsoft.ML.Fff.Training.PhasePlan(FffTrainingPhase.Soft, 1)).ToArray();
        Assert.HasCount(all.Length, soft);
        // Node weights [I, N] and node biases [N] are the two parameters left out.
        Assert.HasCount(all.Length - 2, fineTune);
        var frozen = all.Where(p => !fineTune.Any(f => ReferenceEquals(f, p))).Select(p => p.shape).ToArray();
        CollectionAssert.AreEqual(new long[] { 10, 7 }, frozen[0]);
        CollectionAssert.AreEqual(new long[] { 7 }, frozen[1]);
    }

    [TestMethod]
    public void SparseRowsScoreLikeDenseRows()
    {
        FastFeedForwardNetwork network = RandomNetwork(300, 3, 4, 7, seed: 9);
        var random = new Random(4);
        var dense = new float[300];
        var outDense = new float[3];
        var outSparse = new float[3];
        for (int trial = 0; trial < 100; trial++)
        {
            Array.Clear(dense);
            int[] indices = Enumerable.Range(0, 300).Where(_ => random.NextDouble() < 0.05).ToArray();
            float[] values = indices.Select(_ => (float)(random.NextDouble() * 4 - 2)).ToArray();
            for (int k = 0; k < indices.Length; k++)
                dense[indices[k]] = values[k];
            Assert.AreEqual(network.FindLeaf(dense), network.FindLeaf(indices, values));
            network.Score(dense, outDense);
            network.Score(indices, values, outSparse);
            for (int o = 0; o < 3; o++)
                Assert.AreEqual(outDense[o], outSparse[o], 1e-4f * (1 + Math.Abs(outDense[o])));
        }
    }

    [TestMethod]
    [DataRow(0)]
    [DataRow(5)]
    public void FoldedScalingEqualsScaledInput(int masterWidth)
        => NetworkChecks.FoldedScalingEqualsScaledInput(RandomNetwork(8, 2, 2, 3, seed: 21, masterWidth));

    [TestMethod]
    public void NaNFeaturesGiveNaNScores()
    {
        FastFeedForwardNetwork network = RandomNetwork(4, 2, 2, 3, seed: 2);
        var output = new float[2];
        network.Score(new[] { 1f, float.NaN, 0f, 2f }, output);
        Assert.IsTrue(output.All(float.IsNaN));
    }

    [TestMethod]
    public void ScoringAllocatesNothingPerRow()
        => NetworkChecks.ScoringAllocatesNothingPerRow(RandomNetwork(64, 10, 5, 16, seed: 3));

    internal static FastFeedForwardOptionsBase ModuleOptions(int depth, int leafWidth, int masterWidth)
        => new FastFeedForwardMulticlassTrainer.Options { Depth = depth, LeafWidth = leafWidth, MasterLeafWidth = masterWidth };

    internal static FastFeedForwardNetwork RandomNetwork(int inputs, int outputs, int depth, int leafWidth, int seed, int masterWidth = 0)
    {
        var network = new FastFeedForwardNetwork(inputs, outputs, depth, leafWidth, masterWidth);
        var random = new Random(seed);
        foreach (float[] array in network.Arrays)
        {
            for (int i = 0; i < array.Length; i++)
                array[i] = (float)(random.NextDouble() * 2 - 1);
        }
        return network;
    }

}
