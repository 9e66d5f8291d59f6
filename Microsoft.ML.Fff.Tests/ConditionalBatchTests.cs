using System;
using System.Linq;
using Microsoft.ML.Fff.FastFeedForward;
using Microsoft.ML.Fff.MixtureOfExperts;
using Microsoft.ML.Fff.Scoring;
using Microsoft.VisualStudio.TestTools.UnitTesting;

namespace Microsoft.ML.Fff.Tests;

/// <summary>
/// The conditional-execution kernels (<see cref="DescentKernels"/>) and the grouped batch path of the FFF scorer: exact
/// against a double reference over odd lengths, and batch rows bit-identical to one-row scoring.
/// </summary>
[TestClass]
public sealed class ConditionalBatchTests
{
    [TestMethod]
    public void DotMatchesDoubleReferenceForOddLengths()
    {
        for (int width = 1; width <= 133; width++)
        {
            float[] x = NetworkChecks.RandomRows(1, width, seed: width);
            float[] w = NetworkChecks.RandomRows(1, width, seed: 1000 + width);
            double expected = 0;
            for (int i = 0; i < width; i++)
                expected += x[i] * (double)w[i];
            float actual = DescentKernels.Dot(ref x[0], ref w[0], width);
            Assert.AreEqual(expected, actual, 1e-5 * width, $"width {width}");
        }
    }

    [TestMethod]
    public void UnitsMatchDoubleReferenceAndTilesAgreeWithSingleNeurons()
    {
        foreach (int width in new[] { 1, 7, 8, 9, 15, 16, 17, 31, 33, 100 })
        {
            foreach (int count in new[] { 1, 3, 4, 5, 9 })
            {
                float[] x = NetworkChecks.RandomRows(1, width, seed: width);
                float[] w = NetworkChecks.RandomRows(count, width, seed: 7 * width + count);
                float[] b = NetworkChecks.RandomRows(1, count, seed: count);
                var all = new float[count];
                DescentKernels.Units(ref x[0], ref w[0], b, width, all);
                for (int j = 0; j < count; j++)
                {
                    double expected = b[j];
                    for (int i = 0; i < width; i++)
                        expected += x[i] * (double)w[j * width + i];
                    Assert.AreEqual(expected, all[j], 1e-5 * (width + 1), $"width {width}, neuron {j} of {count}");
                    // The same neuron computed alone (a one-neuron call takes the single-neuron path) is bit-identical.
                    var one = new float[1];
                    DescentKernels.Units(ref x[0], ref w[j * width], b.AsSpan(j, 1), width, one);
                    Assert.AreEqual(all[j], one[0], $"width {width}, neuron {j} of {count}: tile and single neuron differ");
                }
            }
        }
    }

    [TestMethod]
    public void UnitsBlockEqualsUnitsPerRow()
    {
        foreach (int width in new[] { 5, 8, 23, 64 })
        {
            const int rows = 11, count = 7;
            float[] features = NetworkChecks.RandomRows(rows, width, seed: width);
            float[] w = NetworkChecks.RandomRows(count, width, seed: 3);
            float[] b = NetworkChecks.RandomRows(1, count, seed: 4);
            int[] picked = { 10, 3, 3, 0, 7 };
            var block = new float[picked.Length * count];
            DescentKernels.UnitsBlock(features, picked, ref w[0], b, width, block);
            var one = new float[count];
            for (int t = 0; t < picked.Length; t++)
            {
                DescentKernels.Units(ref features[picked[t] * width], ref w[0], b, width, one);
                CollectionAssert.AreEqual(one, block.AsSpan(t * count, count).ToArray(), $"width {width}, row {picked[t]}");
            }
        }
    }

