using System;
using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Microsoft.ML.Fff.Scoring;

/// <summary>
/// Dot-product kernels of the conditional scorers (FFF hard descent, mixture-of-experts gates and experts), shared by the
/// one-row path and the batched, grouped path so that both give bit-identical results.
/// </summary>
/// <remarks>
/// <para>
/// Each kernel fixes the sequence of floating-point operations of one output element, whatever the caller batches:
/// <see cref="Dot"/> (routing nodes, one neuron per row) spreads consecutive vectors over four accumulators, so a lone dot
/// product is not bound by the latency of one fused multiply-add chain; <see cref="Units"/> (a leaf's or an expert's
/// hidden neurons) computes four neurons at a time from one load of the row, with two accumulators per neuron (eight
/// chains in all, which fit the 16 vector registers of AVX2 with the row and weight vectors). The batched path groups rows
/// by node, leaf or expert so that a weight vector is loaded from memory once for many rows, but it calls these same
/// kernels per row: grouping changes only where the weights come from (L1 instead of L3), never the arithmetic.
/// </para>
/// <para>
/// The operations are exact IEEE ones (fused multiply-adds, lane sums in lane order, then the scalar tail in index order),
/// with no reassociation left to the JIT, so tiered compilation cannot change a result. The kernels skip tiering
/// (AggressiveOptimization): the unoptimized tier would run the vector operations as calls.
/// </para>
/// </remarks>
internal static class DescentKernels
{
    /// <summary>
    /// <c>sum_i x[i] * w[i]</c> over <paramref name="width"/> values: vector <c>v</c> of each 4-vector block goes to
    /// accumulator <c>v</c>, leftover whole vectors to the first accumulator, then <c>(a0 + a1) + (a2 + a3)</c>, its lanes in
    /// order and the scalar tail.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static float Dot(ref float x, ref float w, int width)
    {
        int n = Vector<float>.Count;
        Vector<float> a0 = default, a1 = default, a2 = default, a3 = default;
        int i = 0;
        for (; i + 4 * n <= width; i += 4 * n)
        {
            a0 = Vector.FusedMultiplyAdd(Vector.LoadUnsafe(ref x, (nuint)i), Vector.LoadUnsafe(ref w, (nuint)i), a0);
            a1 = Vector.FusedMultiplyAdd(Vector.LoadUnsafe(ref x, (nuint)(i + n)), Vector.LoadUnsafe(ref w, (nuint)(i + n)), a1);
            a2 = Vector.FusedMultiplyAdd(Vector.LoadUnsafe(ref x, (nuint)(i + 2 * n)), Vector.LoadUnsafe(ref w, (nuint)(i + 2 * n)), a2);
            a3 = Vector.FusedMultiplyAdd(Vector.LoadUnsafe(ref x, (nuint)(i + 3 * n)), Vector.LoadUnsafe(ref w, (nuint)(i + 3 * n)), a3);
        }
        for (; i + n <= width; i += n)
            a0 = Vector.FusedMultiplyAdd(Vector.LoadUnsafe(ref x, (nuint)i), Vector.LoadUnsafe(ref w, (nuint)i), a0);
        return Finish((a0 + a1) + (a2 + a3), ref x, ref w, i, width);
    }

    /// <summary>
    /// Whether the eight-neuron tiles of <see cref="Units"/> can run: 256-bit vectors with AVX2 and FMA. Without them
    /// <see cref="Units"/> runs its portable tiles, which give the same bits.
    /// </summary>
    public static bool CanRunEightWide => Vector<float>.Count == 8 && Avx2.IsSupported && Fma.IsSupported;

    /// <summary>
    /// Pre-activations of <c>count</c> consecutive neurons for one row: <c>destination[j] = dot(x, weights[j * width ..]) + biases[j]</c>
    /// for <c>j &lt; count</c>, four neurons per pass over the row. Allocates nothing.
    /// </summary>
    /// <param name="x">The row: <paramref name="width"/> values.</param>
    /// <param name="weights">The neurons' weights, row-major <c>count x width</c>, neuron <c>j</c> contiguous.</param>
    /// <param name="biases">One bias per neuron; its length is the neuron count.</param>
    /// <param name="width">Input dimension.</param>
    /// <param name="destination">Receives <c>count</c> values.</param>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Units(ref float x, ref float weights, ReadOnlySpan<float> biases, int width, Span<float> destination)
        => UnitsCore(ref x, ref weights, biases, width, destination, CanRunEightWide);

