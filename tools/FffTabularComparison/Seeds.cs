// --seeds N of the tabular suite: each cell run on N splits and training seeds (0 .. N-1), then folded into one row per set
// and model. Kept apart from TabularSuite.cs so that the suite's core stays the one-seed run.
#nullable enable
using System;
using System.Collections.Generic;
using System.Linq;

namespace MlNetFff.Tools.Tabular;

internal static class Seeds
{
    /// <summary>
    /// One row per set and model (in first-seen order) from the rows of every seed: the mean metric and its sample standard
    /// deviation, the mean training seconds and the median of the per-seed median µs; the split sizes of the first seed (the
    /// seeded splits differ by a few rows). A model that failed on any seed keeps the first error. One seed's rows come back as
    /// they are.
    /// </summary>
    public static List<TabularResult> Aggregate(IEnumerable<TabularResult> rows)
    {
        ArgumentNullException.ThrowIfNull(rows);
        var cells = new List<List<TabularResult>>();
        var index = new Dictionary<(string Set, string Model), List<TabularResult>>();
        foreach (TabularResult row in rows)
        {
            if (!index.TryGetValue((row.Set.Name, row.Model.Name), out List<TabularResult>? cell))
            {
                cell = new List<TabularResult>();
                index.Add((row.Set.Name, row.Model.Name), cell);
                cells.Add(cell);
            }
            cell.Add(row);
        }
        return cells.Select(Fold).ToList();
    }

    private static TabularResult Fold(List<TabularResult> cell)
    {
        TabularResult first = cell[0];
        if (cell.Count == 1)
            return first;
        if (cell.FirstOrDefault(r => r.Error != null) is TabularResult failed)
            return failed with { Seeds = cell.Count };
        double mean = cell.Average(r => r.Metric);
        double std = Math.Sqrt(cell.Sum(r => (r.Metric - mean) * (r.Metric - mean)) / (cell.Count - 1));
        return first with
        {
            Metric = mean,
            MetricStd = std,
            TrainSeconds = cell.Average(r => r.TrainSeconds),
            MicrosecondsPerRow = Median(cell.Select(r => r.MicrosecondsPerRow)),
            Seeds = cell.Count,
        };
    }

    private static double Median(IEnumerable<double> values)
    {
        double[] sorted = values.OrderBy(v => v).ToArray();
        int half = sorted.Length / 2;
        return sorted.Length % 2 == 1 ? sorted[half] : (sorted[half - 1] + sorted[half]) / 2;
    }
}