    [TestMethod]
    [DataRow(37, 3, 4, 7, 0, 40)]
    [DataRow(37, 3, 4, 7, 5, 40)]
    [DataRow(203, 10, 5, 16, 0, 1500)]
    [DataRow(203, 10, 5, 16, 9, 1500)]
    [DataRow(16, 1, 0, 4, 3, 300)]
    [DataRow(9, 2, 2, 1, 0, 15)]
    public void GroupedBatchEqualsOneRowScoringBitForBit(int inputs, int outputs, int depth, int leafWidth, int masterWidth, int rows)
    {
        FastFeedForwardNetwork network = ParityTests.RandomNetwork(inputs, outputs, depth, leafWidth, seed: 11, masterWidth: masterWidth);
        // Scale the inputs so that node values and ReLU gates fall on both sides of zero.
        float[] features = NetworkChecks.RandomRows(rows, inputs, seed: 12);
        features[Math.Min(rows - 1, 3) * inputs + inputs / 2] = float.NaN;   // a row that cannot be routed
        var batch = new float[rows * outputs];
        network.ScoreBatch(features, rows, batch);
        var one = new float[outputs];
        int nanRows = 0;
        var leaves = new int[1 << depth];
        for (int r = 0; r < rows; r++)
        {
            ReadOnlySpan<float> x = features.AsSpan(r * inputs, inputs);
            network.Score(x, one);
            CollectionAssert.AreEqual(one, batch.AsSpan(r * outputs, outputs).ToArray(), $"row {r}");
            int leaf = network.FindLeaf(x);
            if (leaf < 0)
                nanRows++;
            else
                leaves[leaf]++;
        }
        // Depth 0 has no routing node: the NaN reaches the output through the one leaf instead.
        Assert.AreEqual(depth > 0 ? 1 : 0, nanRows, "exactly the row with a NaN feature is unroutable");
        int nanRow = Math.Min(rows - 1, 3);
        Assert.IsTrue(batch.AsSpan(nanRow * outputs, outputs).ToArray().All(float.IsNaN), "the NaN row scores NaN");
        if (depth > 0 && rows > 100)
            Assert.IsTrue(leaves.Count(c => c > 1) > 1, "the batch exercised groups of several rows in several leaves");
    }

    /// <summary>
    /// The one-row FFF path gives, for every width 1..70 and depth 0..6, the bits of its reference: on narrow networks (at
    /// most 64 inputs, depth 4, no master leaf) a scalar replay of the narrow kernels' operations; on the others the old
    /// kernels (the portable tiles and every output term added). Outputs 1, 3 and 10 cover both forms of a narrow leaf's output.
    /// </summary>
    [TestMethod]
    public void OneRowScoreEqualsItsReferenceBitForBit()
    {
        int narrowChecked = 0, wideChecked = 0;
        for (int depth = 0; depth <= 6; depth++)
        {
            for (int inputs = 1; inputs <= 70; inputs += inputs < 40 ? 1 : 3)
            {
                int outputs = inputs % 5 == 0 ? 10 : inputs % 3 == 0 ? 3 : 1, leafWidth = 1 + (7 * inputs + depth) % 40;
                FastFeedForwardNetwork network = ParityTests.RandomNetwork(inputs, outputs, depth, leafWidth, seed: 100 * depth + inputs);
                float[] features = NetworkChecks.RandomRows(16, inputs, seed: inputs);
                var hidden = new float[leafWidth];
                var expected = new float[outputs];
                var actual = new float[outputs];
                for (int r = 0; r < 16; r++)
                {
                    ReadOnlySpan<float> x = features.AsSpan(r * inputs, inputs);
                    int leaf = network.FindLeaf(x);
                    if (network.UsesNarrowKernels)
                    {
                        Assert.AreEqual(NarrowReferenceLeaf(network, x), leaf, $"depth {depth}, {inputs} inputs, row {r}: narrow routing");
                        NarrowReferenceScore(network, x, leaf, expected);
                        narrowChecked++;
                    }
                    else
                    {
                        DescentKernels.UnitsPortable(ref features[r * inputs], ref network.HiddenWeights[leaf * leafWidth * inputs],
                            network.HiddenBiases.AsSpan(leaf * leafWidth, leafWidth), inputs, hidden);
                        network.OutputBiases.AsSpan(leaf * outputs, outputs).CopyTo(expected);
                        DescentKernels.AddEveryTerm(hidden, network.OutputWeights.AsSpan(leaf * leafWidth * outputs, leafWidth * outputs), 1f, expected);
                        wideChecked++;
                    }
                    network.Score(x, actual);
                    CollectionAssert.AreEqual(EstimatorWorkout.Bits(expected), EstimatorWorkout.Bits(actual), $"depth {depth}, {inputs} inputs, leaf {leafWidth}, {outputs} outputs, row {r}");
                }
            }
        }
        Assert.IsTrue(narrowChecked > 0 && wideChecked > 0, "both paths were checked");
    }

