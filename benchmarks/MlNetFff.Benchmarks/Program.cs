using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using BenchmarkDotNet.Loggers;
using BenchmarkDotNet.Reports;

namespace MlNetFff.Benchmarks;

/// <summary>
/// Runs the benchmarks and prints the target ratios. Arguments: <c>--only Name1,Name2</c> (class names or parts of them,
/// e.g. <c>PerRow,Floor</c>), <c>--quick</c> (fewer iterations), <c>--smoke</c> (tiny data and one width, one cold
/// invocation each: checks that everything runs), <c>--widths 1024,4096</c> (only these training widths), <c>--models Fff,Dense</c> (only these neural models), <c>--artifacts DIR</c>
/// (default BenchmarkDotNet.Artifacts), <c>--write docs/benchmarks.md</c> (put the tables between that file's results markers).
/// </summary>
public static class Program
{
    /// <summary>Entry point; returns 1 when a benchmark failed.</summary>
    public static int Main(string[] args)
    {
        bool quick = args.Contains("--quick");
        bool smoke = args.Contains("--smoke");
        string artifacts = Argument(args, "--artifacts") ?? Path.GetFullPath("BenchmarkDotNet.Artifacts");
        string[] only = Argument(args, "--only")?.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries) ?? Array.Empty<string>();
        BenchmarkModels.Smoke = smoke;
        if (Argument(args, "--models") is { } models)
            BenchmarkModels.OnlyModels = models.Split(',').Select(m => Enum.Parse<ModelKind>(m, ignoreCase: true)).ToArray();
        if (Argument(args, "--widths") is { } widths)
            BenchmarkModels.OnlyWidths = widths.Split(',').Select(int.Parse).ToArray();

        Type[] selected = BenchmarkSuite.All
            .Where(t => only.Length == 0 || only.Any(o => t.Name.Contains(o, StringComparison.OrdinalIgnoreCase)))
            .ToArray();
        if (selected.Length == 0)
        {
            Console.Error.WriteLine($"No benchmark class matches --only {string.Join(",", only)}; the classes are: {string.Join(", ", BenchmarkSuite.All.Select(t => t.Name))}.");
            return 2;
        }

        var summaries = new List<Summary>();
        bool failed = false;
        foreach (Type type in selected)
        {
            Summary summary = BenchmarkSuite.Run(type, dry: smoke, quick, artifacts, ConsoleLogger.Default);
            summaries.Add(summary);
            if (!BenchmarkSuite.Succeeded(summary, out string problems))
            {
                Console.Error.WriteLine($"{type.Name}: {problems}");
                failed = true;
            }
        }
        string machine = $"{Environment.ProcessorCount} logical cores, {Environment.OSVersion}, .NET {Environment.Version}";
        string ratios = BenchmarkSuite.RatioTable(summaries);
        Console.WriteLine();
        Console.WriteLine($"Machine: {machine}.");
        Console.WriteLine(ratios);
        if (Argument(args, "--write") is { } document)
            WriteResults(document, string.Join(" ", args), summaries, ratios);
        return failed ? 1 : 0;
    }

    /// <summary>Replaces the text between the results markers of <paramref name="document"/> with this run's tables.</summary>
    private static void WriteResults(string document, string arguments, IReadOnlyList<Summary> summaries, string ratios)
    {
        const string begin = "<!-- benchmarks:begin -->", end = "<!-- benchmarks:end -->";
        string text = File.ReadAllText(document);
        int from = text.IndexOf(begin, StringComparison.Ordinal), to = text.IndexOf(end, StringComparison.Ordinal);
        if (from < 0 || to < from)
            throw new InvalidOperationException($"{document} has no {begin} ... {end} markers to write the results between.");
        var section = new System.Text.StringBuilder();
        section.AppendLine(begin);
        section.AppendLine($"Written by `dotnet run --project benchmarks/MlNetFff.Benchmarks -c Release -- {arguments}` on {DateTime.UtcNow:yyyy-MM-dd}.");
        section.AppendLine();
        section.AppendLine("### Target ratios (medians)");
        section.AppendLine();
        section.AppendLine(ratios);
        foreach (Summary summary in summaries)
        {
            var logger = new AccumulationLogger();
            BenchmarkDotNet.Exporters.MarkdownExporter.GitHub.ExportToLog(summary, logger);
            section.AppendLine($"### {summary.BenchmarksCases.FirstOrDefault()?.Descriptor.Type.Name}");
            section.AppendLine();
            section.AppendLine(logger.GetLog().Trim());
            section.AppendLine();
        }
        File.WriteAllText(document, text.Substring(0, from) + section + text.Substring(to));
        Console.WriteLine($"Wrote the results into {document}.");
    }

    private static string? Argument(string[] args, string name)
    {
        int i = Array.IndexOf(args, name);
        return i >= 0 && i + 1 < args.Length ? args[i + 1] : null;
    }
}
