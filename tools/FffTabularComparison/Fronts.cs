// The accuracy–latency front of each set of the tabular suite (issue 17 item 8; the logic is tools/Shared/AccuracyFront.cs):
// every model of the results, LightGBM and the linear model included, as one Markdown table with the set in the first column,
// and a one-line summary per set.
#nullable enable
using System;
using System.Collections.Generic;
using System.Linq;
using System.Text;

namespace MlNetFff.Tools.Tabular;

internal static class Fronts
{
    /// <summary>The points of one set's results: the kind from the model's name (FFF / MoE conditional, Dense dense, the rest other).</summary>
    public static List<FrontPoint> Points(IEnumerable<TabularResult> setResults) => setResults
        .Select(r => new FrontPoint(r.Model.Name, FrontPoint.KindOf(r.Model.Name), r.Error == null ? r.Metric : double.NaN, r.Error == null ? r.MicrosecondsPerRow : double.NaN))
        .ToList();

    /// <summary>The panels of <c>--plot</c>: one per set, titled with its name and metric.</summary>
    public static List<(string Title, string Metric, IReadOnlyList<FrontRow> Rows)> Panels(IReadOnlyList<TabularResult> results) => results
        .GroupBy(r => r.Set.Name)
        .Select(g => ($"{g.Key} ({g.First().Set.Task.ToString().ToLowerInvariant()})", g.First().Set.MetricName, AccuracyFront.Analyze(Points(g))))
        .ToList();

    /// <summary>A point's label in the plot: short names for the suite's long row names.</summary>
    public static string ShortLabel(string model) =>
        model.StartsWith("FFF `Fff().Train`", StringComparison.Ordinal) ? "Train"
        : model.StartsWith("FFF hand recipe", StringComparison.Ordinal) ? "recipe"
        : model.StartsWith("Dense ", StringComparison.Ordinal) ? "D" + model["Dense ".Length..]
        : model.StartsWith("LightGBM", StringComparison.Ordinal) ? "LightGBM"
        : model.StartsWith("Linear", StringComparison.Ordinal) ? "linear"
        : model.StartsWith("MoE", StringComparison.Ordinal) ? "MoE"
        : model;

    /// <summary>The front table of every set in the results (rows in result order), then each set's summary line.</summary>
    public static string Table(IReadOnlyList<TabularResult> results)
    {
        var table = new StringBuilder();
        var summaries = new StringBuilder();
        table.AppendLine(AccuracyFront.Header("metric", withSet: true));
        foreach (IGrouping<string, TabularResult> set in results.GroupBy(r => r.Set.Name))
        {
            IReadOnlyList<FrontRow> rows = AccuracyFront.Analyze(Points(set));
            string title = $"{set.Key} ({set.First().Set.MetricName})";
            foreach (string line in AccuracyFront.Lines(rows, "F4", title))
                table.AppendLine(line);
            summaries.AppendLine($"- {set.Key}: {AccuracyFront.Summary(rows)}");
        }
        return table.ToString() + Environment.NewLine + summaries.ToString().TrimEnd();
    }
}
