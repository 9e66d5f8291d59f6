using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using System.Text;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Engines;
using BenchmarkDotNet.Exporters;
using BenchmarkDotNet.Jobs;
using BenchmarkDotNet.Loggers;
using BenchmarkDotNet.Columns;
using BenchmarkDotNet.Reports;
using BenchmarkDotNet.Running;
using BenchmarkDotNet.Toolchains.InProcess.Emit;

namespace MlNetFff.Benchmarks;

/// <summary>Which benchmarks exist, how each is run, and the ratio table of the issue's targets computed from the results.</summary>
public static class BenchmarkSuite
{
    /// <summary>Every benchmark class, scoring first.</summary>
    public static readonly Type[] All =
    {
        typeof(PerRowLatencyBenchmarks), typeof(DotFloorBenchmarks), typeof(ClampBenchmarks), typeof(RepeatedRowBenchmarks), typeof(LightGbmBenchmarks), typeof(BatchThroughputBenchmarks),
        typeof(TrainingEpochBenchmarks), typeof(LightGbmTrainingBenchmarks),
    };

    /// <summary>
    /// The job of a benchmark class. In process (the models are trained once per process and shared by the classes; no
    /// project is generated and rebuilt). Training runs take seconds per operation, so they get 1 warm-up and 3 measured
    /// iterations; batches (up to seconds per operation for wide dense models) 2 and 7 (3 with <paramref name="quick"/>);
    /// per-row scoring 3 and 15 (5 with <paramref name="quick"/>). <paramref name="dry"/>: one
    /// cold invocation (the test suite's check that every benchmark still runs).
    /// </summary>
    public static Job JobFor(Type benchmark, bool dry, bool quick)
    {
        Job job;
        if (dry)
            job = Job.Dry;
        else if (benchmark == typeof(TrainingEpochBenchmarks) || benchmark == typeof(LightGbmTrainingBenchmarks))
            job = Job.Default.WithStrategy(RunStrategy.Monitoring).WithLaunchCount(1).WithWarmupCount(1).WithIterationCount(3);
        else if (benchmark == typeof(BatchThroughputBenchmarks))
            job = Job.Default.WithLaunchCount(1).WithWarmupCount(2).WithIterationCount(quick ? 3 : 7);
        else
            job = Job.Default.WithLaunchCount(1).WithWarmupCount(3).WithIterationCount(quick ? 5 : 15);
        return job.WithToolchain(InProcessEmitToolchain.Instance);
    }

    /// <summary>Runs one benchmark class with its job; results and the GitHub-markdown table go under <paramref name="artifactsPath"/>.</summary>
    public static Summary Run(Type benchmark, bool dry, bool quick, string artifactsPath, ILogger logger)
    {
        IConfig config = ManualConfig.CreateEmpty()
            .AddJob(JobFor(benchmark, dry, quick))
            .AddColumnProvider(DefaultColumnProviders.Instance)
            .AddExporter(MarkdownExporter.GitHub)
            .AddLogger(logger)
            .WithArtifactsPath(artifactsPath)
            .WithOptions(ConfigOptions.JoinSummary);
        return BenchmarkRunner.Run(benchmark, config);
    }

    /// <summary>True when every benchmark case of the summary ran and produced a measurement.</summary>
    public static bool Succeeded(Summary summary, out string problems)
    {
        var errors = new List<string>();
        errors.AddRange(summary.ValidationErrors.Where(e => e.IsCritical).Select(e => "validation: " + e.Message));
        if (summary.Reports.Length != summary.BenchmarksCases.Length)
            errors.Add($"{summary.BenchmarksCases.Length - summary.Reports.Length} cases produced no report");
        errors.AddRange(summary.Reports.Where(r => !r.Success || r.ResultStatistics == null)
            .Select(r => $"{r.BenchmarkCase.DisplayInfo} failed"));
        problems = string.Join("; ", errors);
        return errors.Count == 0;
    }

    /// <summary>Median time per operation in nanoseconds of a method for given parameter values; NaN when absent.</summary>
    private static double Median(IEnumerable<Summary> summaries, Type benchmark, string method, params (string Name, object Value)[] parameters)
    {
        foreach (BenchmarkReport report in summaries.SelectMany(s => s.Reports))
        {
            BenchmarkCase c = report.BenchmarkCase;
            if (c.Descriptor.Type != benchmark || c.Descriptor.WorkloadMethod.Name != method || report.ResultStatistics == null)
                continue;
            if (parameters.All(p => c.Parameters.Items.Any(i => i.Name == p.Name && Equals(i.Value, p.Value))))
                return report.ResultStatistics.Median;
        }
        return double.NaN;
    }

