// The tabular benchmark suite (docs/tabular.md): for each set of scripts/fetch-tabular.sh, one seeded 80/20 split, and for
// each model the test metric (AUC, accuracy or R²), training seconds and median per-row PredictionEngine µs, as one Markdown
// table, then the issue's targets for the one-call Train against LightGBM. Usage (after scripts/fetch-tabular.sh):
//   dotnet run --project tools/FffTabularComparison -c Release -- [--sets a,b] [--models train,recipe,dense,moe,lightgbm,linear]
//       [--max-rows N] [--data DIR] [--write docs/tabular.md] [--latency-breakdown]
// --write replaces the text between the tabular-results markers of the given Markdown file. --latency-breakdown measures, for
// each set, where the one-call Train model's per-row Predict time goes (LatencyBreakdown.cs) instead of the suite's table.
using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Runtime.InteropServices;
using Microsoft.ML;
using MlNetFff.Tools;
using MlNetFff.Tools.Tabular;

CultureInfo.CurrentCulture = CultureInfo.InvariantCulture;
string dataDirectory = Environment.GetEnvironmentVariable("FFF_TABULAR_CACHE")
    ?? Path.Combine(Environment.GetEnvironmentVariable("FFF_DATA_CACHE") ?? Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".cache", "mlnetfff"), "tabular");
int? maxRows = null;
string? write = null;
bool breakdown = false;
List<TabularSet> sets = TabularSet.Suite.ToList();
List<TabularModel> models = TabularModel.All.ToList();
const string Usage = "Usage: [--sets a,b] [--models train,recipe,dense,moe,lightgbm,linear] [--max-rows N] [--data DIR] [--write file.md] [--latency-breakdown]";
for (int i = 0; i < args.Length; i++)
{
    string Next() => i + 1 < args.Length ? args[++i] : throw new ArgumentException($"{args[i]} needs a value. {Usage}");
    switch (args[i])
    {
        case "--sets": sets = Pick(Next(), TabularSet.Suite, s => s.Name); break;
        case "--models": models = Pick(Next(), TabularModel.All, m => m.Id); break;
        case "--max-rows": maxRows = int.Parse(Next(), CultureInfo.InvariantCulture); break;
        case "--data": dataDirectory = Next(); break;
        case "--write": write = Next(); break;
        case "--latency-breakdown": breakdown = true; break;
        default:
            Console.Error.WriteLine($"Unknown argument '{args[i]}'. {Usage}");
            return 2;
    }
}

var mlContext = new MLContext(seed: 0);
var results = new List<TabularResult>();
var breakdownSteps = new List<LatencyStep>();
var started = DateTime.UtcNow;
foreach (TabularSet set in sets)
{
    string path = Path.Combine(dataDirectory, set.Name + ".csv");
    if (!File.Exists(path))
    {
        Console.Error.WriteLine($"{path} is missing: run scripts/fetch-tabular.sh (or pass --data DIR).");
        return 1;
    }
    IDataView data = TabularSuite.Load(mlContext, path, set.Task, maxRows, set.Rows);
    if (breakdown)
        breakdownSteps.AddRange(LatencyBreakdown.Run(set, data, LatencySettings.Full, Console.Out));
    else
        results.AddRange(TabularSuite.Run(mlContext, set, data, models, LatencySettings.Full, Console.Out));
}
if (breakdown)
{
    Console.WriteLine();
    Console.WriteLine($"Per-row µs: median of {LatencySettings.Full.TimedCalls:N0} calls after {LatencySettings.Full.WarmupSeconds:F0} s of warm-up; " +
        $"{Environment.ProcessorCount} logical cores, .NET {Environment.Version}.");
    Console.WriteLine();
    Console.WriteLine(LatencyBreakdown.Table(breakdownSteps));
    return 0;
}

string command = "dotnet run --project tools/FffTabularComparison -c Release --" + (args.Length > 0 ? " " + string.Join(" ", args) : "");
string header = $"Measured {started:yyyy-MM-dd HH:mm} UTC in {(DateTime.UtcNow - started).TotalMinutes:F0} min with `{command}`; " +
    $"{Environment.ProcessorCount} logical cores, {RuntimeInformation.OSDescription.Trim()}, .NET {Environment.Version}. " +
    $"MLContext seed 0, one 80/20 split (seed 0) per set{(maxRows is int m ? $", sets above {m:N0} rows subsampled to {m:N0} (seed 0)" : "")}. " +
    $"Per-row µs: median of {LatencySettings.Full.TimedCalls:N0} single-row `PredictionEngine.Predict` calls on the raw columns after " +
    $"{LatencySettings.Full.WarmupSeconds:F0} s of warm-up calls. Training s: `Fit` (or `Train`) of the whole pipeline, featurization included.";
string table = string.Join(Environment.NewLine, header, "", TabularSuite.ResultsTable(results), "",
    "Targets of the one-call `Train` against LightGBM (issue 17):", "", TabularSuite.TargetsTable(results));
Console.WriteLine();
Console.WriteLine(table);
if (write != null)
{
    MarkedSection.Replace(write, "tabular-results", table);
    Console.WriteLine($"Wrote the table into {write}.");
}
return 0;

static List<T> Pick<T>(string list, IReadOnlyList<T> all, Func<T, string> id)
{
    var picked = new List<T>();
    foreach (string name in list.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
    {
        picked.Add(all.FirstOrDefault(x => string.Equals(id(x), name, StringComparison.OrdinalIgnoreCase))
            ?? throw new ArgumentException($"Unknown name '{name}'; one of: {string.Join(", ", all.Select(id))}."));
    }
    return picked;
}
