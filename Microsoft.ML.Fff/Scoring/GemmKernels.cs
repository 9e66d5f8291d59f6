using System;
using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace Microsoft.ML.Fff.Scoring;

/// <summary>
/// A register-blocked matrix multiply for dense layers: <c>C = A · Wᵀ + b</c> with <c>A</c> rows of inputs and <c>W</c>
/// rows of neuron weights, both contiguous along the input dimension.
/// </summary>
/// <remarks>
/// <para>
/// Every output element <c>C[r, j]</c> is computed by the same sequence of floating-point operations whatever tile it falls
/// in and however many rows are multiplied at once: one <see cref="Vector{T}"/> accumulator with fused multiply-adds over
/// the full vectors of the input dimension, the accumulator's lanes summed in lane order, the remaining inputs added with
/// scalar fused multiply-adds in index order, then the bias. Only the sharing of loads between elements differs between
/// tiles. Scoring one row (a 1-row call) and scoring a batch therefore give bit-identical results. The operations are
/// exact IEEE ones (fused or not) with no reassociation left to the JIT, so tiered compilation cannot change a result.
/// </para>
/// <para>
/// Tiles are <see cref="TileRows"/> rows by <see cref="TileNeurons"/> neurons: 8 accumulators plus 2 input vectors and one
/// weight vector fit in the 16 vector registers of AVX2. Neuron tiles are the outer loop, so a tile's weights stay in L1
/// while the caller's block of rows streams past. The kernels skip tiered compilation (AggressiveOptimization): their
/// unoptimized first tier would run the vector operations as calls, an order of magnitude slower.
/// </para>
/// </remarks>
internal static class GemmKernels
{
    /// <summary>Rows of the register tile.</summary>
    public const int TileRows = 2;

    /// <summary>Neurons of the register tile.</summary>
    public const int TileNeurons = 4;

