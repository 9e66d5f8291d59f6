using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using Microsoft.ML.Fff.Scoring;
using Microsoft.ML.Fff.Training;
using Microsoft.ML.Runtime;

namespace Microsoft.ML.Fff.RepeatedRows;

/// <summary>
/// Fits the offsets of <see cref="RepeatedRowNetwork"/> after training (<see cref="FeedForwardOptionsBase.RepeatedRowOffsets"/>):
/// the training rows are grouped by their exact features, and each group gets, per output, one Newton step of the training loss
/// from the trained network's outputs under a Gaussian prior of strength <c>lambda</c>: <c>sum(g) / (sum(h) + lambda * mean(h))</c>,
/// with <c>g</c> and <c>h</c> the loss's negative gradient and curvature at each row (regression: <c>y - f</c> and 1; binary: <c>y - p</c> and
/// <c>p(1 - p)</c> on the logit; multiclass: the same per class on the softmax). <c>lambda</c> is chosen by leaving each training
/// row out of its own group's step, and the offsets are kept only when that leave-one-out loss is lower than the network's own, on
/// data where at least 1 % of the rows repeat; for every distinct row while the table stays small, else for the rows seen at least
/// twice (docs/decisions.md, "Offsets for repeated rows").
/// </summary>
internal static class RepeatedRowFitting
{
    /// <summary>Widest feature vector the offsets are fitted for (tables; images and text rarely repeat exactly).</summary>
    public const int MaxInputs = 1024;

    /// <summary>The prior strengths tried, in rows of mean curvature.</summary>
    internal static readonly double[] Strengths = { 0.25, 0.5, 1, 2, 4, 8, 16, 32, 64, 128 };

    /// <summary>The leave-one-out loss must fall by at least this fraction of the network's own for the offsets to be kept.</summary>
    public const double MinRelativeGain = 0.005;

    /// <summary>
    /// Most values (distinct rows x slots) of a table that stores every distinct training row, 1 MB: larger tables store only
    /// the rows seen at least twice.
    /// </summary>
    public const long MaxEveryRowValues = 1L << 18;

    /// <summary>
    /// Fraction of the training rows that must repeat another's features before offsets are fitted: below it a handful of
    /// coincidences (hmda: 6 of 1,898 rows) can carry the leave-one-out gain alone, and the table would serve almost no row.
    /// </summary>
    public const double MinRepeatedFraction = 0.01;

