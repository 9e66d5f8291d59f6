using System;
using System.Linq;
using Microsoft.ML.Fff.FastFeedForward;
using Microsoft.ML.Fff.Training;
using Microsoft.VisualStudio.TestTools.UnitTesting;
using static TorchSharp.torch;

namespace Microsoft.ML.Fff.Tests;

/// <summary><see cref="NarrowProducts"/>: products over a multiple of 16 columns where that is faster, the plain product elsewhere.</summary>
[TestClass]
public sealed class NarrowProductsTests
{
    private static Tensor Random(long rows, long columns, int seed)
        => tensor(NetworkChecks.RandomRows((int)rows, (int)columns, seed), new long[] { rows, columns });

    /// <summary>Values and gradients of a product and a product with an addend, in one of the two forms.</summary>
    private static (float[] Value, float[] Left, float[] Right, float[] Addend) Run(long rows, long inner, long columns, bool withAddend, bool helper)
    {
        using var scope = NewDisposeScope();
        Tensor left = Random(rows, inner, 1).requires_grad_(true);
        Tensor right = Random(inner, columns, 2).requires_grad_(true);
        Tensor addend = Random(rows, columns, 3).requires_grad_(true);
        Tensor value = withAddend
            ? (helper ? NarrowProducts.AddProduct(addend, left, right) : addend.addmm(left, right))
            : (helper ? NarrowProducts.Multiply(left, right) : left.mm(right));
        // A loss that weighs every output differently, so a gradient sent to the wrong column would show.
        value.mul(Random(rows, columns, 4)).sum().backward();
        return (value.contiguous().data<float>().ToArray(), left.grad!.data<float>().ToArray(), right.grad!.data<float>().ToArray(),
            withAddend ? addend.grad!.data<float>().ToArray() : Array.Empty<float>());
    }

    [TestMethod]
    [DataRow(512, 128, 7, true)]
    [DataRow(256, 256, 2, true)]
    [DataRow(1024, 64, 15, true)]
    [DataRow(512, 128, 26, true)]     // to 32 columns
    [DataRow(256, 784, 15, true)]     // a depth-4 tree's routing nodes on images
    [DataRow(64, 128, 7, false)]      // a small left factor
    [DataRow(512, 128, 1, false)]     // one column: a matrix-vector product
    [DataRow(512, 128, 16, false)]    // a multiple of 16 already
    [DataRow(512, 128, 32, false)]
    public void ProductsGiveThePlainProductAndItsGradients(int rows, int inner, int columns, bool padded)
    {
        // Binary, regression, small batches and multiples of 16 keep the plain product (addmm or mm, as before the padded form).
        using (var scope = NewDisposeScope())
            Assert.AreEqual(padded ? (long?)((columns + 15) / 16 * 16) : null, NarrowProducts.PaddedColumns(zeros(rows, inner), zeros(inner, columns)));
        foreach (bool withAddend in new[] { false, true })
        {
            (float[] Value, float[] Left, float[] Right, float[] Addend) plain = Run(rows, inner, columns, withAddend, helper: false);
            (float[] Value, float[] Left, float[] Right, float[] Addend) helper = Run(rows, inner, columns, withAddend, helper: true);
            AssertClose(plain.Value, helper.Value, "value");
            AssertClose(plain.Left, helper.Left, "gradient of the left factor");
            AssertClose(plain.Right, helper.Right, "gradient of the right factor");
            AssertClose(plain.Addend, helper.Addend, "gradient of the addend");
        }

        static void AssertClose(float[] expected, float[] actual, string what)
        {
            Assert.HasCount(expected.Length, actual, what);
            for (int k = 0; k < expected.Length; k++)
                Assert.AreEqual(expected[k], actual[k], 1e-4f * (1 + Math.Abs(expected[k])), $"{what}, element {k}");
        }
    }

    [TestMethod]
    public void SparseLeftFactorsArePaddedAlike()
    {
        // Wide sparse batches (text) reach libtorch as COO tensors; the routing nodes' and the gates' products take them as they are.
        const long rows = 64, inputs = 2048, columns = 7;
        Assert.IsGreaterThanOrEqualTo(NarrowProducts.MinLeftValues, rows * inputs);
        using var scope = NewDisposeScope();
        var random = new Random(5);
        long[] rowIndex = Enumerable.Range(0, 300).Select(_ => (long)random.Next((int)rows)).ToArray();
        long[] columnIndex = Enumerable.Range(0, 300).Select(_ => (long)random.Next((int)inputs)).ToArray();
        Tensor indices = stack(new[] { tensor(rowIndex), tensor(columnIndex) });
        Tensor sparse = sparse_coo_tensor(indices, rand(300), new[] { rows, inputs });
        Tensor right = Random(inputs, columns, 6);
        Tensor bias = Random(1, columns, 7).view(columns);
        Assert.AreEqual(NarrowProducts.ColumnMultiple, NarrowProducts.PaddedColumns(sparse, right));
        float[] expected = bias.addmm(sparse.to_dense(), right).data<float>().ToArray();
        float[] actual = NarrowProducts.AddProduct(bias, sparse, right).contiguous().data<float>().ToArray();
        for (int k = 0; k < expected.Length; k++)
            Assert.AreEqual(expected[k], actual[k], 1e-4f * (1 + Math.Abs(expected[k])), $"element {k}");
    }

    [TestMethod]
    public void LargeSoftBatchesOfFewClassesScoreAsTheCSharpSoftScorer()
    {
        // 512 rows x 4 leaves x 32 units is a padded output product for 5 outputs: the module's soft forward still scores as the
        // C# soft scorer does.
        const int inputs = 9, outputs = 5, depth = 2, leafWidth = 32, rows = 512;
        Assert.IsGreaterThanOrEqualTo(NarrowProducts.MinLeftValues, (long)rows * (1 << depth) * leafWidth);
        FastFeedForwardNetwork network = ParityTests.RandomNetwork(inputs, outputs, depth, leafWidth, seed: 41);
        ParityTests.AssertSoftForwardMatchesCSharp(network, ParityTests.ModuleOptions(depth, leafWidth, 0), NetworkChecks.RandomRows(rows, inputs, seed: 42), rows);
    }
}
