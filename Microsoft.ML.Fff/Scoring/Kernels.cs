using System;
using System.Numerics.Tensors;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

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
        if (!Avx2.IsSupported || !Fma.IsSupported)
        {
            float max = TensorPrimitives.Max<float>(values);
            TensorPrimitives.Subtract(values, max, values);
            TensorPrimitives.SoftMax<float>(values, values);
            return;
        }
        SoftMaxAvx2(values);
    }

    /// <summary>
    /// <see cref="SoftMax"/> in one exponential pass with <see cref="ExpOfNonPositive"/>. Per-row scoring of a small
    /// multiclass model spent most of its time in the portable version (TensorPrimitives' max, subtract and two
    /// exponential passes: about as long as a small FFF's whole descent, measured on the 2-core EPYC). The last partial
    /// vector is read and written with masked loads and stores, padded with -∞ (whose exponential is 0): building it lane
    /// by lane through memory cost more than the arithmetic.
    /// </summary>
    private static unsafe void SoftMaxAvx2(Span<float> values)
    {
        int n = values.Length;
        if (n == 0)
            return;
        int full = n & ~7;
        fixed (float* v = values)
        {
            Vector256<int> lanes = Vector256.LessThan(Vector256.Create(0, 1, 2, 3, 4, 5, 6, 7), Vector256.Create(n - full));
            Vector256<float> inTail = lanes.AsSingle(), minusInfinity = Vector256.Create(float.NegativeInfinity);
            Vector256<float> tail = Vector256.ConditionalSelect(inTail, Avx.MaskLoad(v + full, inTail), minusInfinity);
            Vector256<float> max = tail, nan = ~Vector256.Equals(tail, tail);
            for (int i = 0; i < full; i += 8)
            {
                Vector256<float> x = Avx.LoadVector256(v + i);
                max = Avx.Max(max, x);   // NaN is checked apart, so the plain instruction does
                nan |= ~Vector256.Equals(x, x);
            }
            if (nan != Vector256<float>.Zero)
            {
                values.Fill(float.NaN);
                return;
            }
            Vector128<float> half = Sse.Max(max.GetLower(), max.GetUpper());
            half = Sse.Max(half, Vector128.Shuffle(half, Vector128.Create(2, 3, 0, 1)));
            half = Sse.Max(half, Vector128.Shuffle(half, Vector128.Create(1, 0, 3, 2)));
            Vector256<float> shift = Vector256.Create(half.ToScalar()), sum = Vector256<float>.Zero;
            for (int i = 0; i < full; i += 8)
            {
                Vector256<float> e = ExpOfNonPositive(Avx.LoadVector256(v + i) - shift);
                Avx.Store(v + i, e);
                sum += e;
            }
            Vector256<float> tailExp = ExpOfNonPositive(tail - shift);
            sum += tailExp;
            Vector256<float> scale = Vector256.Create(1f / Vector256.Sum(sum));
            for (int i = 0; i < full; i += 8)
                Avx.Store(v + i, Avx.LoadVector256(v + i) * scale);
            Avx.MaskStore(v + full, inTail, tailExp * scale);
        }
    }

    /// <summary>
    /// <c>e^x</c> for <c>x &lt;= 0</c> (softmax after the shift), within about 2 ulp: <c>x = k ln 2 + r</c> with
    /// <c>|r| &lt;= ln 2 / 2</c> (ln 2 split in two parts so <c>r</c> stays exact), the Cephes minimax polynomial of degree 7
    /// for <c>e^r</c>, and <c>2^k</c> built in the exponent bits. Below the smallest normal result it returns 0 (and -∞
    /// gives 0). NaN is not handled (the caller checks for it first). Needs AVX2 and FMA.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static Vector256<float> ExpOfNonPositive(Vector256<float> x)
    {
        // Raw AVX/FMA instructions: a softmax row is one dependency chain, so latency is what counts, and the portable
        // Vector256 helpers add NaN and saturation handling this domain does not need.
        const float Lowest = -87.33654f;   // ln of the smallest normal float
        Vector256<float> underflow = Avx.CompareLessThan(x, Vector256.Create(Lowest));
        x = Avx.Max(x, Vector256.Create(Lowest));
        Vector256<float> k = Avx.RoundToNearestInteger(x * Vector256.Create(1.44269504f));
        Vector256<float> r = Fma.MultiplyAddNegated(k, Vector256.Create(0.693359375f), x);
        r = Fma.MultiplyAddNegated(k, Vector256.Create(-2.12194440e-4f), r);
        Vector256<float> p = Fma.MultiplyAdd(Vector256.Create(1.9875691500e-4f), r, Vector256.Create(1.3981999507e-3f));
        p = Fma.MultiplyAdd(p, r, Vector256.Create(8.3334519073e-3f));
        p = Fma.MultiplyAdd(p, r, Vector256.Create(4.1665795894e-2f));
        p = Fma.MultiplyAdd(p, r, Vector256.Create(1.6666665459e-1f));
        p = Fma.MultiplyAdd(p, r, Vector256.Create(5.0000001201e-1f));
        p = Fma.MultiplyAdd(p, r * r, r + Vector256<float>.One);
        Vector256<float> twoToK = Avx2.ShiftLeftLogical(Avx.ConvertToVector256Int32(k) + Vector256.Create(127), 23).AsSingle();
        return Avx.AndNot(underflow, p * twoToK);
    }

    /// <summary>Writes the logistic function of <paramref name="x"/>, computed so that large |x| does not overflow.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Sigmoid(float x) => x >= 0 ? 1f / (1f + MathF.Exp(-x)) : MathF.Exp(x) / (1f + MathF.Exp(x));
}
