// The tabular benchmark suite (docs/tabular.md): for each set of scripts/fetch-tabular.sh, one seeded 80/20 split, and for
// each model the test metric (AUC, accuracy or R²), training seconds and median per-row PredictionEngine µs, as one Markdown
// table, then the issue's targets for the one-call Train against LightGBM. Usage (after scripts/fetch-tabular.sh):
//   dotnet run --project tools/FffTabularComparison -c Release -- [--sets a,b] [--models train,recipe,dense16,dense,dense64,dense128,moe,lightgbm,linear]
//       [--max-rows N] [--seeds N] [--seed S] [--ensemble K] [--data DIR] [--write docs/tabular.md] [--plot file.png] [--log] [--text N] [--stage none,quantile,...] [--latency-breakdown] [--heldout] [--train-option Name=Value,...]
// --write replaces the text between the tabular-results and the tabular-fronts markers of the given Markdown file.
// --seeds N runs every cell on N splits and training seeds (S .. S+N-1, --seed S, default 0) and reports means (Seeds.cs); the default is one seed.
// --ensemble K trains the FFF rows (train, recipe) with K leaf trees (EnsembleSize); each FFF row logs its neurons per row.
// The models dense16, dense, dense64 and dense128 are Dense 16 .. 128; after the main table comes each set's accuracy–latency
// front (Fronts.cs); --plot FILE.png draws it, one panel per set (tools/Shared/FrontPlot.cs).
// --text N measures the text path instead (TextProbe.cs): N synthetic reviews, Fff().Train against LightGBM on FeaturizeText.
// --log also prints the messages of Train's planner and the FFF trainers: the choices, every epoch, and where the training time went.
// --stage runs the network rows (train, recipe, dense, MoE) once per input stage (docs/input-stages.md); the other rows run once.
// --train-option Name=Value[,Name=Value] sets FffAutoTrainOptions of the one-call Train row (for diagnosis, e.g. NumberOfEpochs=200,
// EarlyStoppingPatience=0 or Depth=4); the row's name lists them.
// --heldout runs the held-out group instead of the suite (scripts/fetch-tabular-heldout.sh; sets never used for tuning) from the
// heldout subdirectory of the data directory; --sets then picks among the held-out sets.
// --latency-breakdown measures, for each set, where the one-call Train model's per-row Predict time goes (LatencyBreakdown.cs)
// instead of the suite's table.
// --featurizer-timing times the Train model's featurization step alone on an array-backed row (FeaturizerTiming.cs) instead.
// --csv PATH runs your own CSV files instead of the suite: PATH is a file or a directory of files named NAME.TASK.csv (TASK is
// binary, multiclass or regression), each with a header and a Label column (true/false for binary); a column whose first value
// is quoted or not a number is categorical (TabularSet.FromCsv, TabularSuite.Load); --sets then picks among them by NAME.
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
int seeds = 1;
int firstSeed = 0;
int? ensembleSize = null;
string? write = null;
string? plot = null;
bool trainerLog = false;
bool breakdown = false;
bool featurizerTiming = false;
int? textRows = null;
string? setNames = null;
bool heldOut = false;
string? csvPath = null;
var trainOptions = new List<string>();
List<TabularModel> models = TabularModel.All.ToList();
List<TabularStage> stages = new() { TabularStage.None };
const string Usage = "Usage: [--sets a,b] [--models train,recipe,dense16,dense,dense64,dense128,moe,lightgbm,linear] [--max-rows N] [--seeds N] [--seed S] [--ensemble K] [--data DIR] [--write file.md] [--plot file.png] [--log] [--text N] [--stage none,quantile,robust,ple,plr,ple8,plr8,quantile-ple,robust-plr] [--latency-breakdown] [--featurizer-timing] [--heldout] [--csv FILE.TASK.csv|DIR] [--train-option Name=Value,...]";
for (int i = 0; i < args.Length; i++)
{
    string Next() => i + 1 < args.Length ? args[++i] : throw new ArgumentException($"{args[i]} needs a value. {Usage}");
    switch (args[i])
    {
        case "--sets": setNames = Next(); break;
        case "--heldout": heldOut = true; break;
        case "--csv": csvPath = Next(); break;
        case "--train-option":
            trainOptions.AddRange(Next().Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));
            // Parsed once here so that a wrong name fails before any training.
            TabularSuite.WithTrainOptions(new Microsoft.ML.Fff.FffAutoTrainOptions(), trainOptions);
            break;
        case "--models": models = Pick(Next(), TabularModel.All, m => m.Id); break;
        case "--max-rows": maxRows = int.Parse(Next(), CultureInfo.InvariantCulture); break;
        case "--seeds":
            seeds = int.Parse(Next(), CultureInfo.InvariantCulture);
            if (seeds < 1)
                throw new ArgumentException($"--seeds must be at least 1, got {seeds}. {Usage}");
            break;
        case "--seed": firstSeed = int.Parse(Next(), CultureInfo.InvariantCulture); break;
        case "--ensemble": ensembleSize = int.Parse(Next(), CultureInfo.InvariantCulture); break;
        case "--data": dataDirectory = Next(); break;
        case "--write": write = Next(); break;
        case "--plot": plot = Next(); break;
        case "--log": trainerLog = true; break;
        case "--text": textRows = int.Parse(Next(), CultureInfo.InvariantCulture); break;
        case "--stage": stages = Pick(Next(), TabularStage.All, s => s.Id); break;
        case "--latency-breakdown": breakdown = true; break;
        case "--featurizer-timing": featurizerTiming = true; break;
        default:
            Console.Error.WriteLine($"Unknown argument '{args[i]}'. {Usage}");
            return 2;
    }
}

