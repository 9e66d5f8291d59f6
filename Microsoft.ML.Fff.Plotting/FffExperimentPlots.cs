using System;
using System.IO;
using System.Linq;
using Microsoft.ML.Fff.Sweeps;
using ScottPlot;

namespace Microsoft.ML.Fff.Plotting;

/// <summary>Plots of an <see cref="FffExperimentResult"/> (ScottPlot 5).</summary>
public static class FffExperimentPlots
{
    /// <summary>
    /// Writes a PNG of the experiment: every succeeded trial as a point (metric against microseconds per row, log scale), coloured by
    /// model kind, with the Pareto front drawn as a step line and the best model circled.
    /// </summary>
    /// <param name="result">The experiment's result.</param>
    /// <param name="path">The PNG file to write (its folder must exist).</param>
    /// <param name="width">Image width in pixels; 100 .. 10,000. Default 900.</param>
    /// <param name="height">Image height in pixels; 100 .. 10,000. Default 600.</param>
    /// <exception cref="ArgumentOutOfRangeException">A size is out of range.</exception>
    public static void SaveParetoPlot(this FffExperimentResult result, string path, int width = 900, int height = 600)
    {
        ArgumentNullException.ThrowIfNull(result);
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        ArgumentOutOfRangeException.ThrowIfLessThan(width, 100);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(width, 10_000);
        ArgumentOutOfRangeException.ThrowIfLessThan(height, 100);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(height, 10_000);

        var plot = new Plot();
        FffTrialResult[] succeeded = result.Trials.Where(t => t.Status == FffTrialStatus.Succeeded).ToArray();
        (FffArchitecture Kind, string Label, Color Color)[] kinds =
        {
            (FffArchitecture.FastFeedForward, "FFF", Colors.DodgerBlue),
            (FffArchitecture.MixtureOfExperts, "MoE", Colors.DarkOrange),
            (FffArchitecture.Dense, "Dense", Colors.SeaGreen),
        };
        foreach ((FffArchitecture kind, string label, Color color) in kinds)
        {
            FffTrialResult[] points = succeeded.Where(t => t.Configuration.Architecture == kind).ToArray();
            if (points.Length == 0)
                continue;
            var scatter = plot.Add.ScatterPoints(points.Select(t => Math.Log10(t.MicrosecondsPerRow)).ToArray(), points.Select(t => t.Metric).ToArray(), color);
            scatter.MarkerSize = 6;
            scatter.LegendText = label;
        }
        if (result.ParetoFront.Count > 0)
        {
            var front = plot.Add.ScatterLine(result.ParetoFront.Select(t => Math.Log10(t.MicrosecondsPerRow)).ToArray(), result.ParetoFront.Select(t => t.Metric).ToArray(), Colors.Black);
            front.ConnectStyle = ConnectStyle.StepHorizontal; // the best metric reachable at a latency holds until the next front point
            front.LineWidth = 1.5f;
            front.LegendText = "Pareto front";
            var best = plot.Add.Marker(Math.Log10(result.BestTrial.MicrosecondsPerRow), result.BestTrial.Metric, MarkerShape.OpenCircle, 16, Colors.Red);
            best.LegendText = $"best (#{result.BestTrial.TrialId})";
        }
        // Log-scaled x axis: labelled ticks at 1, 2 and 5 times the powers of ten that the data spans, in microseconds.
        plot.Axes.Bottom.TickGenerator = succeeded.Length > 0
            ? LogTicks.Microseconds(succeeded.Min(t => t.MicrosecondsPerRow), succeeded.Max(t => t.MicrosecondsPerRow), margin: 2)
            : new ScottPlot.TickGenerators.NumericManual();
        plot.XLabel("Microseconds per row (log scale)");
        plot.YLabel(result.MetricName + " (validation)");
        plot.Title($"{result.Trials.Count} trials, {result.ParetoFront.Count} on the Pareto front ({result.Duration.TotalSeconds:F0} s)");
        plot.ShowLegend(Alignment.LowerRight);
        string? folder = Path.GetDirectoryName(Path.GetFullPath(path));
        if (folder != null && !Directory.Exists(folder))
            throw new DirectoryNotFoundException($"The folder of '{path}' does not exist.");
        plot.SavePng(path, width, height);
    }
}
