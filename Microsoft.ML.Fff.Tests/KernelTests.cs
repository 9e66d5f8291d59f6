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
}