// Resolved after the loop so that --sets picks among the held-out sets whichever order the flags come in.
IReadOnlyList<TabularSet> group = csvPath != null ? TabularSet.FromCsv(csvPath) : heldOut ? TabularSet.HeldOut : TabularSet.Suite;
List<TabularSet> sets = setNames == null ? group.ToList() : Pick(setNames, group, s => s.Name);
if ((heldOut || csvPath != null) && write != null)
{
    // The markers of docs/tabular.md hold the suite's table; another group's run must not replace it.
    Console.Error.WriteLine("--write fills the suite's table and cannot be combined with --heldout or --csv; copy their table by hand.");
    return 2;
}
string setDirectory = heldOut ? Path.Combine(dataDirectory, TabularSet.HeldOutDirectory) : dataDirectory;

if (textRows is int reviews)
{
    TextProbe.Run(reviews, Console.Out);
    return 0;
}

var mlContext = new MLContext(seed: 0);
var results = new List<TabularResult>();
var breakdownSteps = new List<LatencyStep>();
var started = DateTime.UtcNow;
if (featurizerTiming)
    Console.WriteLine(FeaturizerTiming.Header);
foreach (TabularSet set in sets)
{
    string path = set.Path ?? Path.Combine(setDirectory, set.Name + ".csv");
    if (!File.Exists(path))
    {
        Console.Error.WriteLine($"{path} is missing: run scripts/{(heldOut ? "fetch-tabular-heldout.sh" : "fetch-tabular.sh")} (or pass --data DIR).");
        return 1;
    }
    IDataView data = TabularSuite.Load(mlContext, path, set.Task, maxRows, set.ExpectedRows);
    if (featurizerTiming)
    {
        FeaturizerTiming.Run(set, data, Console.Out);
        continue;
    }
    if (breakdown)
    {
        breakdownSteps.AddRange(LatencyBreakdown.Run(set, data, LatencySettings.Full, Console.Out));
        continue;
    }
    var setResults = new List<TabularResult>();
    for (int seed = firstSeed; seed < firstSeed + seeds; seed++)
    {
        for (int k = 0; k < stages.Count; k++)
        {
            // Only the network rows the stage applies to run again for the second and later stages.
            List<TabularModel> run = k == 0 ? models : models.Where(TabularStage.AppliesTo).ToList();
            setResults.AddRange(TabularSuite.Run(mlContext, set, data, run, LatencySettings.Full, Console.Out, seed, ensembleSize, trainerLog, stages[k], trainOptions));
        }
    }
    results.AddRange(Seeds.Aggregate(setResults));
}
if (featurizerTiming)
    return 0;
