using System;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace Microsoft.ML.Fff.Scoring;

/// <summary>
/// Kernels for conditional networks on narrow rows (a table's few dozen features): a layer's weights stored input-major
/// (<c>weights[i * stride + k]</c> is input <c>i</c>'s weight into neuron <c>k</c>), so a row's neurons are computed eight at
/// a time, one broadcast input after another, with no horizontal sum per neuron. On 8–20 inputs the neuron-major kernels of
/// <see cref="DescentKernels"/> spend most of their time in each neuron's lane sum and scalar tail.
/// </summary>
/// <remarks>
/// Every element's arithmetic is fixed whatever the caller batches: neuron <c>k</c> is
/// <c>(even + odd) + b_k</c>, where <c>even</c> is the fused multiply-add chain over inputs 0, 2, 4, … and <c>odd</c> the
/// chain over inputs 1, 3, 5, … (two chains, so a row is not bound by the latency of one chain). The operations are
/// <see cref="Vector256"/> ones, which give the same bits with or without AVX (fused multiply-adds are always fused).
/// </remarks>
internal static class NarrowKernels
{
    /// <summary>Neurons are padded to a multiple of this many (one 256-bit vector).</summary>
    public const int Lanes = 8;

    /// <summary><paramref name="count"/> rounded up to a whole number of vectors.</summary>
    public static int Padded(int count) => (count + Lanes - 1) / Lanes * Lanes;

    /// <summary>
    /// <c>destination[k] = b_k + sum_i x[i] * weights[i * stride + k]</c> for every <c>k &lt; stride</c>, with
    /// <c>stride = biases.Length</c> a multiple of <see cref="Lanes"/>. Allocates nothing.
    /// </summary>
    /// <param name="x">The row.</param>
    /// <param name="weights">Input-major weights, <c>x.Length x stride</c>.</param>
    /// <param name="biases">One bias per (padded) neuron.</param>
    /// <param name="destination">Receives <c>stride</c> pre-activations.</param>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Affine(ReadOnlySpan<float> x, ReadOnlySpan<float> weights, ReadOnlySpan<float> biases, Span<float> destination)
    {
        int inputs = x.Length, stride = biases.Length;
        if (weights.Length < inputs * stride || destination.Length < stride || stride % Lanes != 0)
            throw new ArgumentException("The weights or the destination do not match the row and the biases.");
        ref float xr = ref MemoryMarshal.GetReference(x);
        ref float w = ref MemoryMarshal.GetReference(weights);
        ref float b = ref MemoryMarshal.GetReference(biases);
        ref float d = ref MemoryMarshal.GetReference(destination);
        int c = 0;
        for (; c + 4 * Lanes <= stride; c += 4 * Lanes)
            Affine4(ref xr, inputs, ref Unsafe.Add(ref w, c), stride, ref Unsafe.Add(ref b, c), ref Unsafe.Add(ref d, c));
        for (; c < stride; c += Lanes)
            Affine1(ref xr, inputs, ref Unsafe.Add(ref w, c), stride, ref Unsafe.Add(ref b, c), ref Unsafe.Add(ref d, c));
    }

