using System;
using System.Collections.Generic;
using System.Linq;
using System.Numerics;
using System.Numerics.Tensors;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace Microsoft.ML.Fff.InputStages;

/// <summary>
/// The trained part of an input stage: an embedding of each embedded feature (piecewise-linear over quantile bins, or
/// periodic) mapped to <see cref="Width"/> values by its own linear layer and ReLU. Features not embedded pass through.
/// The output is the embedded features' <see cref="Width"/>-wide blocks in feature order, then the passed-through features
/// in feature order.
/// </summary>
internal sealed class NumericEmbeddingLayer
{
    public NumericEmbeddingLayer(FffNumericEmbedding kind, int inputCount, int[] embedded, int width, int size, int[]? binCounts = null)
    {
        Kind = kind;
        InputCount = inputCount;
        Embedded = embedded;
        Width = width;
        Size = size;
        Passed = Enumerable.Range(0, inputCount).Except(embedded).ToArray();
        int e = embedded.Length;
        if (kind == FffNumericEmbedding.PiecewiseLinear)
        {
            BinCounts = binCounts ?? Enumerable.Repeat(size, e).ToArray();
            First = new float[checked(e * (size + 1))];
            Weights = new float[checked(e * size * width)];
            _prefix = new float[checked(e * (size + 1) * width)];
        }
        else
        {
            BinCounts = Array.Empty<int>();
            First = new float[checked(e * size)];
            Weights = new float[checked(e * 2 * size * width)];
            _prefix = Array.Empty<float>();
        }
        Biases = new float[checked(e * width)];
    }

    public FffNumericEmbedding Kind { get; }

    public int InputCount { get; }

    /// <summary>Indices of the embedded features, increasing.</summary>
    public int[] Embedded { get; }

    /// <summary>Indices of the features passed through, increasing.</summary>
    public int[] Passed { get; }

    /// <summary>Values per embedded feature (d_e).</summary>
    public int Width { get; }

    /// <summary>Bins T (piecewise linear, the most of any feature) or frequencies k (periodic) per feature.</summary>
    public int Size { get; }

    /// <summary>Piecewise linear: bins of each embedded feature (1 .. <see cref="Size"/>).</summary>
    public int[] BinCounts { get; }

    /// <summary>Piecewise linear: bin edges <c>[E, Size + 1]</c> (a feature's edges past its bin count repeat its last edge); periodic: frequencies <c>[E, Size]</c>.</summary>
    public float[] First { get; }

    /// <summary>Per-feature linear weights, input-major: <c>[E, Size, Width]</c> (piecewise linear) or <c>[E, 2 Size, Width]</c> (periodic; sines then cosines).</summary>
    public float[] Weights { get; }

    /// <summary>Per-feature biases <c>[E, Width]</c>.</summary>
    public float[] Biases { get; }

    // Piecewise linear: prefix[e, k] = b_e + sum_{t<k} W_e[t], so a row costs one Width-wide multiply-add per feature
    // instead of Size of them (components below the row's bin are 1, above it 0). Derived, never stored.
    private readonly float[] _prefix;

    /// <summary>Largest periodic angle a stored layer may reach for inputs in its unit box (float overflows near 3.4e38).</summary>
    private const double MaxAngle = 1e30;

    /// <summary>Width of the output: the network behind the stage takes this many inputs.</summary>
    public int OutputCount => Embedded.Length * Width + Passed.Length;

    /// <summary>Linear units evaluated per row.</summary>
    public int Units => Embedded.Length * Width;

    /// <summary>Stored arrays in payload order.</summary>
    public IEnumerable<float[]> Arrays => new[] { First, Weights, Biases };

    public string Describe() => Kind == FffNumericEmbedding.PiecewiseLinear
        ? $"piecewise-linear embedding ({Embedded.Length} features x {Size} bins -> {Width})"
        : $"periodic embedding ({Embedded.Length} features x {Size} frequencies -> {Width})";

    /// <summary>Recomputes the derived tables after the weights changed (load, export from training).</summary>
    public void Refresh()
    {
        if (Kind != FffNumericEmbedding.PiecewiseLinear)
            return;
        int d = Width, t = Size;
        for (int e = 0; e < Embedded.Length; e++)
        {
            Span<float> row = _prefix.AsSpan(e * (t + 1) * d, d);
            Biases.AsSpan(e * d, d).CopyTo(row);
            for (int k = 1; k <= t; k++)
            {
                Span<float> next = _prefix.AsSpan((e * (t + 1) + k) * d, d);
                TensorPrimitives.Add(_prefix.AsSpan((e * (t + 1) + k - 1) * d, d), Weights.AsSpan((e * t + k - 1) * d, d), next);
            }
        }
    }

    /// <summary>Embeds one mapped row <c>x[0..InputCount)</c> into <c>y[0..OutputCount)</c>; a NaN feature gives NaN values.</summary>
    public void Apply(ReadOnlySpan<float> x, Span<float> y)
    {
        int d = Width;
        if (Kind == FffNumericEmbedding.PiecewiseLinear)
        {
            for (int e = 0; e < Embedded.Length; e++)
                PiecewiseLinear(e, x[Embedded[e]], y.Slice(e * d, d));
        }
        else
        {
            Span<float> waves = stackalloc float[2 * Size];
            for (int e = 0; e < Embedded.Length; e++)
                Periodic(e, x[Embedded[e]], waves, y.Slice(e * d, d));
        }
        int offset = Embedded.Length * d;
        for (int p = 0; p < Passed.Length; p++)
            y[offset + p] = x[Passed[p]];
    }