if (breakdown)
{
    Console.WriteLine();
    Console.WriteLine($"Per-row µs: median of {LatencySettings.Full.TimedCalls:N0} blocks of {TabularSuite.CallsPerBlock} calls (block time / {TabularSuite.CallsPerBlock}) after {LatencySettings.Full.WarmupSeconds:F0} s of warm-up; " +
        $"{Environment.ProcessorCount} logical cores, .NET {Environment.Version}.");
    Console.WriteLine();
    Console.WriteLine(LatencyBreakdown.Table(breakdownSteps));
    return 0;
}

string command = "dotnet run --project tools/FffTabularComparison -c Release --" + (args.Length > 0 ? " " + string.Join(" ", args) : "");
string header = $"Measured {started:yyyy-MM-dd HH:mm} UTC in {(DateTime.UtcNow - started).TotalMinutes:F0} min with `{command}`; " +
    $"{Environment.ProcessorCount} logical cores, {RuntimeInformation.OSDescription.Trim()}, .NET {Environment.Version}. " +
    (seeds == 1 ? $"MLContext seed {firstSeed}, one 80/20 split (seed {firstSeed}) per set"
        : $"{seeds} seeds per cell (80/20 split and MLContext seeds {firstSeed} to {firstSeed + seeds - 1}): metric = mean ± sample standard deviation, training s = mean, per-row µs = median of the seeds' medians; the targets use the means") +
    $"{(maxRows is int m ? $", sets above {m:N0} rows subsampled to {m:N0} (seed 0)" : "")}. " +
    $"Per-row µs: single-row `PredictionEngine.Predict` calls on the raw columns, timed in {LatencySettings.Full.TimedCalls:N0} blocks of {TabularSuite.CallsPerBlock} calls (the median block's time / {TabularSuite.CallsPerBlock}, so the timer's own cost is not counted per call) after " +
    $"{LatencySettings.Full.WarmupSeconds:F0} s of warm-up calls, once every model of the set is trained, in {TabularSuite.LatencyRounds} interleaved rounds (each model's fastest round). " +
    $"Training s: `Fit` (or `Train`) of the whole pipeline, featurization included, from data in memory; each model is first fitted once on {TabularSuite.WarmUpRows} rows (seeded draw), untimed, so no model pays the process's first-call costs (JIT, native libraries).";
string table = string.Join(Environment.NewLine, header, "", TabularSuite.ResultsTable(results), "",
    "Targets of the one-call `Train` against LightGBM (issue 17):", "", TabularSuite.TargetsTable(results));
string fronts = string.Join(Environment.NewLine, $"Accuracy–latency front per set (issue 17 item 8) of the run of {started:yyyy-MM-dd HH:mm} UTC (`{command}`)" +
    (seeds > 1 ? $" (means over {seeds} seeds)" : "") + ": bold rows are on the front (no other model at least as accurate and at least as fast); " +
    "for each FFF and MoE row, the fastest dense network at least as accurate and its µs divided by this row's µs (above 1x: the FFF/MoE row is faster).",
    "", Fronts.Table(results));
Console.WriteLine();
Console.WriteLine(table);
Console.WriteLine();
Console.WriteLine(fronts);
if (plot != null)
{
    FrontPlot.Save(plot, Fronts.Panels(results), Fronts.ShortLabel);
    Console.WriteLine($"Wrote the front plot into {plot}.");
}
if (write != null)
{
    MarkedSection.Replace(write, "tabular-results", table);
    MarkedSection.Replace(write, "tabular-fronts", fronts);
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
