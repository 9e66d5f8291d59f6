using System;
using System.Collections.Generic;
using System.Linq;
using Microsoft.ML.Fff.Training;

namespace Microsoft.ML.Fff.InputStages;

/// <summary>
/// Fits the fixed parts of an input stage from the training data: every feature's sorted values over the in-memory rows
/// (a seeded sample of <see cref="MaxRows"/> when there are more; streamed data: the scan's evaluation sample), from which
/// come the quantile knots, the robust centre and scale, and the embedding's bin edges.
/// </summary>
internal sealed class StageFitting
{
    /// <summary>Most rows whose values are sorted per feature: quantiles from 65,536 rows are within about 0.4 % in rank.</summary>
    public const int MaxRows = 65_536;

    private readonly TrainingData _train;
    private readonly float[][] _sorted;

    public StageFitting(TrainingData train, int seed)
    {
        _train = train;
        TrainingTable table = train.InMemory ?? train.EvaluationSample;
        int count = table.RowCount;
        int[] rows = Enumerable.Range(0, count).ToArray();
        if (count > MaxRows)
        {
            // Partial Fisher–Yates: the first MaxRows entries are a seeded sample without replacement.
            var random = new Random(seed ^ 0x2545F491);
            for (int i = 0; i < MaxRows; i++)
            {
                int k = random.Next(i, count);
                (rows[i], rows[k]) = (rows[k], rows[i]);
            }
            rows = rows.AsSpan(0, MaxRows).ToArray();
        }
        int features = table.FeatureCount;
        _sorted = new float[features][];
        for (int j = 0; j < features; j++)
            _sorted[j] = new float[rows.Length];
        var row = new float[features];
        for (int i = 0; i < rows.Length; i++)
        {
            table.CopyDenseRow(rows[i], row);
            for (int j = 0; j < features; j++)
                _sorted[j][i] = row[j];
        }
        foreach (float[] column in _sorted)
            Array.Sort(column);
    }

    /// <summary>Rows the quantiles come from.</summary>
    public int Rows => _sorted.Length == 0 ? 0 : _sorted[0].Length;

    /// <summary>The <paramref name="p"/>-quantile of sorted <paramref name="values"/>, interpolated linearly between ranks.</summary>
    internal static double Quantile(ReadOnlySpan<float> values, double p)
    {
        double position = p * (values.Length - 1);
        int low = (int)Math.Floor(position);
        int high = Math.Min(low + 1, values.Length - 1);
        return values[low] + (position - low) * ((double)values[high] - values[low]);
    }

    /// <summary>Mean and standard deviation over all training rows (as <c>FeatureScaling.Auto</c> computes them for dense data).</summary>
    public FeatureMap Standardize()
    {
        int features = _train.FeatureCount;
        var shift = new float[features];
        var scale = new float[features];
        for (int j = 0; j < features; j++)
        {
            double mean = _train.FeatureSum[j] / _train.RowCount;
            double std = Math.Sqrt(Math.Max(0, _train.FeatureSumOfSquares[j] / _train.RowCount - mean * mean));
            shift[j] = (float)mean;
            scale[j] = std > 1e-8 ? (float)(1 / std) : 1f;
        }
        return FeatureMap.Standardize(shift, scale);
    }

    /// <summary>Median and interquartile range (the range when that is 0, else 1).</summary>
    public FeatureMap Robust()
    {
        int features = _sorted.Length;
        var centre = new float[features];
        var scale = new float[features];
        for (int j = 0; j < features; j++)
        {
            float[] v = _sorted[j];
            double spread = Quantile(v, 0.75) - Quantile(v, 0.25);
            if (!(spread > 0))
                spread = (double)v[^1] - v[0];
            float inverse = spread > 0 ? (float)(1 / spread) : 1f;
            centre[j] = (float)Quantile(v, 0.5);
            scale[j] = float.IsFinite(inverse) && inverse > 0 ? inverse : 1f;
        }
        return FeatureMap.Robust(centre, scale);
    }