    /// <summary>
    /// The issue's target ratios from the medians: FFF vs dense per row through PredictionEngine, FFF network vs the dot
    /// floor, FFF batch throughput vs dense, FFF vs LightGBM per row; as a markdown table.
    /// </summary>
    public static string RatioTable(IReadOnlyList<Summary> summaries)
    {
        var text = new StringBuilder();
        string F(double v, string format) => double.IsNaN(v) ? "—" : v.ToString(format, CultureInfo.InvariantCulture);
        double lightGbm = Median(summaries, typeof(LightGbmBenchmarks), nameof(LightGbmBenchmarks.PredictionEngine));
        double lightGbmBatch = Median(summaries, typeof(LightGbmBenchmarks), nameof(LightGbmBenchmarks.Transform));
        text.AppendLine("| width | FFF PE µs | dense PE µs | dense/FFF (PE) | FFF network µs | dot floor µs | row-dots floor µs | FFF network/floor | FFF PE/floor | FFF PE/row-dots floor | "
            + "FFF batch rows/s | dense batch rows/s | FFF/dense (batch) | FFF Transform rows/s | FFF batched Transform rows/s | dense Transform rows/s | dense batched Transform rows/s | FFF/dense (batched Transform) | LightGBM PE/FFF PE |");
        text.AppendLine("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |");
        foreach (int width in BenchmarkModels.Widths)
        {
            double fffPe = Median(summaries, typeof(PerRowLatencyBenchmarks), "PredictionEngine", ("Model", ModelKind.Fff), ("Width", width)) / 1000;
            double densePe = Median(summaries, typeof(PerRowLatencyBenchmarks), "PredictionEngine", ("Model", ModelKind.Dense), ("Width", width)) / 1000;
            double fffNet = Median(summaries, typeof(PerRowLatencyBenchmarks), "NetworkOnly", ("Model", ModelKind.Fff), ("Width", width)) / 1000;
            double floor = Median(summaries, typeof(DotFloorBenchmarks), nameof(DotFloorBenchmarks.TouchedWeightsDot), ("Width", width)) / 1000;
            double rowFloor = Median(summaries, typeof(DotFloorBenchmarks), nameof(DotFloorBenchmarks.TouchedWeightsRowDots), ("Width", width)) / 1000;
            double rows = BatchThroughputBenchmarks.Rows;
            double fffBatch = rows / (Median(summaries, typeof(BatchThroughputBenchmarks), "ScoreBatch", ("Model", ModelKind.Fff), ("Width", width)) / 1e9);
            double denseBatch = rows / (Median(summaries, typeof(BatchThroughputBenchmarks), "ScoreBatch", ("Model", ModelKind.Dense), ("Width", width)) / 1e9);
            double fffTransform = rows / (Median(summaries, typeof(BatchThroughputBenchmarks), "Transform", ("Model", ModelKind.Fff), ("Width", width)) / 1e9);
            double denseTransform = rows / (Median(summaries, typeof(BatchThroughputBenchmarks), "Transform", ("Model", ModelKind.Dense), ("Width", width)) / 1e9);
            double fffBatched = rows / (Median(summaries, typeof(BatchThroughputBenchmarks), "BatchedTransform", ("Model", ModelKind.Fff), ("Width", width)) / 1e9);
            double denseBatched = rows / (Median(summaries, typeof(BatchThroughputBenchmarks), "BatchedTransform", ("Model", ModelKind.Dense), ("Width", width)) / 1e9);
            text.AppendLine($"| {width} | {F(fffPe, "0.00")} | {F(densePe, "0.0")} | {F(densePe / fffPe, "0.0")}x | {F(fffNet, "0.00")} | {F(floor, "0.00")} | {F(rowFloor, "0.00")} | "
                + $"{F(fffNet / floor, "0.00")}x | {F(fffPe / floor, "0.00")}x | {F(fffPe / rowFloor, "0.00")}x | {F(fffBatch, "N0")} | {F(denseBatch, "N0")} | {F(fffBatch / denseBatch, "0.0")}x | "
                + $"{F(fffTransform, "N0")} | {F(fffBatched, "N0")} | {F(denseTransform, "N0")} | {F(denseBatched, "N0")} | {F(fffBatched / denseBatched, "0.0")}x | {F(lightGbm / 1000 / fffPe, "0.0")}x |");
        }
        text.AppendLine();
        text.AppendLine($"LightGBM (defaults): PredictionEngine {F(lightGbm / 1000, "0.0")} µs per row; Transform {F(BatchThroughputBenchmarks.Rows / (lightGbmBatch / 1e9), "N0")} rows/s.");
        text.AppendLine($"Models trained on {BenchmarkModels.DataDescription}.");
        return text.ToString();
    }
}
