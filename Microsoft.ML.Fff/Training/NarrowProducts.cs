using static TorchSharp.torch;

namespace Microsoft.ML.Fff.Training;

/// <summary>
/// The training modules' products of rows or hidden units with a weight matrix. A right factor whose column count is not a
/// multiple of 16 (a network's outputs for a few classes, a tree's routing nodes, a mixture's gates, a layer of unusual width)
/// is multiplied over zero columns added up to the next multiple of <see cref="ColumnMultiple"/> when the left factor is large.
/// </summary>
/// <remarks>
/// libtorch's CPU matrix multiply (MKL, linked into libtorch) takes a slow path when the product's column count is small and
/// not a multiple of 16: on this project's 2-core AMD EPYC machine, one thread, <c>[512 x 512] · [512 x 7]</c> forward and
/// backward took 1.7–2.4 ms and the same product over 16 columns (nine of them zero) 0.9–1.0 ms (docs/tabular.md, "Products
/// over a multiple of 16 columns"). The padded columns are zeros and their products are dropped before anything reads them, so
/// the values are those of the plain product up to the order of its additions, and no gradient flows from them. One column
/// (binary, regression) is a matrix-vector product, fast as it is; small left factors keep the plain product, where the pad
/// and the slice cost more than they save. Those keep their exact former arithmetic.
/// </remarks>
internal static class NarrowProducts
{
    /// <summary>Padded products have a multiple of this many columns.</summary>
    public const long ColumnMultiple = 16;

    /// <summary>Fewest values in the left factor (rows x inner dimension) for which a padded product is used.</summary>
    public const long MinLeftValues = 65_536;

    /// <summary><paramref name="left"/> · <paramref name="right"/> (<c>[n x k] · [k x m]</c>).</summary>
    public static Tensor Multiply(Tensor left, Tensor right)
        => PaddedColumns(left, right) is long padded ? PaddedProduct(left, right, padded) : left.mm(right);

    /// <summary><paramref name="addend"/> + <paramref name="left"/> · <paramref name="right"/> (<c>addmm</c> when not padded).</summary>
    public static Tensor AddProduct(Tensor addend, Tensor left, Tensor right)
        => PaddedColumns(left, right) is long padded ? PaddedProduct(left, right, padded).add(addend, AliveScalars.One) : addend.addmm(left, right);

    /// <summary>The padded column count (the next multiple of <see cref="ColumnMultiple"/>) when a padded product pays; null for the plain product.</summary>
    internal static long? PaddedColumns(Tensor left, Tensor right)
    {
        long columns = right.shape[1];
        return columns <= 1 || columns % ColumnMultiple == 0 || left.shape[0] * left.shape[1] < MinLeftValues
            ? null
            : (columns + ColumnMultiple - 1) / ColumnMultiple * ColumnMultiple;
    }

    private static Tensor PaddedProduct(Tensor left, Tensor right, long padded)
        => left.mm(nn.functional.pad(right, new long[] { 0, padded - right.shape[1] })).narrow(1, 0, right.shape[1]);
}