    /// <summary><see cref="NarrowKernels.Affine"/> and <see cref="NarrowKernels.ActivatedDot"/> against a double reference over odd input counts and every padded width up to 48.</summary>
    [TestMethod]
    public void NarrowKernelsMatchDoubleReferenceForOddLengths()
    {
        for (int inputs = 1; inputs <= 67; inputs += 2)
        {
            for (int stride = 8; stride <= 48; stride += 8)
            {
                float[] x = NetworkChecks.RandomRows(1, inputs, seed: inputs);
                float[] w = NetworkChecks.RandomRows(inputs, stride, seed: 100 + stride);
                float[] b = NetworkChecks.RandomRows(1, stride, seed: 200 + inputs);
                var h = new float[stride];
                NarrowKernels.Affine(x, w, b, h);
                float[] v = NetworkChecks.RandomRows(1, stride, seed: 300 + stride);
                double dot = 0;
                for (int k = 0; k < stride; k++)
                {
                    double expected = b[k];
                    for (int i = 0; i < inputs; i++)
                        expected += x[i] * (double)w[i * stride + k];
                    Assert.AreEqual(expected, h[k], 1e-5 * (inputs + 1), $"{inputs} inputs, stride {stride}, unit {k}");
                    dot += Math.Max(0, (double)h[k]) * v[k];
                }
                Assert.AreEqual(dot, NarrowKernels.ActivatedDot(h, v), 1e-5 * stride * (inputs + 1), $"{inputs} inputs, stride {stride}: output");
            }
        }
        // ReLU lets NaN through to the sum; a negative unit adds nothing.
        var hidden = new float[8];
        hidden[3] = float.NaN;
        Assert.IsTrue(float.IsNaN(NarrowKernels.ActivatedDot(hidden, Enumerable.Repeat(1f, 8).ToArray())));
        hidden[3] = -5;
        hidden[6] = 2;
        Assert.AreEqual(6f, NarrowKernels.ActivatedDot(hidden, Enumerable.Repeat(3f, 8).ToArray()));
        Assert.Throws<ArgumentException>(() => NarrowKernels.ActivatedDot(new float[7], new float[7]));
        Assert.Throws<ArgumentException>(() => NarrowKernels.Affine(new float[3], new float[10], new float[8], new float[8]));
    }

    /// <summary>A narrow network's sparse rows, batches and the rows of a batch with a NaN give what its dense one-row path gives.</summary>
    [TestMethod]
    public void NarrowNetworkScoresSparseRowsAndBatchesLikeOneDenseRow()
    {
        FastFeedForwardNetwork network = ParityTests.RandomNetwork(13, 2, 3, 20, seed: 7);
        Assert.IsTrue(network.UsesNarrowKernels);
        const int rows = 200;
        float[] features = NetworkChecks.RandomRows(rows, 13, seed: 8);
        for (int k = 0; k < features.Length; k += 3)
            features[k] = 0;   // zeros to leave out of the sparse form
        features[5 * 13 + 4] = float.NaN;
        var batch = new float[rows * 2];
        network.ScoreBatch(features, rows, batch);
        var one = new float[2];
        var sparse = new float[2];
        for (int r = 0; r < rows; r++)
        {
            float[] x = features.AsSpan(r * 13, 13).ToArray();
            network.Score(x, one);
            CollectionAssert.AreEqual(EstimatorWorkout.Bits(one), EstimatorWorkout.Bits(batch.AsSpan(r * 2, 2).ToArray()), $"row {r}: batch");
            int[] indices = Enumerable.Range(0, 13).Where(i => x[i] != 0).ToArray();
            float[] values = indices.Select(i => x[i]).ToArray();
            network.Score(indices, values, sparse);
            CollectionAssert.AreEqual(EstimatorWorkout.Bits(one), EstimatorWorkout.Bits(sparse), $"row {r}: sparse");
            Assert.AreEqual(network.FindLeaf(x), network.FindLeaf(indices, values), $"row {r}: sparse routing");
        }
        Assert.IsTrue(batch.AsSpan(5 * 2, 2).ToArray().All(float.IsNaN), "the row with a NaN scores NaN");
        Assert.AreEqual(-1, network.FindLeaf(features.AsSpan(5 * 13, 13)));
    }

