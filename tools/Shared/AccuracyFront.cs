// The accuracy–latency front of the comparison tools (issue 17 item 8), linked into FffTabularComparison, FffMnistComparison
// and the tests: which models no other model beats on both metric and per-row latency, and for each conditional (FFF or MoE)
// model the fastest dense network that is at least as accurate, with the latency ratio between the two.
#nullable enable
using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using System.Text;

namespace MlNetFff.Tools;

/// <summary>What a model is, for the front: a conditional network (FFF, MoE), a dense network, or anything else (trees, linear).</summary>
internal enum FrontKind { Conditional, Dense, Other }

/// <summary>One measured model: its metric (higher is better) and its per-row latency in µs (lower is better). NaN: the model failed.</summary>
internal sealed record FrontPoint(string Model, FrontKind Kind, double Metric, double Microseconds)
{
    /// <summary>The kind from a table row's name: "FFF …" and "MoE …"/"sigma-MoE …" are conditional, "Dense …" dense, the rest other.</summary>
    public static FrontKind KindOf(string model) =>
        model.StartsWith("FFF", StringComparison.OrdinalIgnoreCase) || model.Contains("MoE", StringComparison.Ordinal) ? FrontKind.Conditional
        : model.StartsWith("Dense", StringComparison.OrdinalIgnoreCase) ? FrontKind.Dense
        : FrontKind.Other;

    public bool Measured => !double.IsNaN(Metric) && !double.IsNaN(Microseconds);
}

/// <summary>
/// One row of the front table. <see cref="FastestDense"/> is set for a conditional row when some dense network reaches its
/// metric, and <see cref="DenseRatio"/> is that network's µs divided by this row's (above 1: the conditional model is faster).
/// </summary>
internal sealed record FrontRow(FrontPoint Point, bool OnFront, FrontPoint? FastestDense, double DenseRatio);

internal static class AccuracyFront
{
    /// <summary>
    /// The front rows in the input order. A model is on the front when no other model is at least as accurate and at least as
    /// fast and strictly better in one of the two (so exact ties stay on the front together). A conditional model's dense
    /// match is the fastest dense network whose metric is at least its metric; among equally fast ones the more accurate,
    /// then the earlier. Failed models (NaN) are never on the front and never a match.
    /// </summary>
    public static IReadOnlyList<FrontRow> Analyze(IReadOnlyList<FrontPoint> points)
    {
        ArgumentNullException.ThrowIfNull(points);
        FrontPoint[] measured = points.Where(p => p.Measured).ToArray();
        var rows = new List<FrontRow>(points.Count);
        foreach (FrontPoint point in points)
        {
            bool onFront = point.Measured && !measured.Any(other => Dominates(other, point));
            FrontPoint? dense = null;
            if (point.Kind == FrontKind.Conditional && point.Measured)
            {
                dense = measured.Where(d => d.Kind == FrontKind.Dense && d.Metric >= point.Metric)
                    .OrderBy(d => d.Microseconds).ThenByDescending(d => d.Metric).FirstOrDefault();
            }
            rows.Add(new FrontRow(point, onFront, dense, dense != null ? dense.Microseconds / point.Microseconds : double.NaN));
        }
        return rows;
    }

    private static bool Dominates(FrontPoint a, FrontPoint b) =>
        a.Metric >= b.Metric && a.Microseconds <= b.Microseconds && (a.Metric > b.Metric || a.Microseconds < b.Microseconds);

    /// <summary>The Markdown header of <see cref="Lines"/>: with a first column for the set when <paramref name="withSet"/>.</summary>
    public static string Header(string metricName, bool withSet) =>
        (withSet ? "| set | " : "| ") + $"model | {metricName} | per-row µs | on the front | fastest dense reaching it | dense µs / this µs |"
        + Environment.NewLine + (withSet ? "| --- " : "") + "| --- | --- | --- | --- | --- | --- |";

    /// <summary>
    /// One Markdown line per row (the front bold), each prefixed with <paramref name="set"/>'s cell on the first line only when it
    /// is not null. <paramref name="metricFormat"/> formats the metric (e.g. "F4", or "P2" for a percentage).
    /// </summary>
    public static IEnumerable<string> Lines(IReadOnlyList<FrontRow> rows, string metricFormat, string? set = null)
    {
        bool first = true;
        foreach (FrontRow row in rows)
        {
            FrontPoint p = row.Point;
            string prefix = set == null ? "| " : $"| {(first ? set : "")} | ";
            first = false;
            if (!p.Measured)
            {
                yield return prefix + $"{p.Model} | — | — | — (failed) | | |";
                continue;
            }
            string metric = Format(p.Metric, metricFormat), micros = Format(p.Microseconds, "F3");
            string match = "", ratio = "";
            if (p.Kind == FrontKind.Conditional)
            {
                (match, ratio) = row.FastestDense is FrontPoint d
                    ? ($"{d.Model} ({Format(d.Metric, metricFormat)}, {Format(d.Microseconds, "F3")} µs)", Format(row.DenseRatio, "F2") + "x")
                    : ("—, no dense reaches it", "—");
            }
            yield return row.OnFront
                ? prefix + $"**{p.Model}** | **{metric}** | **{micros}** | **yes** | {match} | {ratio} |"
                : prefix + $"{p.Model} | {metric} | {micros} | no | {match} | {ratio} |";
        }
    }

    /// <summary>A one-line summary: the front's models from fastest to most accurate, and each conditional row's dense ratio.</summary>
    public static string Summary(IReadOnlyList<FrontRow> rows)
    {
        string front = string.Join(" → ", rows.Where(r => r.OnFront).OrderBy(r => r.Point.Microseconds).Select(r => r.Point.Model));
        string ratios = string.Join("; ", rows.Where(r => r.Point.Kind == FrontKind.Conditional && r.Point.Measured)
            .Select(r => r.FastestDense is FrontPoint d ? $"{r.Point.Model} {Format(r.DenseRatio, "F2")}x ({d.Model})" : $"{r.Point.Model} — (no dense reaches it)"));
        return $"front, fastest first: {front}" + (ratios.Length > 0 ? $"; dense µs / conditional µs: {ratios}" : "");
    }

    private static string Format(double value, string format) => value.ToString(format, CultureInfo.InvariantCulture);
}
