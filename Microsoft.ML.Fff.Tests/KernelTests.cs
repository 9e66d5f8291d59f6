using System;
using System.Linq;
using System.Runtime.Intrinsics;
using Microsoft.ML.Fff.Scoring;
using Microsoft.VisualStudio.TestTools.UnitTesting;

namespace Microsoft.ML.Fff.Tests;

[TestClass]
public sealed class KernelTests
{
    [TestMethod]
    public void SparseDotMatchesNaiveSumForOddLengths()
    {
        var random = new Random(1);
        float[] weights = Enumerable.Range(0, 1000).Select(_ => (float)(random.NextDouble() * 2 - 1)).ToArray();
        for (int n = 0; n <= 37; n++)
        {
            int[] indices = Enumerable.Range(0, 1000).OrderBy(_ => random.Next()).Take(n).OrderBy(i => i).ToArray();
            float[] values = indices.Select(_ => (float)(random.NextDouble() * 2 - 1)).ToArray();
            double expected = 0;
            for (int k = 0; k < n; k++)
                expected += values[k] * (double)weights[indices[k]];
            Assert.AreEqual(expected, Kernels.SparseDot(weights, indices, values), 1e-5, $"length {n}");
        }
    }

    [TestMethod]
    public void SparseIndicesAreChecked()
    {
        Kernels.CheckSparseIndices(new[] { 0, 3, 9 }, 10, "Features");
        Assert.ThrowsExactly<InvalidOperationException>(() => Kernels.CheckSparseIndices(new[] { 0, 10 }, 10, "Features"));
        Assert.ThrowsExactly<InvalidOperationException>(() => Kernels.CheckSparseIndices(new[] { 4, 4 }, 10, "Features"));
        Assert.ThrowsExactly<InvalidOperationException>(() => Kernels.CheckSparseIndices(new[] { -1 }, 10, "Features"));
    }

    [TestMethod]
    public void SigmoidIsStableAtTheExtremes()
    {
        Assert.AreEqual(1f, Kernels.Sigmoid(1000f));
        Assert.AreEqual(0f, Kernels.Sigmoid(-1000f));
        Assert.AreEqual(0.5f, Kernels.Sigmoid(0f));
        for (float x = -20; x <= 20; x += 0.37f)
            Assert.AreEqual(1 / (1 + Math.Exp(-x)), Kernels.Sigmoid(x), 1e-6);
    }

    [TestMethod]
    public void SoftMaxIsStableForLargeLogits()
    {
        // TensorPrimitives.SoftMax alone gives NaN here (e^100 / e^100 overflows to ∞/∞).
        float[] values = { 100f, 99f, 50f };
        Kernels.SoftMax(values);
        double e1 = Math.Exp(-1), e50 = Math.Exp(-50), sum = 1 + e1 + e50;
        Assert.AreEqual(1 / sum, values[0], 1e-6);
        Assert.AreEqual(e1 / sum, values[1], 1e-6);
        Assert.AreEqual(e50 / sum, values[2], 1e-6);

        float[] extreme = { 1e30f, 0f, -1e30f, float.MaxValue };
        Kernels.SoftMax(extreme);
        CollectionAssert.AreEqual(new[] { 0f, 0f, 0f, 1f }, extreme);

        float[] nan = { 1f, float.NaN };
        Kernels.SoftMax(nan);
        Assert.IsTrue(nan.All(float.IsNaN), "a NaN logit gives NaN probabilities");
    }

    [TestMethod]
    public void ExpOfNonPositiveIsWithinTwoUlpsAndUnderflowsToZero()
    {
        if (!System.Runtime.Intrinsics.X86.Avx2.IsSupported || !System.Runtime.Intrinsics.X86.Fma.IsSupported)
            Assert.Inconclusive("No AVX2 and FMA here; SoftMax uses TensorPrimitives.");
        var x = new float[8];
        var e = new float[8];
        double worst = 0;
        for (int i = 0; i <= 880_000; i += 8)
        {
            for (int lane = 0; lane < 8; lane++)
                x[lane] = -(i + lane) * 1e-4f;   // 0 down to -88
            Kernels.ExpOfNonPositive(Vector256.Create(x)).CopyTo(e);
            for (int lane = 0; lane < 8; lane++)
            {
                double expected = Math.Exp(x[lane]);
                if (x[lane] < -87.33654f)
                {
                    Assert.AreEqual(0f, e[lane], $"e^{x[lane]} underflows to 0");
                    continue;
                }
                // Relative error in units of float's epsilon at the result's scale.
                worst = Math.Max(worst, Math.Abs(e[lane] - expected) / (expected * Math.Pow(2, -23)));
            }
        }
        Assert.IsTrue(worst <= 2, $"worst error {worst:F2} ulp");
        Kernels.ExpOfNonPositive(Vector256.Create(0f, -0f, float.NegativeInfinity, -1000f, -1f, -0.5f, -2f, -87f)).CopyTo(e);
        Assert.AreEqual(1f, e[0]);
        Assert.AreEqual(1f, e[1]);
        Assert.AreEqual(0f, e[2]);
        Assert.AreEqual(0f, e[3]);
    }

    [TestMethod]
    public void SoftMaxMatchesADoubleReferenceForOddLengths()
    {
        var random = new Random(7);
        for (int n = 1; n <= 41; n++)
        {
            for (int trial = 0; trial < 20; trial++)
            {
                float[] logits = Enumerable.Range(0, n).Select(_ => (float)((random.NextDouble() * 2 - 1) * (trial % 2 == 0 ? 5 : 60))).ToArray();
                float[] values = (float[])logits.Clone();
                Kernels.SoftMax(values);
                double max = logits.Max(), sum = logits.Sum(l => Math.Exp(l - max));
                for (int i = 0; i < n; i++)
                    Assert.AreEqual(Math.Exp(logits[i] - max) / sum, values[i], 2e-7 + 1e-6 * values[i], $"length {n}, class {i}");
            }
        }
    }

