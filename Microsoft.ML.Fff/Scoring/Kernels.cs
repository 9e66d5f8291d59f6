using System;
using System.Numerics.Tensors;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace Microsoft.ML.Fff.Scoring;

/// <summary>
/// Span kernels used by the pure-C# scorers. Dense work goes through <see cref="TensorPrimitives"/>;
/// the sparse gather-dot has no TensorPrimitives equivalent, so it is written here.
/// </summary>
internal static class Kernels
{
    /// <summary>Returns <c>sum_k values[k] * weights[indices[k]]</c>; indices must be in range (checked by the caller once per row).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float SparseDot(ReadOnlySpan<float> weights, ReadOnlySpan<int> indices, ReadOnlySpan<float> values)
    {
        ref float w = ref MemoryMarshal.GetReference(weights);
        ref int ix = ref MemoryMarshal.GetReference(indices);
        ref float v = ref MemoryMarshal.GetReference(values);
        int n = indices.Length;
        // Four independent accumulators hide the latency of the dependent adds.
        float s0 = 0, s1 = 0, s2 = 0, s3 = 0;
        int k = 0;
        for (; k + 4 <= n; k += 4)
        {
            s0 += Unsafe.Add(ref v, k) * Unsafe.Add(ref w, Unsafe.Add(ref ix, k));
            s1 += Unsafe.Add(ref v, k + 1) * Unsafe.Add(ref w, Unsafe.Add(ref ix, k + 1));
            s2 += Unsafe.Add(ref v, k + 2) * Unsafe.Add(ref w, Unsafe.Add(ref ix, k + 2));
            s3 += Unsafe.Add(ref v, k + 3) * Unsafe.Add(ref w, Unsafe.Add(ref ix, k + 3));
        }
        for (; k < n; k++)
            s0 += Unsafe.Add(ref v, k) * Unsafe.Add(ref w, Unsafe.Add(ref ix, k));
        return (s0 + s1) + (s2 + s3);
    }

    /// <summary>Throws unless every index is in <c>[0, length)</c> and strictly increasing (the VBuffer contract).</summary>
    public static void CheckSparseIndices(ReadOnlySpan<int> indices, int length, string columnName)
    {
        int previous = -1;
        foreach (int index in indices)
        {
            if (index <= previous || index >= length)
                throw new InvalidOperationException(
                    $"Column '{columnName}' holds a sparse vector with an invalid index {index} (length {length}); indices must be increasing and below the vector length.");
            previous = index;
        }
    }

    /// <summary>
    /// Softmax in place, shifted by the largest value first: <see cref="TensorPrimitives.SoftMax{T}(ReadOnlySpan{T}, Span{T})"/>
    /// exponentiates the raw values, so any logit above ~88 gives ∞/∞ = NaN. Finite inputs give finite outputs; a NaN input gives NaN.
    /// </summary>
    public static void SoftMax(Span<float> values)
    {
        float max = TensorPrimitives.Max<float>(values);
        TensorPrimitives.Subtract(values, max, values);
        TensorPrimitives.SoftMax<float>(values, values);
    }

    /// <summary>Writes the logistic function of <paramref name="x"/>, computed so that large |x| does not overflow.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Sigmoid(float x) => x >= 0 ? 1f / (1f + MathF.Exp(-x)) : MathF.Exp(x) / (1f + MathF.Exp(x));
}