    /// <summary>
    /// <paramref name="network"/> with offsets for the repeated rows of <paramref name="train"/> when they pay by leave-one-out;
    /// otherwise <paramref name="network"/> itself. Logs what it found and why.
    /// </summary>
    /// <param name="ch">Where the finding and the decision are logged.</param>
    /// <param name="network">The trained network (scalings folded in).</param>
    /// <param name="train">The training rows.</param>
    /// <param name="kind">The label's kind.</param>
    /// <param name="maxEveryRowValues">The largest table that stores every distinct row (<see cref="MaxEveryRowValues"/>; tests set it).</param>
    public static FeedForwardNetwork Fit(IChannel ch, FeedForwardNetwork network, TrainingData train, LabelKind kind, long maxEveryRowValues = MaxEveryRowValues)
    {
        const string name = nameof(FeedForwardOptionsBase.RepeatedRowOffsets);
        TrainingTable? table = train.InMemory;
        if (train.IsSparse || table is null || train.FeatureCount > MaxInputs)
        {
            string why = train.IsSparse ? "the features are sparse" : table is null ? "the training rows are streamed, not held in memory"
                : $"the feature vector has {train.FeatureCount} slots (at most {MaxInputs})";
            ch.Info($"{name}: no offsets fitted: {why}.");
            return network;
        }
        int n = table.RowCount, inputs = train.FeatureCount, outputs = network.OutputCount;
        ReadOnlySpan<float> features = table.Dense.AsSpan(0, n * inputs);
        (int[] groupOf, List<int> firstRows, int[] sizes) = Group(features, n, inputs);
        int repeated = sizes.Where(size => size > 1).Sum();
        if (repeated == 0)
        {
            ch.Info($"{name}: no offsets fitted: no two of the {n:N0} training rows have the same features.");
            return network;
        }
        if (repeated < MinRepeatedFraction * n)
        {
            ch.Info($"{name}: no offsets fitted: {repeated:N0} of {n:N0} training rows repeat another's features, fewer than {MinRepeatedFraction:P0}.");
            return network;
        }
        int repeatedGroups = sizes.Count(size => size > 1);
        if ((long)repeatedGroups * inputs > RepeatedRowNetwork.MaxKeyFloats || repeatedGroups > RepeatedRowNetwork.MaxRows)
        {
            ch.Info($"{name}: no offsets fitted: {repeatedGroups:N0} repeated rows of {inputs} slots are more than a table holds.");
            return network;
        }

        var scores = new float[(long)n * outputs];
        network.ScoreBatch(features, n, scores);
        var fit = new Sums(kind, outputs, firstRows.Count);
        fit.Add(scores, table.Labels, table.Weights, groupOf);

        double baseLoss = fit.BaseLoss, bestLoss = baseLoss, bestStrength = double.NaN;
        var tried = new List<string>();
        foreach (double strength in Strengths)
        {
            double loss = fit.LeaveOneOutLoss(scores, table.Labels, table.Weights, groupOf, sizes, strength);
            tried.Add($"{strength.ToString(CultureInfo.InvariantCulture)}: {Per(loss, fit.TotalWeight)}");
            if (loss < bestLoss)
                (bestLoss, bestStrength) = (loss, strength);
        }
        string found = $"{repeated:N0} of {n:N0} training rows repeat another's features ({firstRows.Count:N0} distinct rows); "
            + $"leave-one-out loss per row {Per(baseLoss, fit.TotalWeight)} without offsets, with prior strength {string.Join(", ", tried)}";
        if (double.IsNaN(bestStrength) || bestLoss > baseLoss * (1 - MinRelativeGain))
        {
            ch.Info($"{name}: no offsets kept: {found}; none is {MinRelativeGain:P1} below the network's own.");
            return network;
        }
        // Every distinct row while the table stays small (a row to score that repeats a row seen once in training gets that row's
        // step, as leave-one-out scored the pairs); beyond that only the rows seen at least twice: a table of every row of a set of
        // mostly unique rows would cost each scored row a cache miss for the few that repeat.
        bool everyRow = (long)firstRows.Count * inputs <= maxEveryRowValues;
        int[] kept = Enumerable.Range(0, firstRows.Count).Where(g => everyRow || sizes[g] > 1).ToArray();
        string which = everyRow ? $"every distinct training row: {firstRows.Count:N0} x {inputs} values, at most {maxEveryRowValues:N0}"
            : $"the rows seen at least twice: every distinct row would take {(long)firstRows.Count * inputs:N0} values, more than {maxEveryRowValues:N0}";
        float[] all = fit.Offsets(bestStrength);
        if (!System.Numerics.Tensors.TensorPrimitives.IsFiniteAll(all))
        {
            // Only a network whose outputs overflowed on a training row can get here; a saved table must load again.
            ch.Warning($"{name}: no offsets kept: an offset is not finite (the network's outputs on the training rows overflow).");
            return network;
        }
        ch.Info($"{name}: offsets kept for {kept.Length:N0} rows ({which}) at prior strength {bestStrength.ToString(CultureInfo.InvariantCulture)}: {found}.");
        var keys = new float[(long)kept.Length * inputs];
        var offsets = new float[(long)kept.Length * outputs];
        for (int k = 0; k < kept.Length; k++)
        {
            features.Slice(firstRows[kept[k]] * inputs, inputs).CopyTo(keys.AsSpan(k * inputs, inputs));
            all.AsSpan(kept[k] * outputs, outputs).CopyTo(offsets.AsSpan(k * outputs, outputs));
        }
        return new RepeatedRowNetwork(network, keys, offsets);
    }

    private static string Per(double loss, double weight) => (loss / weight).ToString("G5", CultureInfo.InvariantCulture);

    /// <summary>
    /// Each row's group (its first row's index among the distinct rows, in row order: deterministic), -1 for a row with a value
    /// that is not finite; the first row of each group; each group's size.
    /// </summary>
    private static (int[] GroupOf, List<int> FirstRows, int[] Sizes) Group(ReadOnlySpan<float> features, int n, int inputs)
    {
        var groupOf = new int[n];
        var firstRows = new List<int>();
        var sizes = new List<int>();
        int size = 1 << (int)Math.Ceiling(Math.Log2(Math.Max(2, 2L * n)));
        var slots = new int[size];
        for (int r = 0; r < n; r++)
        {
            ReadOnlySpan<float> row = features.Slice(r * inputs, inputs);
            if (!System.Numerics.Tensors.TensorPrimitives.IsFiniteAll(row))
            {
                groupOf[r] = -1;
                continue;
            }
            int slot = (int)RepeatedRowNetwork.Hash(row) & (size - 1);
            while (true)
            {
                int stored = slots[slot];
                if (stored == 0)
                {
                    slots[slot] = firstRows.Count + 1;
                    groupOf[r] = firstRows.Count;
                    firstRows.Add(r);
                    sizes.Add(1);
                    break;
                }
                if (RepeatedRowNetwork.Equal(row, features.Slice(firstRows[stored - 1] * inputs, inputs)))
                {
                    groupOf[r] = stored - 1;
                    sizes[stored - 1]++;
                    break;
                }
                slot = (slot + 1) & (size - 1);
            }
        }
        return (groupOf, firstRows, sizes.ToArray());
    }

    /// <summary>Per-group sums of the weighted negative gradients and curvatures, and the losses they give.</summary>
    private sealed class Sums(LabelKind kind, int outputs, int groups)
    {
        private readonly double[] _gradient = new double[groups * outputs];
        private readonly double[] _curvature = new double[groups * outputs];
        private readonly double[] _meanCurvature = new double[outputs];
        private readonly double[] _g = new double[outputs], _h = new double[outputs], _shifted = new double[outputs];

