using System;
using System.Collections.Generic;
using System.Numerics.Tensors;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace Microsoft.ML.Fff.InputStages;

/// <summary>The stored code of a <see cref="FeatureMap"/>.</summary>
internal enum FeatureMapKind
{
    /// <summary>Features as given.</summary>
    Identity = 0,
    /// <summary><c>(x - shift) * scale</c> per feature (mean/std standardization in front of an embedding).</summary>
    Standardize = 1,
    /// <summary>Per-feature knots (training quantile, normal quantile), interpolated piecewise-linearly, clamped to the end knots.</summary>
    QuantileNormal = 2,
    /// <summary><c>z = (x - centre) * scale</c>, then <c>z / sqrt(1 + (z/3)^2)</c> (RealMLP).</summary>
    RobustSmoothClip = 3,
    /// <summary>
    /// <c>min(max(x, lower), upper)</c> per feature: raw features held to their training range, in front of a network that has
    /// the usual scaling folded in (format 0x00010005 on).
    /// </summary>
    Clamp = 4,
}

/// <summary>
/// A fixed (not trained) per-feature scalar map: the first part of an input stage. Pure C#, used alike by the trainer (on
/// each batch before torch) and the scorer, so training sees exactly the values the saved model computes.
/// </summary>
internal sealed class FeatureMap
{
    /// <summary>Most knots a quantile map keeps per feature (and a stored one may have).</summary>
    public const int MaxKnots = 256;

    private FeatureMap(FeatureMapKind kind, int inputCount, float[] first, float[] second, int[] knotStart)
    {
        Kind = kind;
        InputCount = inputCount;
        First = first;
        Second = second;
        KnotStart = knotStart;
    }

    public FeatureMapKind Kind { get; }

    public int InputCount { get; }

    /// <summary>Shift (standardize), centre (robust), lower bound (clamp) or the knots' x values of every feature, concatenated (quantile).</summary>
    public float[] First { get; }

    /// <summary>Scale (standardize, robust), upper bound (clamp) or the knots' y values (quantile).</summary>
    public float[] Second { get; }

    /// <summary>Quantile only: feature j's knots are <c>[KnotStart[j], KnotStart[j+1])</c>; otherwise empty.</summary>
    public int[] KnotStart { get; }

    /// <summary>The stored arrays, in payload order.</summary>
    public IEnumerable<float[]> Arrays => Kind == FeatureMapKind.Identity ? Array.Empty<float[]>() : new[] { First, Second };

    public static FeatureMap Identity(int inputCount) => new(FeatureMapKind.Identity, inputCount, Array.Empty<float>(), Array.Empty<float>(), Array.Empty<int>());

    public static FeatureMap Standardize(float[] shift, float[] scale) => new(FeatureMapKind.Standardize, shift.Length, shift, scale, Array.Empty<int>());

    public static FeatureMap Robust(float[] centre, float[] scale) => new(FeatureMapKind.RobustSmoothClip, centre.Length, centre, scale, Array.Empty<int>());

    /// <summary>Each feature held to <c>[lower, upper]</c> (a feature left free has <c>float.MinValue</c> and <c>float.MaxValue</c>).</summary>
    public static FeatureMap Clamp(float[] lower, float[] upper) => new(FeatureMapKind.Clamp, lower.Length, lower, upper, Array.Empty<int>());

    /// <summary>A quantile map; <paramref name="knotCounts"/> (1 .. <see cref="MaxKnots"/> each) split the knot arrays by feature.</summary>
    public static FeatureMap Quantile(int[] knotCounts, float[] x, float[] y)
    {
        var start = new int[knotCounts.Length + 1];
        for (int j = 0; j < knotCounts.Length; j++)
            start[j + 1] = start[j] + knotCounts[j];
        return new FeatureMap(FeatureMapKind.QuantileNormal, knotCounts.Length, x, y, start);
    }

    /// <summary>Knots of feature <paramref name="feature"/> (quantile maps).</summary>
    public int KnotCount(int feature) => KnotStart[feature + 1] - KnotStart[feature];

