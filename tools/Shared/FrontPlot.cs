// The accuracy–latency scatter of the comparison tools (--plot FILE.png; issue 17 item 8): one panel per set, every model a point
// (metric against per-row µs on a log axis), coloured by kind, labelled, with the front as a step line. ScottPlot 5 directly:
// Microsoft.ML.Fff.Plotting plots sweep results (FffExperimentResult), not these tables.
#nullable enable
using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using Microsoft.ML.Fff.Plotting;
using ScottPlot;

namespace MlNetFff.Tools;

internal static class FrontPlot
{
    /// <summary>
    /// Writes a PNG with one panel per (title, metric name, rows), laid out in a grid of <paramref name="columns"/> columns, each
    /// panel <paramref name="panelWidth"/> x <paramref name="panelHeight"/> pixels. <paramref name="label"/> gives a point's short label;
    /// points for which <paramref name="omit"/> is true are left out of the panel (not out of the front).
    /// </summary>
    public static void Save(string path, IReadOnlyList<(string Title, string Metric, IReadOnlyList<FrontRow> Rows)> panels,
        Func<string, string> label, Func<FrontPoint, bool>? omit = null, int columns = 3, int panelWidth = 460, int panelHeight = 340)
    {
        if (panels.Count == 0)
            throw new ArgumentException("Nothing to plot.", nameof(panels));
        string? folder = Path.GetDirectoryName(Path.GetFullPath(path));
        if (folder != null && !Directory.Exists(folder))
            throw new DirectoryNotFoundException($"The folder of '{path}' does not exist.");
        columns = Math.Min(columns, panels.Count);
        int gridRows = (panels.Count + columns - 1) / columns;
        var multiplot = new Multiplot();
        multiplot.AddPlots(panels.Count);
        multiplot.Layout = new ScottPlot.MultiplotLayouts.Grid(gridRows, columns);
        for (int i = 0; i < panels.Count; i++)
            Draw(multiplot.GetPlot(i), panels[i].Title, panels[i].Metric, panels[i].Rows, label, omit);
        multiplot.SavePng(path, columns * panelWidth, gridRows * panelHeight);
    }

    private static void Draw(Plot plot, string title, string metric, IReadOnlyList<FrontRow> rows, Func<string, string> label, Func<FrontPoint, bool>? omit)
    {
        // A reference row far below the others (MNIST's one-neuron floor) would squash the panel into a line: the caller's
        // omit leaves such rows out, and the title says how many.
        FrontRow[] measured = rows.Where(r => r.Point.Measured && !(omit?.Invoke(r.Point) ?? false)).ToArray();
        int hidden = rows.Count(r => r.Point.Measured) - measured.Length;
        (FrontKind Kind, string Legend, Color Color)[] kinds =
        {
            (FrontKind.Conditional, "FFF / MoE", Colors.DodgerBlue),
            (FrontKind.Dense, "Dense", Colors.SeaGreen),
            (FrontKind.Other, "LightGBM / linear", Colors.DarkOrange),
        };
        foreach ((FrontKind kind, string legend, Color color) in kinds)
        {
            FrontRow[] points = measured.Where(r => r.Point.Kind == kind).ToArray();
            if (points.Length == 0)
                continue;
            var scatter = plot.Add.ScatterPoints(points.Select(r => Math.Log10(r.Point.Microseconds)).ToArray(), points.Select(r => r.Point.Metric).ToArray(), color);
            scatter.MarkerSize = 7;
            scatter.LegendText = legend;
            // Labels for the front and the conditional rows (the rows the tables compare); the other points stay unlabelled.
            foreach (FrontRow r in points.Where(r => r.OnFront || r.Point.Kind == FrontKind.Conditional))
            {
                var text = plot.Add.Text(label(r.Point.Model), Math.Log10(r.Point.Microseconds), r.Point.Metric);
                text.LabelFontSize = 10;
                text.LabelFontColor = color;
                text.LabelBold = r.OnFront;
                text.OffsetX = 4;
            }
        }
        FrontRow[] front = measured.Where(r => r.OnFront).OrderBy(r => r.Point.Microseconds).ToArray();
        if (front.Length > 0)
        {
            var line = plot.Add.ScatterLine(front.Select(r => Math.Log10(r.Point.Microseconds)).ToArray(), front.Select(r => r.Point.Metric).ToArray(), Colors.Black);
            // The best metric reachable at a latency holds until the next front point.
            line.ConnectStyle = ConnectStyle.StepHorizontal;
            line.LineWidth = 1;
            line.LegendText = "front";
        }
        if (measured.Length > 0)
        {
            double low = measured.Min(r => r.Point.Microseconds), high = measured.Max(r => r.Point.Microseconds);
            plot.Axes.Bottom.TickGenerator = LogTicks.Microseconds(low, high, margin: 1.5);
            // Room on the right for the labels of the slowest points.
            plot.Axes.AutoScale();
            plot.Axes.SetLimitsX(Math.Log10(low) - 0.1, Math.Log10(high) + 0.35);
        }
        plot.XLabel("per-row µs (log scale)");
        plot.YLabel(metric);
        plot.Title(hidden > 0 ? $"{title}; {hidden} reference row{(hidden > 1 ? "s" : "")} not shown" : title);
        plot.ShowLegend(Alignment.LowerRight);
    }
}