    /// <summary>
    /// The portable form of <see cref="Units"/> (tiles of four, each lane sum in scalar code): what <see cref="Units"/> computes, bit
    /// for bit, on any hardware. Kept for the tests that hold the eight-wide tiles to it.
    /// </summary>
    internal static void UnitsPortable(ref float x, ref float weights, ReadOnlySpan<float> biases, int width, Span<float> destination)
        => UnitsCore(ref x, ref weights, biases, width, destination, eightWide: false);

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void UnitsCore(ref float x, ref float weights, ReadOnlySpan<float> biases, int width, Span<float> destination, bool eightWide)
    {
        int count = biases.Length;
        ref float d = ref MemoryMarshal.GetReference(destination.Slice(0, count));
        ref float b = ref MemoryMarshal.GetReference(biases);
        int j = 0;
        if (eightWide)
        {
            for (; j + 8 <= count; j += 8)
                Tile8(ref x, ref Unsafe.Add(ref weights, (nint)j * width), ref Unsafe.Add(ref b, j), width, ref Unsafe.Add(ref d, j));
        }
        for (; j + 4 <= count; j += 4)
            Tile4(ref x, ref Unsafe.Add(ref weights, (nint)j * width), ref Unsafe.Add(ref b, j), width, ref Unsafe.Add(ref d, j));
        for (; j < count; j++)
            Unsafe.Add(ref d, j) = Unit(ref x, ref Unsafe.Add(ref weights, (nint)j * width), width) + Unsafe.Add(ref b, j);
    }

