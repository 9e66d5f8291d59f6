using System;
using System.Linq;
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
}