    /// <summary>
    /// Writes <c>destination[r * n + j] = dot(inputs[r * width ..], weights[j * width ..]) + biases[j]</c> for every row
    /// <c>r &lt; rows</c> and neuron <c>j &lt; n</c>, with <c>n = biases.Length</c>. Allocates nothing.
    /// </summary>
    /// <param name="inputs">Row-major <c>rows x width</c> inputs.</param>
    /// <param name="rows">Rows to multiply.</param>
    /// <param name="width">Input dimension (fan-in).</param>
    /// <param name="weights">Row-major <c>n x width</c> weights: neuron <c>j</c>'s weights are contiguous.</param>
    /// <param name="biases">One bias per neuron.</param>
    /// <param name="destination">Row-major <c>rows x n</c> results; must not overlap the inputs.</param>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void MultiplyTransposedAddBias(ReadOnlySpan<float> inputs, int rows, int width, ReadOnlySpan<float> weights,
        ReadOnlySpan<float> biases, Span<float> destination)
    {
        int n = biases.Length;
        if (rows < 0 || width < 1)
            throw new ArgumentOutOfRangeException(rows < 0 ? nameof(rows) : nameof(width));
        if (inputs.Length < (long)rows * width)
            throw new ArgumentException("The inputs hold fewer than rows x width values.", nameof(inputs));
        if (weights.Length < (long)n * width)
            throw new ArgumentException("The weights hold fewer than neurons x width values.", nameof(weights));
        if (destination.Length < (long)rows * n)
            throw new ArgumentException("The destination holds fewer than rows x neurons values.", nameof(destination));

        ref float a = ref MemoryMarshal.GetReference(inputs);
        ref float w = ref MemoryMarshal.GetReference(weights);
        ref float b = ref MemoryMarshal.GetReference(biases);
        ref float c = ref MemoryMarshal.GetReference(destination);
        int j = 0;
        for (; j + TileNeurons <= n; j += TileNeurons)
        {
            int r = 0;
            for (; r + TileRows <= rows; r += TileRows)
                Tile2x4(ref a, ref w, ref b, ref c, r, j, width, n);
            for (; r < rows; r++)
                Tile1x4(ref a, ref w, ref b, ref c, r, j, width, n);
        }
        for (; j < n; j++)
        {
            for (int r = 0; r < rows; r++)
                Tile1x1(ref a, ref w, ref b, ref c, r, j, width, n);
        }
    }

    /// <summary>The end of the vectorized part of the input dimension: the largest multiple of the vector width ≤ <paramref name="width"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static int VectorEnd(int width) => width - width % Vector<float>.Count;

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Tile2x4(ref float a, ref float w, ref float b, ref float c, int r, int j, int width, int n)
    {
        ref float a0 = ref Unsafe.Add(ref a, (nint)r * width);
        ref float a1 = ref Unsafe.Add(ref a0, width);
        ref float w0 = ref Unsafe.Add(ref w, (nint)j * width);
        ref float w1 = ref Unsafe.Add(ref w0, width);
        ref float w2 = ref Unsafe.Add(ref w1, width);
        ref float w3 = ref Unsafe.Add(ref w2, width);
        Vector<float> c00 = default, c01 = default, c02 = default, c03 = default;
        Vector<float> c10 = default, c11 = default, c12 = default, c13 = default;
        int end = VectorEnd(width);
        for (int i = 0; i < end; i += Vector<float>.Count)
        {
            Vector<float> x0 = Vector.LoadUnsafe(ref a0, (nuint)i);
            Vector<float> x1 = Vector.LoadUnsafe(ref a1, (nuint)i);
            Vector<float> v = Vector.LoadUnsafe(ref w0, (nuint)i);
            c00 = Vector.FusedMultiplyAdd(x0, v, c00);
            c10 = Vector.FusedMultiplyAdd(x1, v, c10);
            v = Vector.LoadUnsafe(ref w1, (nuint)i);
            c01 = Vector.FusedMultiplyAdd(x0, v, c01);
            c11 = Vector.FusedMultiplyAdd(x1, v, c11);
            v = Vector.LoadUnsafe(ref w2, (nuint)i);
            c02 = Vector.FusedMultiplyAdd(x0, v, c02);
            c12 = Vector.FusedMultiplyAdd(x1, v, c12);
            v = Vector.LoadUnsafe(ref w3, (nuint)i);
            c03 = Vector.FusedMultiplyAdd(x0, v, c03);
            c13 = Vector.FusedMultiplyAdd(x1, v, c13);
        }
        ref float out0 = ref Unsafe.Add(ref c, (nint)r * n + j);
        ref float out1 = ref Unsafe.Add(ref out0, n);
        out0 = Finish(c00, ref a0, ref w0, end, width, Unsafe.Add(ref b, j));
        Unsafe.Add(ref out0, 1) = Finish(c01, ref a0, ref w1, end, width, Unsafe.Add(ref b, j + 1));
        Unsafe.Add(ref out0, 2) = Finish(c02, ref a0, ref w2, end, width, Unsafe.Add(ref b, j + 2));
        Unsafe.Add(ref out0, 3) = Finish(c03, ref a0, ref w3, end, width, Unsafe.Add(ref b, j + 3));
        out1 = Finish(c10, ref a1, ref w0, end, width, Unsafe.Add(ref b, j));
        Unsafe.Add(ref out1, 1) = Finish(c11, ref a1, ref w1, end, width, Unsafe.Add(ref b, j + 1));
        Unsafe.Add(ref out1, 2) = Finish(c12, ref a1, ref w2, end, width, Unsafe.Add(ref b, j + 2));
        Unsafe.Add(ref out1, 3) = Finish(c13, ref a1, ref w3, end, width, Unsafe.Add(ref b, j + 3));
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Tile1x4(ref float a, ref float w, ref float b, ref float c, int r, int j, int width, int n)
    {
        ref float a0 = ref Unsafe.Add(ref a, (nint)r * width);
        ref float w0 = ref Unsafe.Add(ref w, (nint)j * width);
        ref float w1 = ref Unsafe.Add(ref w0, width);
        ref float w2 = ref Unsafe.Add(ref w1, width);
        ref float w3 = ref Unsafe.Add(ref w2, width);
        Vector<float> c00 = default, c01 = default, c02 = default, c03 = default;
        int end = VectorEnd(width);
        for (int i = 0; i < end; i += Vector<float>.Count)
        {
            Vector<float> x0 = Vector.LoadUnsafe(ref a0, (nuint)i);
            c00 = Vector.FusedMultiplyAdd(x0, Vector.LoadUnsafe(ref w0, (nuint)i), c00);
            c01 = Vector.FusedMultiplyAdd(x0, Vector.LoadUnsafe(ref w1, (nuint)i), c01);
            c02 = Vector.FusedMultiplyAdd(x0, Vector.LoadUnsafe(ref w2, (nuint)i), c02);
            c03 = Vector.FusedMultiplyAdd(x0, Vector.LoadUnsafe(ref w3, (nuint)i), c03);
        }
        ref float out0 = ref Unsafe.Add(ref c, (nint)r * n + j);
        out0 = Finish(c00, ref a0, ref w0, end, width, Unsafe.Add(ref b, j));
        Unsafe.Add(ref out0, 1) = Finish(c01, ref a0, ref w1, end, width, Unsafe.Add(ref b, j + 1));
        Unsafe.Add(ref out0, 2) = Finish(c02, ref a0, ref w2, end, width, Unsafe.Add(ref b, j + 2));
        Unsafe.Add(ref out0, 3) = Finish(c03, ref a0, ref w3, end, width, Unsafe.Add(ref b, j + 3));
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Tile1x1(ref float a, ref float w, ref float b, ref float c, int r, int j, int width, int n)
    {
        ref float a0 = ref Unsafe.Add(ref a, (nint)r * width);
        ref float w0 = ref Unsafe.Add(ref w, (nint)j * width);
        Vector<float> c00 = default;
        int end = VectorEnd(width);
        for (int i = 0; i < end; i += Vector<float>.Count)
            c00 = Vector.FusedMultiplyAdd(Vector.LoadUnsafe(ref a0, (nuint)i), Vector.LoadUnsafe(ref w0, (nuint)i), c00);
        Unsafe.Add(ref c, (nint)r * n + j) = Finish(c00, ref a0, ref w0, end, width, Unsafe.Add(ref b, j));
    }

    /// <summary>
    /// The one way every element ends: the accumulator's lanes summed in lane order, the inputs from <paramref name="from"/>
    /// to <paramref name="width"/> added by scalar fused multiply-adds in order, then the bias.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static float Finish(Vector<float> accumulator, ref float x, ref float weights, int from, int width, float bias)
    {
        float sum = accumulator[0];
        for (int lane = 1; lane < Vector<float>.Count; lane++)
            sum += accumulator[lane];
        for (int i = from; i < width; i++)
            sum = MathF.FusedMultiplyAdd(Unsafe.Add(ref x, i), Unsafe.Add(ref weights, i), sum);
        return sum + bias;
    }
}