    /// <summary>
    /// <see cref="Units"/> for a block of rows gathered by index, as one blocked matrix multiply: the outer loop runs over
    /// tiles of four neurons, so a tile's weights stay in L1 while the block's rows stream past, and the weights of all the
    /// neurons are read from memory once per block instead of once per row. Each element equals what <see cref="Units"/>
    /// computes for its row, bit for bit. Row <c>t</c>'s values go to <c>destination[t * count ..)</c>.
    /// </summary>
    /// <param name="features">Row-major rows of <paramref name="width"/> values.</param>
    /// <param name="rows">Indices of the rows to multiply (each below <c>features.Length / width</c>; not checked).</param>
    /// <param name="weights">Row-major <c>count x width</c> weights.</param>
    /// <param name="biases">One bias per neuron; its length is the neuron count.</param>
    /// <param name="width">Input dimension.</param>
    /// <param name="destination">Receives <c>rows.Length * count</c> values.</param>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void UnitsBlock(ReadOnlySpan<float> features, ReadOnlySpan<int> rows, ref float weights, ReadOnlySpan<float> biases,
        int width, Span<float> destination)
    {
        int count = biases.Length;
        ref float f = ref MemoryMarshal.GetReference(features);
        ref float d = ref MemoryMarshal.GetReference(destination.Slice(0, rows.Length * count));
        ref float b = ref MemoryMarshal.GetReference(biases);
        int j = 0;
        for (; j + 4 <= count; j += 4)
        {
            ref float w = ref Unsafe.Add(ref weights, (nint)j * width);
            for (int t = 0; t < rows.Length; t++)
                Tile4(ref Unsafe.Add(ref f, (nint)rows[t] * width), ref w, ref Unsafe.Add(ref b, j), width, ref Unsafe.Add(ref d, (nint)t * count + j));
        }
        for (; j < count; j++)
        {
            ref float w = ref Unsafe.Add(ref weights, (nint)j * width);
            for (int t = 0; t < rows.Length; t++)
                Unsafe.Add(ref d, (nint)t * count + j) = Unit(ref Unsafe.Add(ref f, (nint)rows[t] * width), ref w, width) + Unsafe.Add(ref b, j);
        }
    }

    /// <summary>One neuron of <see cref="Units"/>: two accumulators (even and odd vectors), leftover vector to the first.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static float Unit(ref float x, ref float w, int width)
    {
        int n = Vector<float>.Count;
        Vector<float> a0 = default, a1 = default;
        int i = 0;
        for (; i + 2 * n <= width; i += 2 * n)
        {
            a0 = Vector.FusedMultiplyAdd(Vector.LoadUnsafe(ref x, (nuint)i), Vector.LoadUnsafe(ref w, (nuint)i), a0);
            a1 = Vector.FusedMultiplyAdd(Vector.LoadUnsafe(ref x, (nuint)(i + n)), Vector.LoadUnsafe(ref w, (nuint)(i + n)), a1);
        }
        if (i + n <= width)
        {
            a0 = Vector.FusedMultiplyAdd(Vector.LoadUnsafe(ref x, (nuint)i), Vector.LoadUnsafe(ref w, (nuint)i), a0);
            i += n;
        }
        return Finish(a0 + a1, ref x, ref w, i, width);
    }

    /// <summary>Four neurons of <see cref="Units"/> at once; each element is computed exactly as <see cref="Unit"/> computes it.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Tile4(ref float x, ref float w0, ref float b, int width, ref float d)
    {
        int i = Accumulate4(ref x, ref w0, width, out Vector<float> s0, out Vector<float> s1, out Vector<float> s2, out Vector<float> s3);
        d = Finish(s0, ref x, ref w0, i, width) + b;
        Unsafe.Add(ref d, 1) = Finish(s1, ref x, ref Unsafe.Add(ref w0, width), i, width) + Unsafe.Add(ref b, 1);
        Unsafe.Add(ref d, 2) = Finish(s2, ref x, ref Unsafe.Add(ref w0, 2 * width), i, width) + Unsafe.Add(ref b, 2);
        Unsafe.Add(ref d, 3) = Finish(s3, ref x, ref Unsafe.Add(ref w0, 3 * width), i, width) + Unsafe.Add(ref b, 3);
    }

    /// <summary>
    /// Eight neurons of <see cref="Units"/> at once, bit for bit as <see cref="Tile4"/>: the same accumulators, whose lane sums and
    /// scalar tails <see cref="Finish8"/> computes for the eight neurons side by side.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Tile8(ref float x, ref float w0, ref float b, int width, ref float d)
    {
        int i = Accumulate4(ref x, ref w0, width, out Vector<float> s0, out Vector<float> s1, out Vector<float> s2, out Vector<float> s3);
        Accumulate4(ref x, ref Unsafe.Add(ref w0, 4 * width), width, out Vector<float> s4, out Vector<float> s5, out Vector<float> s6, out Vector<float> s7);
        Vector256<float> sums = Finish8(s0.AsVector256(), s1.AsVector256(), s2.AsVector256(), s3.AsVector256(),
            s4.AsVector256(), s5.AsVector256(), s6.AsVector256(), s7.AsVector256(), ref x, ref w0, width, i, width);
        (sums + Vector256.LoadUnsafe(ref b)).StoreUnsafe(ref d);
    }

    /// <summary>
    /// The vector part of four <see cref="Unit"/>s from one load of the row: for neuron <c>j</c> (weights at <c>w0 + j * width</c>),
    /// even vectors into one accumulator, odd ones into another, a leftover vector into the first, then their sum in
    /// <paramref name="s0"/> .. <paramref name="s3"/>. Returns the first input left to the scalar tail.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static int Accumulate4(ref float x, ref float w0, int width, out Vector<float> s0, out Vector<float> s1, out Vector<float> s2, out Vector<float> s3)
    {
        int n = Vector<float>.Count;
        ref float w1 = ref Unsafe.Add(ref w0, width);
        ref float w2 = ref Unsafe.Add(ref w1, width);
        ref float w3 = ref Unsafe.Add(ref w2, width);
        Vector<float> p0 = default, p1 = default, p2 = default, p3 = default;
        Vector<float> q0 = default, q1 = default, q2 = default, q3 = default;
        int i = 0;
        for (; i + 2 * n <= width; i += 2 * n)
        {
            Vector<float> xa = Vector.LoadUnsafe(ref x, (nuint)i);
            Vector<float> xb = Vector.LoadUnsafe(ref x, (nuint)(i + n));
            p0 = Vector.FusedMultiplyAdd(xa, Vector.LoadUnsafe(ref w0, (nuint)i), p0);
            q0 = Vector.FusedMultiplyAdd(xb, Vector.LoadUnsafe(ref w0, (nuint)(i + n)), q0);
            p1 = Vector.FusedMultiplyAdd(xa, Vector.LoadUnsafe(ref w1, (nuint)i), p1);
            q1 = Vector.FusedMultiplyAdd(xb, Vector.LoadUnsafe(ref w1, (nuint)(i + n)), q1);
            p2 = Vector.FusedMultiplyAdd(xa, Vector.LoadUnsafe(ref w2, (nuint)i), p2);
            q2 = Vector.FusedMultiplyAdd(xb, Vector.LoadUnsafe(ref w2, (nuint)(i + n)), q2);
            p3 = Vector.FusedMultiplyAdd(xa, Vector.LoadUnsafe(ref w3, (nuint)i), p3);
            q3 = Vector.FusedMultiplyAdd(xb, Vector.LoadUnsafe(ref w3, (nuint)(i + n)), q3);
        }
        if (i + n <= width)
        {
            Vector<float> xa = Vector.LoadUnsafe(ref x, (nuint)i);
            p0 = Vector.FusedMultiplyAdd(xa, Vector.LoadUnsafe(ref w0, (nuint)i), p0);
            p1 = Vector.FusedMultiplyAdd(xa, Vector.LoadUnsafe(ref w1, (nuint)i), p1);
            p2 = Vector.FusedMultiplyAdd(xa, Vector.LoadUnsafe(ref w2, (nuint)i), p2);
            p3 = Vector.FusedMultiplyAdd(xa, Vector.LoadUnsafe(ref w3, (nuint)i), p3);
            i += n;
        }
        (s0, s1, s2, s3) = (p0 + q0, p1 + q1, p2 + q2, p3 + q3);
        return i;
    }

    /// <summary>
    /// <see cref="Finish"/> of eight accumulators at once: lane <c>j</c> of the result is <c>Finish(aj, x, w0 + j * stride, from, width)</c>
    /// bit for bit. The accumulators are transposed (lane <c>k</c> of every one into vector <c>k</c>), so the in-order lane sums are seven
    /// vector adds instead of eight chains of seven lane extractions and adds, and the tail's scalar fused multiply-adds are vector
    /// ones over the eight weight rows' tails, transposed the same way.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static unsafe Vector256<float> Finish8(Vector256<float> a0, Vector256<float> a1, Vector256<float> a2, Vector256<float> a3,
        Vector256<float> a4, Vector256<float> a5, Vector256<float> a6, Vector256<float> a7, ref float x, ref float w0, int stride, int from, int width)
    {
        Vector256<float> sum;
        if (from == 0)
        {
            // No whole vector: every accumulator is +0, and so is its in-order lane sum.
            sum = Vector256<float>.Zero;
        }
        else
        {
            Transpose8(ref a0, ref a1, ref a2, ref a3, ref a4, ref a5, ref a6, ref a7);
            sum = a0;
            sum += a1;
            sum += a2;
            sum += a3;
            sum += a4;
            sum += a5;
            sum += a6;
            sum += a7;
        }
        int tail = width - from;
        if (tail > 0)
        {
            // The tail (1 to 7 inputs) of each of the eight weight rows, read with a masked load (nothing past the row is
            // touched) and transposed, so vector k holds input from + k of the eight neurons. Gathering them instead (one
            // gather per input) made an odd width several times slower than the next multiple of eight.
            Vector256<float> mask = Vector256.LessThan(Vector256.Create(0, 1, 2, 3, 4, 5, 6, 7), Vector256.Create(tail)).AsSingle();
            Vector256<float> t0, t1, t2, t3, t4, t5, t6, t7;
            fixed (float* w = &w0)
            {
                float* row = w + from;
                t0 = Avx.MaskLoad(row, mask);
                t1 = Avx.MaskLoad(row + stride, mask);
                t2 = Avx.MaskLoad(row + 2 * (nint)stride, mask);
                t3 = Avx.MaskLoad(row + 3 * (nint)stride, mask);
                t4 = Avx.MaskLoad(row + 4 * (nint)stride, mask);
                t5 = Avx.MaskLoad(row + 5 * (nint)stride, mask);
                t6 = Avx.MaskLoad(row + 6 * (nint)stride, mask);
                t7 = Avx.MaskLoad(row + 7 * (nint)stride, mask);
            }
            Transpose8(ref t0, ref t1, ref t2, ref t3, ref t4, ref t5, ref t6, ref t7);
            ref float xs = ref Unsafe.Add(ref x, from);
            sum = Fma.MultiplyAdd(Vector256.Create(xs), t0, sum);
            if (tail > 1)
                sum = Fma.MultiplyAdd(Vector256.Create(Unsafe.Add(ref xs, 1)), t1, sum);
            if (tail > 2)
                sum = Fma.MultiplyAdd(Vector256.Create(Unsafe.Add(ref xs, 2)), t2, sum);
            if (tail > 3)
                sum = Fma.MultiplyAdd(Vector256.Create(Unsafe.Add(ref xs, 3)), t3, sum);
            if (tail > 4)
                sum = Fma.MultiplyAdd(Vector256.Create(Unsafe.Add(ref xs, 4)), t4, sum);
            if (tail > 5)
                sum = Fma.MultiplyAdd(Vector256.Create(Unsafe.Add(ref xs, 5)), t5, sum);
            if (tail > 6)
                sum = Fma.MultiplyAdd(Vector256.Create(Unsafe.Add(ref xs, 6)), t6, sum);
        }
        return sum;
    }

    /// <summary>Transposes an 8 x 8 block in place: afterwards <c>v_k</c> holds lane <c>k</c> of the eight input vectors, in their order.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Transpose8(ref Vector256<float> v0, ref Vector256<float> v1, ref Vector256<float> v2, ref Vector256<float> v3,
        ref Vector256<float> v4, ref Vector256<float> v5, ref Vector256<float> v6, ref Vector256<float> v7)
    {
        Vector256<float> t0 = Avx.UnpackLow(v0, v1), t1 = Avx.UnpackHigh(v0, v1), t2 = Avx.UnpackLow(v2, v3), t3 = Avx.UnpackHigh(v2, v3);
        Vector256<float> t4 = Avx.UnpackLow(v4, v5), t5 = Avx.UnpackHigh(v4, v5), t6 = Avx.UnpackLow(v6, v7), t7 = Avx.UnpackHigh(v6, v7);
        // Per 128-bit half: lanes k (low half) and k + 4 (high half) of v0..v3, then of v4..v7.
        Vector256<float> u0 = Avx.Shuffle(t0, t2, 0x44), u1 = Avx.Shuffle(t0, t2, 0xEE), u2 = Avx.Shuffle(t1, t3, 0x44), u3 = Avx.Shuffle(t1, t3, 0xEE);
        Vector256<float> u4 = Avx.Shuffle(t4, t6, 0x44), u5 = Avx.Shuffle(t4, t6, 0xEE), u6 = Avx.Shuffle(t5, t7, 0x44), u7 = Avx.Shuffle(t5, t7, 0xEE);
        v0 = Avx.Permute2x128(u0, u4, 0x20);
        v1 = Avx.Permute2x128(u1, u5, 0x20);
        v2 = Avx.Permute2x128(u2, u6, 0x20);
        v3 = Avx.Permute2x128(u3, u7, 0x20);
        v4 = Avx.Permute2x128(u0, u4, 0x31);
        v5 = Avx.Permute2x128(u1, u5, 0x31);
        v6 = Avx.Permute2x128(u2, u6, 0x31);
        v7 = Avx.Permute2x128(u3, u7, 0x31);
    }

    /// <summary>The accumulator's lanes summed in lane order, then the inputs from <paramref name="from"/> to <paramref name="width"/> by scalar fused multiply-adds.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static float Finish(Vector<float> accumulator, ref float x, ref float w, int from, int width)
    {
        float sum = accumulator[0];
        for (int lane = 1; lane < Vector<float>.Count; lane++)
            sum += accumulator[lane];
        for (int i = from; i < width; i++)
            sum = MathF.FusedMultiplyAdd(Unsafe.Add(ref x, i), Unsafe.Add(ref w, i), sum);
        return sum;
    }

    /// <summary>
    /// Adds <c>(h_u * factor) * V[u, o]</c> to <c>result[o]</c> for every unit <c>u</c> with <c>!(h_u &lt;= 0)</c> (ReLU that lets NaN
    /// through), units in order: the output layer of a leaf or an expert (<paramref name="weights"/> row-major,
    /// <c>units x outputs</c>). Each addition is a rounded multiply then a rounded add, as
    /// <see cref="System.Numerics.Tensors.TensorPrimitives.MultiplyAdd(ReadOnlySpan{float}, float, ReadOnlySpan{float}, Span{float})"/>
    /// per unit, which it replaces: one call per unit cost more than the arithmetic for the ten outputs of a digit model.
    /// </summary>
    /// <remarks>
    /// Branch-free: an inactive unit adds <c>V[u, o] * 0</c>, a signed zero, which leaves every sum's value unchanged. A
    /// branch on each unit's sign was mispredicted about half the time (ReLU activity is data-dependent) and cost more
    /// than the arithmetic (docs/results.md, MNIST comparison of 2026-11-27: FFF d4 x l16 2.8 to 2.28 us per row).
    /// </remarks>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void AddActivated(ReadOnlySpan<float> hidden, ReadOnlySpan<float> weights, float factor, Span<float> result)
    {
        if (result.Length == 1 && Avx.IsSupported && AddNonZeroTerms(hidden, weights.Slice(0, hidden.Length), factor, ref MemoryMarshal.GetReference(result)))
            return;
        AddEveryTerm(hidden, weights, factor, result);
    }

    /// <summary>
    /// One output of <see cref="AddActivated"/> adding only the terms that are not zero, bit for bit as adding every term:
    /// the sum is a serial chain of rounded adds (about a third of a small leaf's time), and a term that is a signed zero
    /// (every inactive unit's, about half of them) leaves a non-zero sum exactly as it was. The terms are computed eight at a
    /// time as in <see cref="AddActivated"/>, the non-zero ones (NaN included) marked in a bit mask, and only those added, in
    /// unit order: one loop whose exit is the only data-dependent branch. Only a zero sum can tell the difference (its sign
    /// can depend on the zero terms), so then nothing is written and false returned, and the caller adds every term.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static unsafe bool AddNonZeroTerms(ReadOnlySpan<float> hidden, ReadOnlySpan<float> weights, float factor, ref float result)
    {
        const int Chunk = 64;   // terms per bit mask
        int units = hidden.Length;
        float* terms = stackalloc float[Chunk];
        float sum = result;
        Vector256<float> scale = Vector256.Create(factor);
        fixed (float* h = hidden, w = weights)
        {
            for (int start = 0; start < units; start += Chunk)
            {
                int count = Math.Min(Chunk, units - start);
                ulong nonZero = 0;
                int u = 0;
                for (; u + 8 <= count; u += 8)
                    nonZero |= Terms8(Avx.LoadVector256(h + start + u), Avx.LoadVector256(w + start + u), scale, terms + u) << u;
                if (u < count)
                {
                    // The last partial vector reads 0 in its missing lanes (masked loads touch nothing past the spans): zero terms.
                    // Whole vectors use plain loads: processors generally do not forward a just-written value (the hidden units)
                    // to a masked load.
                    Vector256<float> lanes = Vector256.LessThan(Vector256.Create(0, 1, 2, 3, 4, 5, 6, 7), Vector256.Create(count - u)).AsSingle();
                    nonZero |= Terms8(Avx.MaskLoad(h + start + u, lanes), Avx.MaskLoad(w + start + u, lanes), scale, terms + u) << u;
                }
                for (; nonZero != 0; nonZero &= nonZero - 1)
                    sum += terms[BitOperations.TrailingZeroCount(nonZero)];
            }
        }
        if (sum == 0)
            return false;
        result = sum;
        return true;
    }

    /// <summary>Eight terms of <see cref="AddNonZeroTerms"/> into <paramref name="terms"/>; returns the mask of the non-zero ones (NaN included).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static unsafe ulong Terms8(Vector256<float> hidden, Vector256<float> weights, Vector256<float> scale, float* terms)
    {
        Vector256<float> active = Avx.AndNot(Avx.CompareLessThanOrEqual(hidden, Vector256<float>.Zero), hidden * scale);
        Vector256<float> term = weights * active;
        Avx.Store(terms, term);
        return (~Avx.CompareEqual(term, Vector256<float>.Zero)).ExtractMostSignificantBits();
    }

    /// <summary>
    /// <see cref="AddActivated"/> adding every unit's term, zero or not: the reference the tests hold the non-zero terms of a
    /// single output to, and the path of every other output count.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static void AddEveryTerm(ReadOnlySpan<float> hidden, ReadOnlySpan<float> weights, float factor, Span<float> result)
    {
        int outputs = result.Length, units = hidden.Length, o = 0;
        ref float w = ref MemoryMarshal.GetReference(weights.Slice(0, units * outputs));
        ref float r = ref MemoryMarshal.GetReference(result);
        ref float h = ref MemoryMarshal.GetReference(hidden);
        if (Avx.IsSupported)
        {
            for (; o + 8 <= outputs; o += 8)
            {
                Vector256<float> sum = Vector256.LoadUnsafe(ref r, (nuint)o);
                for (int u = 0; u < units; u++)
                    sum += Vector256.LoadUnsafe(ref w, (nuint)(u * outputs + o)) * Vector256.Create(Activated(Unsafe.Add(ref h, u), factor));
                sum.StoreUnsafe(ref r, (nuint)o);
            }
            if (o < outputs)
                AddActivatedTail(ref h, units, ref w, outputs, o, factor, ref r);
            return;
        }
        for (; o < outputs; o++)
        {
            float sum = Unsafe.Add(ref r, o);
            for (int u = 0; u < units; u++)
                sum += Unsafe.Add(ref w, u * outputs + o) * Activated(Unsafe.Add(ref h, u), factor);
            Unsafe.Add(ref r, o) = sum;
        }
    }

    /// <summary>
    /// The last <c>outputs - from</c> (1 to 7) outputs of <see cref="AddActivated"/> as one masked vector: the same per-lane
    /// arithmetic as the scalar loop, in one dependency chain instead of one per output (a binary model's single output, or
    /// outputs 8 and 9 of a ten-class model).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static unsafe void AddActivatedTail(ref float h, int units, ref float w, int outputs, int from, float factor, ref float r)
    {
        Vector256<float> mask = Vector256.LessThan(Vector256.Create(0, 1, 2, 3, 4, 5, 6, 7), Vector256.Create(outputs - from)).AsSingle();
        fixed (float* weights = &w, result = &r)
        {
            // Masked lanes load as 0 and are never stored, so nothing past either span is touched.
            Vector256<float> sum = Avx.MaskLoad(result + from, mask);
            for (int u = 0; u < units; u++)
                sum += Avx.MaskLoad(weights + (nint)u * outputs + from, mask) * Vector256.Create(Activated(Unsafe.Add(ref h, u), factor));
            Avx.MaskStore(result + from, mask, sum);
        }
    }

    /// <summary><c>h * factor</c> where <c>!(h &lt;= 0)</c> (NaN passes), else 0, without a branch: a bit mask from the compare.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static float Activated(float h, float factor)
    {
        Vector128<float> value = Vector128.CreateScalarUnsafe(h);
        Vector128<float> inactive = Vector128.LessThanOrEqual(value, Vector128<float>.Zero);
        return Vector128.AndNot(value * Vector128.CreateScalarUnsafe(factor), inactive).ToScalar();
    }
}