    private void PiecewiseLinear(int e, float v, Span<float> y)
    {
        int d = Width, t = Size, bins = BinCounts[e];
        ReadOnlySpan<float> edges = First.AsSpan(e * (t + 1), bins + 1);
        if (float.IsNaN(v))
        {
            y.Fill(float.NaN);
            return;
        }
        int k;
        float fraction = 0;
        if (v <= edges[0])
            k = 0;
        else if (v >= edges[bins])
            k = bins;
        else
        {
            int at = edges.BinarySearch(v);
            k = at >= 0 ? at : ~at - 1;
            fraction = (v - edges[k]) / (edges[k + 1] - edges[k]);
        }
        ReadOnlySpan<float> prefix = _prefix.AsSpan((e * (t + 1) + k) * d, d);
        if (fraction != 0)
            TensorPrimitives.MultiplyAdd(Weights.AsSpan((e * t + k) * d, d), fraction, prefix, y);
        else
            prefix.CopyTo(y);
        TensorPrimitives.Max(y, 0f, y);
    }

    private void Periodic(int e, float v, Span<float> waves, Span<float> y)
    {
        int d = Width, k = Size;
        Span<float> sines = waves.Slice(0, k), cosines = waves.Slice(k, k);
        Span<float> angles = cosines;
        TensorPrimitives.Multiply(First.AsSpan(e * k, k), 2 * MathF.PI * v, angles);
        TensorPrimitives.SinCos(angles, sines, cosines);
        Biases.AsSpan(e * d, d).CopyTo(y);
        AddRows(waves, Weights.AsSpan(e * 2 * k * d, 2 * k * d), y);
        TensorPrimitives.Max(y, 0f, y);
    }

    /// <summary>
    /// <c>y += sum_i c_i * rows[i]</c> for rows of <c>y.Length</c> values: each vector of <c>y</c> stays in a register over all
    /// rows (one TensorPrimitives call per row would load and store <c>y</c> 2k times).
    /// </summary>
    private static void AddRows(ReadOnlySpan<float> coefficients, ReadOnlySpan<float> rows, Span<float> y)
    {
        int d = y.Length, n = Vector<float>.Count, end = d - d % n;
        ref float w = ref MemoryMarshal.GetReference(rows);
        ref float c = ref MemoryMarshal.GetReference(coefficients);
        for (int o = 0; o < end; o += n)
        {
            Vector<float> sum = new(y.Slice(o, n));
            for (int i = 0; i < coefficients.Length; i++)
                sum += new Vector<float>(Unsafe.Add(ref c, i)) * Vector.LoadUnsafe(ref w, (nuint)(i * d + o));
            sum.CopyTo(y.Slice(o, n));
        }
        for (int o = end; o < d; o++)
        {
            float sum = y[o];
            for (int i = 0; i < coefficients.Length; i++)
                sum += Unsafe.Add(ref c, i) * Unsafe.Add(ref w, i * d + o);
            y[o] = sum;
        }
    }

    /// <summary>
    /// The largest value the layer can output when its inputs are at most <paramref name="input"/> in magnitude: a pass-through
    /// keeps the input, an embedding is at most <c>|b| + sum |W|</c> (its encoded components are in [0, 1] or [-1, 1]).
    /// </summary>
    public double Bound(double input)
    {
        double bound = Passed.Length > 0 ? input : 0;
        // A periodic angle 2π c x that overflows float gives sin = NaN: such frequencies make the layer unbounded.
        if (Kind == FffNumericEmbedding.Periodic && 2 * Math.PI * Math.Abs((double)TensorPrimitives.MaxMagnitude(First)) * Math.Max(1, input) >= MaxAngle)
            return double.PositiveInfinity;
        int d = Width, rows = Kind == FffNumericEmbedding.PiecewiseLinear ? Size : 2 * Size;
        var sum = new double[d];
        for (int e = 0; e < Embedded.Length; e++)
        {
            for (int o = 0; o < d; o++)
                sum[o] = Math.Abs((double)Biases[e * d + o]);
            for (int r = 0; r < rows; r++)
            {
                for (int o = 0; o < d; o++)
                    sum[o] += Math.Abs((double)Weights[(e * rows + r) * d + o]);
            }
            bound = Math.Max(bound, sum.Max());
        }
        return double.IsNaN(bound) ? double.PositiveInfinity : bound;
    }

    /// <summary>The problem with finite stored values that do not make a valid layer, or null.</summary>
    public string? Problem()
    {
        if (Kind != FffNumericEmbedding.PiecewiseLinear)
            return null;
        int t = Size;
        for (int e = 0; e < Embedded.Length; e++)
        {
            ReadOnlySpan<float> edges = First.AsSpan(e * (t + 1), t + 1);
            int bins = BinCounts[e];
            for (int k = 1; k <= t; k++)
            {
                if (k <= bins ? !(edges[k] > edges[k - 1]) : edges[k] != edges[bins])
                    return $"the bin edges of embedded feature {Embedded[e]} are not strictly increasing.";
            }
        }
        return null;
    }
}