    /// <summary>
    /// Knots at <see cref="FeatureMap.MaxKnots"/> evenly spaced quantile levels (fewer with fewer rows), each paired with the
    /// normal quantile of its level (levels clipped to [ε, 1 - ε], ε = max(0.5 / rows, 1e-4)); knots with equal values
    /// are merged into one at their mean normal quantile, and a constant feature gets one knot at 0.
    /// </summary>
    public FeatureMap QuantileNormal()
    {
        int features = _sorted.Length, rows = Rows;
        int levels = Math.Clamp(rows, 2, FeatureMap.MaxKnots);
        double epsilon = Math.Max(0.5 / rows, 1e-4);
        var normal = new double[levels];
        for (int i = 0; i < levels; i++)
            normal[i] = NormalQuantile(Math.Clamp(i / (double)(levels - 1), epsilon, 1 - epsilon));
        var counts = new int[features];
        var xs = new List<float>();
        var ys = new List<float>();
        for (int j = 0; j < features; j++)
        {
            int start = xs.Count;
            for (int i = 0; i < levels;)
            {
                float x = (float)Quantile(_sorted[j], i / (double)(levels - 1));
                double sum = 0;
                int run = 0;
                for (; i < levels && (float)Quantile(_sorted[j], i / (double)(levels - 1)) == x; i++, run++)
                    sum += normal[i];
                xs.Add(x);
                ys.Add((float)(sum / run));
            }
            counts[j] = xs.Count - start;
            if (counts[j] == 1)
                ys[start] = 0;
        }
        return FeatureMap.Quantile(counts, xs.ToArray(), ys.ToArray());
    }

    /// <summary>Features with more than two distinct mapped values, with up to <paramref name="bins"/> quantile bins each.</summary>
    public NumericEmbeddingLayer PiecewiseLinear(FeatureMap map, int bins, int width)
    {
        int features = _sorted.Length;
        var embedded = new List<int>();
        var edges = new List<float[]>();
        for (int j = 0; j < features; j++)
        {
            float[] mapped = Mapped(map, j);
            if (!HasMoreThanTwoValues(mapped))
                continue;
            var unique = new List<float>();
            for (int k = 0; k <= bins; k++)
            {
                float edge = (float)Quantile(mapped, k / (double)bins);
                if (unique.Count == 0 || edge > unique[^1])
                    unique.Add(edge);
            }
            embedded.Add(j);
            edges.Add(unique.ToArray());
        }
        var layer = new NumericEmbeddingLayer(FffNumericEmbedding.PiecewiseLinear, features, embedded.ToArray(), width, bins,
            edges.Select(e => e.Length - 1).ToArray());
        for (int e = 0; e < edges.Count; e++)
        {
            Span<float> row = layer.First.AsSpan(e * (bins + 1), bins + 1);
            edges[e].CopyTo(row);
            row.Slice(edges[e].Length).Fill(edges[e][^1]);
        }
        return layer;
    }

    /// <summary>Features with more than two distinct values; the frequencies are drawn when the network is created.</summary>
    public NumericEmbeddingLayer Periodic(FeatureMap map, int frequencies, int width)
    {
        int[] embedded = Enumerable.Range(0, _sorted.Length).Where(j => HasMoreThanTwoValues(Mapped(map, j))).ToArray();
        return new NumericEmbeddingLayer(FffNumericEmbedding.Periodic, _sorted.Length, embedded, width, frequencies);
    }

    /// <summary>Feature <paramref name="j"/>'s sorted values after the map (maps are non-decreasing, so still sorted).</summary>
    private float[] Mapped(FeatureMap map, int j) => _sorted[j].Select(x => map.MapValue(j, x)).ToArray();

    private static bool HasMoreThanTwoValues(float[] sorted)
    {
        int distinct = 1;
        for (int i = 1; i < sorted.Length && distinct <= 2; i++)
        {
            if (sorted[i] != sorted[i - 1])
                distinct++;
        }
        return distinct > 2;
    }

    /// <summary>The standard normal quantile of <paramref name="p"/> in (0, 1), by bisection on <see cref="NormalCdf"/>.</summary>
    internal static double NormalQuantile(double p)
    {
        double low = -10, high = 10;
        for (int i = 0; i < 80; i++)
        {
            double middle = 0.5 * (low + high);
            if (NormalCdf(middle) < p)
                low = middle;
            else
                high = middle;
        }
        return 0.5 * (low + high);
    }

    /// <summary>The standard normal CDF through a Chebyshev-fitted complementary error function (relative error below 1.2e-7).</summary>
    internal static double NormalCdf(double x)
    {
        double z = Math.Abs(x) / Math.Sqrt(2);
        double t = 1 / (1 + 0.5 * z);
        double erfc = t * Math.Exp(-z * z - 1.26551223 + t * (1.00002368 + t * (0.37409196 + t * (0.09678418 + t * (-0.18628806
            + t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277)))))))));
        return x >= 0 ? 1 - 0.5 * erfc : 0.5 * erfc;
    }
}