    public string Describe() => Kind switch
    {
        FeatureMapKind.Identity => "raw features",
        FeatureMapKind.Standardize => "standardized",
        FeatureMapKind.QuantileNormal => "quantile-normal",
        FeatureMapKind.Clamp => "clamped to the training range",
        _ => "robust smooth-clip",
    };

    /// <summary>Maps <c>x[0..InputCount)</c> into <paramref name="y"/> (may be the same span); a NaN stays NaN.</summary>
    public void Apply(ReadOnlySpan<float> x, Span<float> y)
    {
        x = x.Slice(0, InputCount);
        y = y.Slice(0, InputCount);
        switch (Kind)
        {
            case FeatureMapKind.Identity:
                x.CopyTo(y);
                break;
            case FeatureMapKind.Standardize:
                TensorPrimitives.Subtract(x, First, y);
                TensorPrimitives.Multiply(y, Second, y);
                break;
            case FeatureMapKind.Clamp:
                ClampKernel(x, First, Second, y);
                break;
            case FeatureMapKind.RobustSmoothClip:
                TensorPrimitives.Subtract(x, First, y);
                TensorPrimitives.Multiply(y, Second, y);
                for (int j = 0; j < y.Length; j++)
                    y[j] = SmoothClip(y[j]);
                break;
            default:
                for (int j = 0; j < x.Length; j++)
                    y[j] = Interpolate(j, x[j]);
                break;
        }
    }

    /// <summary>Feature <paramref name="j"/>'s value <paramref name="x"/> mapped (for fitting what follows the map).</summary>
    public float MapValue(int j, float x)
    {
        return Kind switch
        {
            FeatureMapKind.Identity => x,
            FeatureMapKind.Standardize => (x - First[j]) * Second[j],
            FeatureMapKind.RobustSmoothClip => SmoothClip((x - First[j]) * Second[j]),
            FeatureMapKind.Clamp => ClampValue(x, First[j], Second[j]),
            _ => Interpolate(j, x),
        };
    }

    /// <summary>One value clamped as the kernel clamps it: a NaN stays NaN (both comparisons are false), -0 above a 0 bound stays -0.</summary>
    internal static float ClampValue(float x, float lower, float upper) => x < lower ? lower : x > upper ? upper : x;

    /// <summary>
    /// <c>min(max(x, lower), upper)</c> elementwise, eight at a time (<see cref="ClampValue"/> on every value, NaN kept), without
    /// TensorPrimitives' per-call dispatch, which on a table row of 8 to 64 features cost more than the clamp itself. The input
    /// stage's clamp-only path calls it directly.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static void ClampKernel(ReadOnlySpan<float> x, ReadOnlySpan<float> lower, ReadOnlySpan<float> upper, Span<float> y)
    {
        int n = x.Length, i = 0;
        if (lower.Length < n || upper.Length < n || y.Length < n)
            throw new ArgumentException("The bounds and the destination must be at least as long as the row.", nameof(y));
        if (Vector256.IsHardwareAccelerated && n >= 8)
        {
            ref float xs = ref MemoryMarshal.GetReference(x), ls = ref MemoryMarshal.GetReference(lower);
            ref float us = ref MemoryMarshal.GetReference(upper), ys = ref MemoryMarshal.GetReference(y);
            // The last block overlaps the one before it when n is not a multiple of 8 (clamping twice gives the same value),
            // so no scalar tail. With x and y the same span, a block's loads precede its stores, so the overlap reads values
            // already clamped: still the same result.
            for (; ; i += 8)
            {
                int at = Math.Min(i, n - 8);
                // MaxNative(lower, x) is (lower > x ? lower : x) on x64 (maxps gives its second operand when either is NaN) and NaN
                // for a NaN on Arm64: a NaN stays NaN either way, as in the scalar loop below.
                Vector256<float> v = Vector256.MaxNative(Vector256.LoadUnsafe(ref ls, (nuint)at), Vector256.LoadUnsafe(ref xs, (nuint)at));
                Vector256.MinNative(Vector256.LoadUnsafe(ref us, (nuint)at), v).StoreUnsafe(ref ys, (nuint)at);
                if (at == n - 8)
                    return;
            }
        }
        for (; i < n; i++)
            y[i] = ClampValue(x[i], lower[i], upper[i]);
    }