    [TestMethod]
    public void AddActivatedEqualsOneMultiplyAddPerActiveUnitBitForBit()
    {
        var random = new Random(3);
        for (int outputs = 1; outputs <= 21; outputs++)
        {
            for (int units = 1; units <= 9; units += 2)
            {
                float[] hidden = Enumerable.Range(0, units).Select(_ => (float)(random.NextDouble() * 2 - 1)).ToArray();
                if (units > 4)
                    hidden[3] = float.NaN;   // NaN activations pass the ReLU and reach the outputs
                if (units > 2)
                    hidden[1] = -0f;         // the ReLU's boundary: inactive, adds a zero product
                float[] weights = Enumerable.Range(0, units * outputs).Select(_ => (float)(random.NextDouble() * 2 - 1)).ToArray();
                float[] start = Enumerable.Range(0, outputs).Select(_ => (float)random.NextDouble()).ToArray();
                float factor = 0.3f + (float)random.NextDouble();

                float[] expected = (float[])start.Clone();
                for (int u = 0; u < units; u++)
                {
                    if (!(hidden[u] <= 0))
                        System.Numerics.Tensors.TensorPrimitives.MultiplyAdd(weights.AsSpan(u * outputs, outputs), hidden[u] * factor, expected, expected);
                }
                float[] actual = (float[])start.Clone();
                DescentKernels.AddActivated(hidden, weights, factor, actual);
                CollectionAssert.AreEqual(EstimatorWorkout.Bits(expected), EstimatorWorkout.Bits(actual), $"{units} units, {outputs} outputs");
            }
        }
    }

    /// <summary>
    /// A single output adds only its non-zero terms (<see cref="DescentKernels.AddActivated"/>), and gives the bits of adding every
    /// term (<see cref="DescentKernels.AddEveryTerm"/>) for 1 to 140 units (two bit-mask chunks and a partial vector), with zeros,
    /// negative zeros, NaN and large values among the activations and weights, and sums that cancel to a signed zero.
    /// </summary>
    [TestMethod]
    public void SingleOutputAddingNonZeroTermsEqualsAddingEveryTermBitForBit()
    {
        var random = new Random(7);
        int zeroSums = 0;
        for (int units = 1; units <= 140; units += units < 40 ? 1 : 13)
        {
            for (int trial = 0; trial < 40; trial++)
            {
                float[] hidden = Values(random, units);
                float[] weights = Values(random, units);
                float factor = trial % 5 == 0 ? 1f : (float)random.NextDouble();
                float start = (trial % 4) switch { 0 => 0f, 1 => -0f, _ => (float)(random.NextDouble() * 4 - 2) };
                if (trial % 8 == 7)
                {
                    // One active unit whose term cancels the start exactly: the sum is a zero whose sign the zero terms decide.
                    Array.Fill(hidden, -1f);
                    hidden[units / 2] = 1f;
                    weights[units / 2] = 0.5f;
                    start = -0.5f;
                    factor = 1f;
                }
                var expected = new[] { start };
                var actual = new[] { start };
                DescentKernels.AddEveryTerm(hidden, weights, factor, expected);
                DescentKernels.AddActivated(hidden, weights, factor, actual);
                Assert.AreEqual(BitConverter.SingleToInt32Bits(expected[0]), BitConverter.SingleToInt32Bits(actual[0]),
                    $"{units} units, trial {trial}: expected {expected[0]}, got {actual[0]}");
                if (expected[0] == 0)
                    zeroSums++;
            }
        }
        Assert.IsGreaterThan(20, zeroSums, "sums that end at a signed zero are exercised");
    }

    /// <summary>
    /// The eight-neuron tiles of <see cref="DescentKernels.Units"/> (transposed lane sums, tails read by masked loads and transposed) give the portable tiles' bits
    /// for every width and neuron count, with zeros, negative zeros, NaN and large values in the row.
    /// </summary>
    [TestMethod]
    public void UnitsEqualThePortableTilesBitForBit()
    {
        var random = new Random(3);
        for (int width = 1; width <= 41; width++)
        {
            for (int count = 1; count <= 35; count += 1 + count / 8)
            {
                float[] x = Values(random, width);
                float[] weights = Values(random, width * count);
                float[] biases = Values(random, count);
                var expected = new float[count];
                var actual = new float[count];
                DescentKernels.UnitsPortable(ref x[0], ref weights[0], biases, width, expected);
                DescentKernels.Units(ref x[0], ref weights[0], biases, width, actual);
                CollectionAssert.AreEqual(EstimatorWorkout.Bits(expected), EstimatorWorkout.Bits(actual), $"width {width}, {count} neurons");
            }
        }
    }

    /// <summary>Mostly uniform values in [-2, 2), with some zeros, negative zeros, NaN and large magnitudes.</summary>
    private static float[] Values(Random random, int count)
        => Enumerable.Range(0, count).Select(_ => random.Next(40) switch
        {
            0 => 0f,
            1 => -0f,
            2 => float.NaN,
            3 => (float)(random.NextDouble() * 2e6 - 1e6),
            _ => (float)(random.NextDouble() * 4 - 2),
        }).ToArray();
}