    /// <summary>Four vectors of neurons of <see cref="Affine"/>, each element computed as <see cref="Affine1"/> computes it.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Affine4(ref float x, int inputs, ref float w, int stride, ref float b, ref float d)
    {
        Vector256<float> e0 = default, e1 = default, e2 = default, e3 = default;
        Vector256<float> o0 = default, o1 = default, o2 = default, o3 = default;
        int i = 0;
        for (; i + 2 <= inputs; i += 2)
        {
            Vector256<float> xa = Vector256.Create(Unsafe.Add(ref x, i));
            Vector256<float> xb = Vector256.Create(Unsafe.Add(ref x, i + 1));
            ref float wa = ref Unsafe.Add(ref w, (nint)i * stride);
            ref float wb = ref Unsafe.Add(ref wa, stride);
            e0 = Vector256.FusedMultiplyAdd(xa, Vector256.LoadUnsafe(ref wa), e0);
            e1 = Vector256.FusedMultiplyAdd(xa, Vector256.LoadUnsafe(ref wa, Lanes), e1);
            e2 = Vector256.FusedMultiplyAdd(xa, Vector256.LoadUnsafe(ref wa, 2 * Lanes), e2);
            e3 = Vector256.FusedMultiplyAdd(xa, Vector256.LoadUnsafe(ref wa, 3 * Lanes), e3);
            o0 = Vector256.FusedMultiplyAdd(xb, Vector256.LoadUnsafe(ref wb), o0);
            o1 = Vector256.FusedMultiplyAdd(xb, Vector256.LoadUnsafe(ref wb, Lanes), o1);
            o2 = Vector256.FusedMultiplyAdd(xb, Vector256.LoadUnsafe(ref wb, 2 * Lanes), o2);
            o3 = Vector256.FusedMultiplyAdd(xb, Vector256.LoadUnsafe(ref wb, 3 * Lanes), o3);
        }
        if (i < inputs)
        {
            Vector256<float> xa = Vector256.Create(Unsafe.Add(ref x, i));
            ref float wa = ref Unsafe.Add(ref w, (nint)i * stride);
            e0 = Vector256.FusedMultiplyAdd(xa, Vector256.LoadUnsafe(ref wa), e0);
            e1 = Vector256.FusedMultiplyAdd(xa, Vector256.LoadUnsafe(ref wa, Lanes), e1);
            e2 = Vector256.FusedMultiplyAdd(xa, Vector256.LoadUnsafe(ref wa, 2 * Lanes), e2);
            e3 = Vector256.FusedMultiplyAdd(xa, Vector256.LoadUnsafe(ref wa, 3 * Lanes), e3);
        }
        (e0 + o0 + Vector256.LoadUnsafe(ref b)).StoreUnsafe(ref d);
        (e1 + o1 + Vector256.LoadUnsafe(ref b, Lanes)).StoreUnsafe(ref d, Lanes);
        (e2 + o2 + Vector256.LoadUnsafe(ref b, 2 * Lanes)).StoreUnsafe(ref d, 2 * Lanes);
        (e3 + o3 + Vector256.LoadUnsafe(ref b, 3 * Lanes)).StoreUnsafe(ref d, 3 * Lanes);
    }

    /// <summary>One vector of neurons of <see cref="Affine"/>: the even and odd inputs' chains, then <c>(even + odd) + b</c>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Affine1(ref float x, int inputs, ref float w, int stride, ref float b, ref float d)
    {
        Vector256<float> even = default, odd = default;
        int i = 0;
        for (; i + 2 <= inputs; i += 2)
        {
            ref float wa = ref Unsafe.Add(ref w, (nint)i * stride);
            even = Vector256.FusedMultiplyAdd(Vector256.Create(Unsafe.Add(ref x, i)), Vector256.LoadUnsafe(ref wa), even);
            odd = Vector256.FusedMultiplyAdd(Vector256.Create(Unsafe.Add(ref x, i + 1)), Vector256.LoadUnsafe(ref Unsafe.Add(ref wa, stride)), odd);
        }
        if (i < inputs)
            even = Vector256.FusedMultiplyAdd(Vector256.Create(Unsafe.Add(ref x, i)), Vector256.LoadUnsafe(ref Unsafe.Add(ref w, (nint)i * stride)), even);
        (even + odd + Vector256.LoadUnsafe(ref b)).StoreUnsafe(ref d);
    }

    /// <summary>
    /// <c>sum_k ReLU(hidden[k]) * weights[k]</c> over <c>hidden.Length</c> (a multiple of <see cref="Lanes"/>) values: the
    /// products of vector 0, then a fused multiply-add per further vector, then the eight lanes as
    /// <c>((l0 + l4) + (l2 + l6)) + ((l1 + l5) + (l3 + l7))</c>. ReLU is <c>!(h &lt;= 0) ? h : 0</c>, so a NaN unit reaches the sum.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static float ActivatedDot(ReadOnlySpan<float> hidden, ReadOnlySpan<float> weights)
    {
        int count = hidden.Length;
        if (weights.Length < count || count % Lanes != 0 || count == 0)
            throw new ArgumentException("The hidden units and the weights must have the same length, a positive multiple of 8.");
        ref float h = ref MemoryMarshal.GetReference(hidden);
        ref float w = ref MemoryMarshal.GetReference(weights);
        Vector256<float> sum = Activated(Vector256.LoadUnsafe(ref h)) * Vector256.LoadUnsafe(ref w);
        for (int k = Lanes; k < count; k += Lanes)
            sum = Vector256.FusedMultiplyAdd(Activated(Vector256.LoadUnsafe(ref h, (nuint)k)), Vector256.LoadUnsafe(ref w, (nuint)k), sum);
        Vector128<float> half = sum.GetLower() + sum.GetUpper();
        return (half.GetElement(0) + half.GetElement(2)) + (half.GetElement(1) + half.GetElement(3));
    }

    /// <summary>ReLU that lets NaN through: lanes with <c>h &lt;= 0</c> become +0.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<float> Activated(Vector256<float> h) => Vector256.AndNot(h, Vector256.LessThanOrEqual(h, Vector256<float>.Zero));
}
