using System;
using System.Numerics.Tensors;

namespace Microsoft.ML.Fff.Scoring;

/// <summary>
/// One feature row, dense or sparse, as the scorers see it: all they need is its dot product with a weight vector.
/// Scorers take it as a generic <c>TRow : IFeatureRow, allows ref struct</c>, so the JIT compiles one copy per row kind
/// with the dot product inlined and one code path serves dense and sparse rows.
/// </summary>
internal interface IFeatureRow
{
    /// <summary>The row's dot product with <paramref name="weights"/> (length = the row's feature count).</summary>
    float Dot(ReadOnlySpan<float> weights);
}

/// <summary>A dense row: <see cref="TensorPrimitives.Dot(ReadOnlySpan{float}, ReadOnlySpan{float})"/>.</summary>
internal readonly ref struct DenseRow(ReadOnlySpan<float> values) : IFeatureRow
{
    private readonly ReadOnlySpan<float> _values = values;

    public float Dot(ReadOnlySpan<float> weights) => TensorPrimitives.Dot(_values, weights);
}

/// <summary>A sparse row (indices validated by the caller): <see cref="Kernels.SparseDot"/>.</summary>
internal readonly ref struct SparseRow(ReadOnlySpan<int> indices, ReadOnlySpan<float> values) : IFeatureRow
{
    private readonly ReadOnlySpan<int> _indices = indices;
    private readonly ReadOnlySpan<float> _values = values;

    public float Dot(ReadOnlySpan<float> weights) => Kernels.SparseDot(weights, _indices, _values);
}