    /// <summary><c>z / sqrt(1 + (z/3)^2)</c>; beyond <c>|z/3| = 1e18</c>, where the square would overflow, its limit ±3.</summary>
    private static float SmoothClip(float z)
    {
        float third = z * (1f / 3);
        // Written so that NaN takes the first branch and stays NaN.
        return !(MathF.Abs(third) >= 1e18f) ? z / MathF.Sqrt(1 + third * third) : MathF.CopySign(3f, third);
    }

    /// <summary>Feature <paramref name="j"/>'s quantile map at <paramref name="x"/>: clamped to the end knots, linear between knots.</summary>
    private float Interpolate(int j, float x)
    {
        int from = KnotStart[j], count = KnotStart[j + 1] - from;
        ReadOnlySpan<float> xs = First.AsSpan(from, count), ys = Second.AsSpan(from, count);
        if (float.IsNaN(x))
            return float.NaN;
        if (x <= xs[0])
            return ys[0];
        if (x >= xs[count - 1])
            return ys[count - 1];
        int at = xs.BinarySearch(x);
        if (at >= 0)
            return ys[at];
        int right = ~at, left = right - 1;
        // The fraction is in [0, 1) however close the knots are, so no intermediate value can overflow.
        return ys[left] + (ys[right] - ys[left]) * ((x - xs[left]) / (xs[right] - xs[left]));
    }

    /// <summary>
    /// The largest <c>|y|</c> the map can give for inputs in [-1, 1] (its part of <c>UnitBoxBound</c>): affine maps grow
    /// with the input, the quantile map is bounded by its knots, the smooth clip by 3, the clamp by 1 or the bound that lies
    /// outside [-1, 1].
    /// </summary>
    public double Bound()
    {
        double bound = Kind is FeatureMapKind.Identity or FeatureMapKind.Clamp ? 1 : 0;
        for (int j = 0; j < (Kind == FeatureMapKind.Identity ? 0 : InputCount); j++)
        {
            double b = Kind switch
            {
                FeatureMapKind.Standardize => (1 + Math.Abs((double)First[j])) * Math.Abs((double)Second[j]),
                FeatureMapKind.RobustSmoothClip => 3,
                FeatureMapKind.Clamp => First[j] > 1 ? First[j] : Second[j] < -1 ? -(double)Second[j] : 1,
                _ => 0,
            };
            bound = Math.Max(bound, b);
        }
        if (Kind == FeatureMapKind.QuantileNormal)
            bound = Math.Abs((double)TensorPrimitives.MaxMagnitude(Second));
        return double.IsNaN(bound) ? double.PositiveInfinity : bound;
    }

    /// <summary>The problem with stored values that are finite but not a valid map (knots not increasing), or null.</summary>
    public string? Problem()
    {
        if (Kind == FeatureMapKind.Clamp)
        {
            for (int j = 0; j < InputCount; j++)
            {
                if (!(First[j] <= Second[j]))
                    return $"the clamp range of feature {j} is [{First[j]}, {Second[j]}]; its lower bound must not exceed its upper bound.";
            }
        }
        if (Kind == FeatureMapKind.RobustSmoothClip)
        {
            for (int j = 0; j < InputCount; j++)
            {
                if (!(Second[j] > 0))
                    return $"the robust scale of feature {j} is {Second[j]}; it must be positive.";
            }
        }
        if (Kind != FeatureMapKind.QuantileNormal)
            return null;
        for (int j = 0; j < InputCount; j++)
        {
            int from = KnotStart[j], count = KnotCount(j);
            for (int k = from + 1; k < from + count; k++)
            {
                if (!(First[k] > First[k - 1]))
                    return $"the quantile knots of feature {j} are not strictly increasing.";
                if (!(Second[k] >= Second[k - 1]))
                    return $"the normal quantiles of feature {j} decrease.";
            }
        }
        return null;
    }
}