        public double BaseLoss { get; private set; }

        public double TotalWeight { get; private set; }

        public void Add(float[] scores, float[] labels, float[]? weights, int[] groupOf)
        {
            for (int r = 0; r < groupOf.Length; r++)
            {
                double w = weights?[r] ?? 1;
                ReadOnlySpan<float> f = scores.AsSpan(r * outputs, outputs);
                Derivatives(f, labels[r], _g, _h);
                BaseLoss += w * Loss(f, labels[r], null);
                TotalWeight += w;
                for (int o = 0; o < outputs; o++)
                    _meanCurvature[o] += w * _h[o];
                int group = groupOf[r];
                if (group < 0)
                    continue;
                for (int o = 0; o < outputs; o++)
                {
                    _gradient[group * outputs + o] += w * _g[o];
                    _curvature[group * outputs + o] += w * _h[o];
                }
            }
            for (int o = 0; o < outputs; o++)
                _meanCurvature[o] = TotalWeight > 0 ? _meanCurvature[o] / TotalWeight : 1;
        }

        /// <summary>The loss when each row of a repeated group gets the step of the group's other rows.</summary>
        public double LeaveOneOutLoss(float[] scores, float[] labels, float[]? weights, int[] groupOf, int[] sizes, double strength)
        {
            double total = 0;
            for (int r = 0; r < groupOf.Length; r++)
            {
                double w = weights?[r] ?? 1;
                ReadOnlySpan<float> f = scores.AsSpan(r * outputs, outputs);
                int group = groupOf[r];
                if (group < 0 || sizes[group] < 2)
                {
                    total += w * Loss(f, labels[r], null);
                    continue;
                }
                Derivatives(f, labels[r], _g, _h);
                for (int o = 0; o < outputs; o++)
                {
                    int k = group * outputs + o;
                    _shifted[o] = (_gradient[k] - w * _g[o]) / Math.Max(1e-12, _curvature[k] - w * _h[o] + strength * _meanCurvature[o]);
                }
                total += w * Loss(f, labels[r], _shifted);
            }
            return total;
        }

        /// <summary>Every group's offsets at <paramref name="strength"/>.</summary>
        public float[] Offsets(double strength)
        {
            var offsets = new float[_gradient.Length];
            for (int k = 0; k < offsets.Length; k++)
                offsets[k] = (float)(_gradient[k] / (_curvature[k] + strength * _meanCurvature[k % outputs]));
            return offsets;
        }

        /// <summary>Negative gradient and curvature of the loss at one row's outputs.</summary>
        private void Derivatives(ReadOnlySpan<float> f, float label, double[] g, double[] h)
        {
            switch (kind)
            {
                case LabelKind.Regression:
                    g[0] = label - f[0];
                    h[0] = 1;
                    break;
                case LabelKind.Binary:
                    double p = Sigmoid(f[0]);
                    g[0] = label - p;
                    h[0] = Math.Max(p * (1 - p), 1e-6);
                    break;
                default:
                    Softmax(f, null, _shifted);
                    for (int c = 0; c < outputs; c++)
                    {
                        double pc = _shifted[c];
                        g[c] = (c == (int)label ? 1 : 0) - pc;
                        h[c] = Math.Max(pc * (1 - pc), 1e-6);
                    }
                    break;
            }
        }

        /// <summary>The loss at outputs <c>f + shift</c> (no shift when null): squared error, log loss or cross-entropy.</summary>
        private double Loss(ReadOnlySpan<float> f, float label, double[]? shift)
        {
            switch (kind)
            {
                case LabelKind.Regression:
                    double e = label - (f[0] + (shift?[0] ?? 0));
                    return e * e;
                case LabelKind.Binary:
                    double z = f[0] + (shift?[0] ?? 0);
                    // log(1 + e^-z) for a positive row, log(1 + e^z) for a negative one, without overflow.
                    double m = label > 0.5 ? -z : z;
                    return Math.Max(m, 0) + Math.Log(1 + Math.Exp(-Math.Abs(m)));
                default:
                    double max = double.NegativeInfinity;
                    for (int c = 0; c < outputs; c++)
                        max = Math.Max(max, f[c] + (shift?[c] ?? 0));
                    double sum = 0;
                    for (int c = 0; c < outputs; c++)
                        sum += Math.Exp(f[c] + (shift?[c] ?? 0) - max);
                    int y = (int)label;
                    return Math.Log(sum) - (f[y] + (shift?[y] ?? 0) - max);
            }
        }

        private static double Sigmoid(double z) => 1 / (1 + Math.Exp(-z));

        private void Softmax(ReadOnlySpan<float> f, double[]? shift, double[] destination)
        {
            double max = double.NegativeInfinity;
            for (int c = 0; c < outputs; c++)
                max = Math.Max(max, f[c] + (shift?[c] ?? 0));
            double sum = 0;
            for (int c = 0; c < outputs; c++)
                sum += destination[c] = Math.Exp(f[c] + (shift?[c] ?? 0) - max);
            for (int c = 0; c < outputs; c++)
                destination[c] /= sum;
        }
    }
}