    /// <summary>Writing the weights in place and calling <see cref="FeedForwardNetwork.WeightsChanged"/> changes what the narrow path scores.</summary>
    [TestMethod]
    public void NarrowNetworkSeesWeightsWrittenInPlace()
    {
        FastFeedForwardNetwork network = ParityTests.RandomNetwork(6, 1, 2, 8, seed: 3);
        float[] x = NetworkChecks.RandomRows(1, 6, seed: 4);
        var before = new float[1];
        network.Score(x, before);
        Array.Clear(network.OutputWeights);
        Array.Fill(network.OutputBiases, 2.5f);
        network.WeightsChanged();
        var after = new float[1];
        network.Score(x, after);
        Assert.AreNotEqual(before[0], after[0]);
        Assert.AreEqual(2.5f, after[0]);
    }

    /// <summary>The leaf a narrow network routes to, replayed in scalar code: each node's even and odd chains of fused multiply-adds.</summary>
    private static int NarrowReferenceLeaf(FastFeedForwardNetwork network, ReadOnlySpan<float> x)
    {
        int node = 0;
        for (int level = 0; level < network.Depth; level++)
        {
            float z = NarrowReferenceUnit(x, network.NodeWeights.AsSpan(node * x.Length, x.Length), network.NodeBiases[node]);
            if (float.IsNaN(z))
                return -1;
            node = 2 * node + (z >= 0 ? 2 : 1);
        }
        return node - network.NodeCount;
    }

    private static float NarrowReferenceUnit(ReadOnlySpan<float> x, ReadOnlySpan<float> w, float bias)
    {
        float even = 0, odd = 0;
        for (int i = 0; i < x.Length; i++)
        {
            if (i % 2 == 0)
                even = MathF.FusedMultiplyAdd(x[i], w[i], even);
            else
                odd = MathF.FusedMultiplyAdd(x[i], w[i], odd);
        }
        return even + odd + bias;
    }

    /// <summary>A narrow leaf's outputs replayed in scalar code: per output, eight lane chains over the padded units, then the lanes' fixed sum.</summary>
    private static void NarrowReferenceScore(FastFeedForwardNetwork network, ReadOnlySpan<float> x, int leaf, float[] result)
    {
        int width = network.LeafWidth, inputs = x.Length, outputs = network.OutputCount;
        int padded = (width + 7) / 8 * 8;
        var active = new float[padded];
        for (int k = 0; k < width; k++)
        {
            float h = NarrowReferenceUnit(x, network.HiddenWeights.AsSpan((leaf * width + k) * inputs, inputs), network.HiddenBiases[leaf * width + k]);
            active[k] = h <= 0 ? 0 : h;
        }
        if (outputs > 8)
        {
            network.OutputBiases.AsSpan(leaf * outputs, outputs).CopyTo(result);
            DescentKernels.AddEveryTerm(active.AsSpan(0, width), network.OutputWeights.AsSpan(leaf * width * outputs, width * outputs), 1f, result);
            return;
        }
        for (int o = 0; o < outputs; o++)
        {
            var lanes = new float[8];
            for (int k = 0; k < padded; k++)
            {
                float v = k < width ? network.OutputWeights[(leaf * width + k) * outputs + o] : 0;
                lanes[k % 8] = k < 8 ? active[k] * v : MathF.FusedMultiplyAdd(active[k], v, lanes[k % 8]);
            }
            float sum = ((lanes[0] + lanes[4]) + (lanes[2] + lanes[6])) + ((lanes[1] + lanes[5]) + (lanes[3] + lanes[7]));
            result[o] = network.OutputBiases[leaf * outputs + o] + sum;
        }
    }

    [TestMethod]
    [DataRow(37, 3, 6, 5, 2, MoeGating.SoftmaxTopK, 40)]
    [DataRow(37, 3, 6, 5, 3, MoeGating.Sigma, 40)]
    [DataRow(203, 10, 16, 9, 2, MoeGating.SoftmaxTopK, 1500)]
    [DataRow(203, 10, 16, 9, 1, MoeGating.Sigma, 2300)]
    [DataRow(9, 2, 3, 1, 3, MoeGating.SoftmaxTopK, 7)]
    public void MixtureGroupedByExpertEqualsOneRowScoringBitForBit(int inputs, int outputs, int experts, int width, int k, MoeGating gating, int rows)
    {
        MoeNetwork network = MixtureOfExpertsTests.RandomNetwork(inputs, outputs, experts, width, k, gating, seed: 13);
        float[] features = NetworkChecks.RandomRows(rows, inputs, seed: 14);
        int nanRow = Math.Min(rows - 1, 5);
        features[nanRow * inputs] = float.NaN;
        var batch = new float[rows * outputs];
        network.ScoreBatch(features, rows, batch);
        var one = new float[outputs];
        var used = new int[experts];
        var chosen = new int[k];
        var weights = new float[k];
        for (int r = 0; r < rows; r++)
        {
            ReadOnlySpan<float> x = features.AsSpan(r * inputs, inputs);
            network.Score(x, one);
            CollectionAssert.AreEqual(one, batch.AsSpan(r * outputs, outputs).ToArray(), $"row {r}");
            Assert.AreEqual(r != nanRow, network.SelectExperts(x, chosen, weights), $"row {r} routed");
            if (r != nanRow)
                used[chosen[0]]++;
        }
        Assert.IsTrue(batch.AsSpan(nanRow * outputs, outputs).ToArray().All(float.IsNaN), "the NaN row scores NaN");
        if (rows > 100)
            Assert.IsTrue(used.Count(c => c > 1) > 1, "the batch exercised several experts with several rows each");
    }

    [TestMethod]
    public void SerialMixtureBatchAllocatesNothingOnceWarm()
        // 200 rows: below 2 x MinRowsPerThread (128), so one thread, grouped by expert.
        => SerialBatchAllocatesNothing(MixtureOfExpertsTests.RandomNetwork(64, 10, 8, 16, 2, MoeGating.SoftmaxTopK, seed: 3), rows: 200);

    [TestMethod]
    public void BatchResultDoesNotDependOnBatchSizeOrPosition()
    {
        FastFeedForwardNetwork network = ParityTests.RandomNetwork(50, 4, 4, 8, seed: 5, masterWidth: 3);
        const int rows = 700;
        float[] features = NetworkChecks.RandomRows(rows, 50, seed: 6);
        var full = new float[rows * 4];
        network.ScoreBatch(features, rows, full);
        // The last 100 rows on their own, and shifted to the front of another batch.
        var part = new float[100 * 4];
        network.ScoreBatch(features.AsSpan(600 * 50), 100, part);
        CollectionAssert.AreEqual(full.AsSpan(600 * 4).ToArray(), part);
    }

    [TestMethod]
    public void SerialGroupedBatchAllocatesNothingOnceWarm()
        // 200 rows: below 2 x MinRowsPerThread (256), so one thread, grouped by leaf.
        => SerialBatchAllocatesNothing(ParityTests.RandomNetwork(64, 10, 5, 16, seed: 3, masterWidth: 4), rows: 200);

    private static void SerialBatchAllocatesNothing(FeedForwardNetwork network, int rows)
    {
        float[] features = NetworkChecks.RandomRows(rows, network.InputCount, seed: 4);
        var outputs = new float[rows * network.OutputCount];
        network.ScoreBatch(features, rows, outputs);
        long allocated = NetworkChecks.AllocatedBytesOnceWarm(() =>
        {
            for (int i = 0; i < 5; i++)
                network.ScoreBatch(features, rows, outputs);
        });
        Assert.AreEqual(0L, allocated);
    }

    [TestMethod]
    public void ScoreBatchRejectsShortSpans()
    {
        FastFeedForwardNetwork network = ParityTests.RandomNetwork(4, 2, 2, 3, seed: 2);
        Assert.ThrowsExactly<ArgumentException>(() => network.ScoreBatch(new float[7], 2, new float[4]));
        Assert.ThrowsExactly<ArgumentException>(() => network.ScoreBatch(new float[8], 2, new float[3]));
        Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => network.ScoreBatch(new float[8], -1, new float[4]));
        network.ScoreBatch(ReadOnlySpan<float>.Empty, 0, Span<float>.Empty);
    }
}
