// The core of the tabular benchmark suite (docs/tabular.md): loading a set's CSV, the seeded split, the six models, their
// metric, training time and per-row PredictionEngine latency, and the Markdown tables. Program.cs is the command line;
// Microsoft.ML.Fff.Tests/TabularSuiteTests.cs compiles this file too and runs it on small synthetic sets.
#nullable enable
using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Reflection;
using System.Reflection.Emit;
using System.Text;
using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Fff;
using Microsoft.ML.Fff.Dense;
using Microsoft.ML.Fff.FastFeedForward;

namespace MlNetFff.Tools.Tabular;

internal enum TabularTask { Binary, Multiclass, Regression }

/// <summary>
/// One set of the suite: its CSV file name (without .csv), task, expected data rows and where it comes from; <see cref="Path"/> is
/// set for a user's own file (<see cref="FromCsv"/>), whose rows are not checked.
/// </summary>
internal sealed record TabularSet(string Name, TabularTask Task, int Rows, string Source, string Description, string? Path = null)
{
    /// <summary>
    /// A user's own sets: <paramref name="path"/> is one file or a directory of files named <c>NAME.TASK.csv</c>, where TASK is
    /// <c>binary</c>, <c>multiclass</c> or <c>regression</c> (the file's format is <see cref="TabularSuite.Load"/>'s).
    /// </summary>
    public static IReadOnlyList<TabularSet> FromCsv(string path)
    {
        string[] files = Directory.Exists(path) ? Directory.GetFiles(path, "*.csv").Order(StringComparer.Ordinal).ToArray()
            : File.Exists(path) ? new[] { path }
            : throw new FileNotFoundException($"--csv {path}: no such file or directory.", path);
        var sets = new List<TabularSet>();
        foreach (string file in files)
        {
            string[] parts = System.IO.Path.GetFileName(file).Split('.');
            TabularTask task = parts.Length == 3 && Enum.TryParse(parts[1], ignoreCase: true, out TabularTask parsed) && Enum.IsDefined(parsed) ? parsed
                : throw new ArgumentException($"--csv {file}: name the file NAME.TASK.csv, where TASK is binary, multiclass or regression (e.g. prices.regression.csv).", nameof(path));
            sets.Add(new TabularSet(parts[0], task, 0, file, $"{task.ToString().ToLowerInvariant()} label of {System.IO.Path.GetFileName(file)}", file));
        }
        if (sets.Count == 0)
            throw new ArgumentException($"--csv {path}: the directory holds no .csv file.", nameof(path));
        return sets;
    }

    /// <summary>The data rows the file must hold (<see cref="TabularSuite.Load"/> checks them); <c>null</c> for a user's own file.</summary>
    public int? ExpectedRows => Path == null ? Rows : null;

    /// <summary>The ten sets written by scripts/fetch-tabular.sh (row counts after dropping incomplete rows).</summary>
    public static readonly IReadOnlyList<TabularSet> Suite = new TabularSet[]
    {
        new("fertility", TabularTask.Binary, 254_654, "r-cran-aer Fertility", "more than two children"),
        new("hmda", TabularTask.Binary, 2_380, "r-cran-aer HMDA", "mortgage denied"),
        new("fair", TabularTask.Binary, 6_366, "python3-statsmodels fair", "any affair"),
        new("anes96", TabularTask.Multiclass, 944, "python3-statsmodels anes96", "party identification, 7 classes"),
        new("chile", TabularTask.Multiclass, 2_431, "r-cran-cardata Chile", "intended vote, 4 classes"),
        new("wine", TabularTask.Multiclass, 178, "python3-sklearn wine", "cultivar, 3 classes"),
        new("cps1988", TabularTask.Regression, 28_155, "r-cran-aer CPS1988", "log weekly wage"),
        new("cpssw8", TabularTask.Regression, 61_395, "r-cran-aer CPSSW8", "log hourly earnings"),
        new("randhie", TabularTask.Regression, 20_190, "python3-statsmodels randhie", "doctor visits"),
        new("star98", TabularTask.Regression, 303, "python3-statsmodels star98", "share above the math median"),
    };

    /// <summary>
    /// The held-out group written by scripts/fetch-tabular-heldout.sh into the <see cref="HeldOutDirectory"/> subdirectory of the
    /// cache: sets never used to tune the defaults (docs/tabular.md, "Held-out sets"), run with <c>--heldout</c>.
    /// </summary>
    public static readonly IReadOnlyList<TabularSet> HeldOut = new TabularSet[]
    {
        new("letter", TabularTask.Multiclass, 20_000, "r-cran-mlbench LetterRecognition", "capital letter, 26 classes"),
        new("satellite", TabularTask.Multiclass, 6_435, "r-cran-mlbench Satellite", "Landsat soil/crop class, 6 classes"),
        new("vehicle", TabularTask.Multiclass, 846, "r-cran-mlbench Vehicle", "vehicle silhouette, 4 classes"),
        new("spam", TabularTask.Binary, 4_601, "r-cran-kernlab spam", "e-mail is spam"),
        new("pima", TabularTask.Binary, 768, "r-cran-mlbench PimaIndiansDiabetes", "diabetes test positive"),
        new("income", TabularTask.Binary, 6_876, "r-cran-kernlab income", "household income of $50,000 or more"),
        new("swisslabor", TabularTask.Binary, 872, "r-cran-aer SwissLabor", "labour force participation"),
        new("boston", TabularTask.Regression, 506, "r-cran-mlbench BostonHousing", "median home value"),
        new("houseprices", TabularTask.Regression, 546, "r-cran-aer HousePrices", "log sale price"),
        new("psid7682", TabularTask.Regression, 4_165, "r-cran-aer PSID7682", "log wage"),
        new("soybean", TabularTask.Multiclass, 683, "r-cran-mlbench Soybean", "disease, 19 classes"),
        new("diamonds", TabularTask.Multiclass, 53_940, "r-cran-ggplot2 diamonds", "cut grade, 5 classes"),
        new("concrete", TabularTask.Regression, 1_030, "r-cran-modeldata concrete", "compressive strength"),
        new("wachurn", TabularTask.Binary, 7_032, "r-cran-modeldata wa_churn", "telco customer churned"),
        new("creditdata", TabularTask.Binary, 4_039, "r-cran-modeldata credit_data", "bad credit"),
        new("mlcchurn", TabularTask.Binary, 5_000, "r-cran-modeldata mlc_churn", "telecom customer churned"),
        new("attrition", TabularTask.Binary, 1_470, "r-cran-modeldata attrition", "employee left"),
        new("ames", TabularTask.Regression, 2_930, "r-cran-modeldata ames", "log10 sale price"),
        new("shuttle", TabularTask.Multiclass, 58_000, "r-cran-mlbench Shuttle", "radiator state, 7 classes"),
        new("diamondsprice", TabularTask.Regression, 53_940, "r-cran-ggplot2 diamonds", "price in dollars"),
    };

    /// <summary>The subdirectory of the tabular cache that holds the <see cref="HeldOut"/> sets.</summary>
    public const string HeldOutDirectory = "heldout";

    public string MetricName => Task switch { TabularTask.Binary => "AUC", TabularTask.Multiclass => "accuracy", _ => "R²" };
}

/// <summary>
/// The models of the suite, in table order; <see cref="Id"/> is what <c>--models</c> takes. <see cref="DenseWidth"/> is the hidden
/// width of a dense network (null for the other models).
/// </summary>
internal sealed record TabularModel(string Id, string Name, int? DenseWidth = null)
{
    public static readonly TabularModel Train = new("train", "FFF `Fff().Train` (defaults)");
    public static readonly TabularModel Recipe = new("recipe", "FFF hand recipe");
    public static readonly TabularModel Dense = new("dense", "Dense 32", 32);
    // Narrower and wider dense networks for the accuracy–latency front (Fronts.cs): a dense net as fast as the FFF rows.
    public static readonly TabularModel Dense16 = new("dense16", "Dense 16", 16);
    public static readonly TabularModel Dense64 = new("dense64", "Dense 64", 64);
    public static readonly TabularModel Dense128 = new("dense128", "Dense 128", 128);
    public static readonly TabularModel Moe = new("moe", "MoE (defaults)");
    public static readonly TabularModel LightGbm = new("lightgbm", "LightGBM (defaults)");
    public static readonly TabularModel Linear = new("linear", "Linear (L-BFGS; SDCA for regression)");
    public static readonly IReadOnlyList<TabularModel> All = new[] { Train, Recipe, Dense16, Dense, Dense64, Dense128, Moe, LightGbm, Linear };
}

/// <summary>
/// An input stage applied to the hand-built network rows (recipe, dense, MoE) with <c>--stage</c> (docs/input-stages.md);
/// <see cref="Id"/> is what the flag takes.
/// </summary>
internal sealed record TabularStage(string Id, FffFeatureScaling Scaling, FffNumericEmbedding Embedding, int Width = FffDefaults.NumericEmbeddingWidth,
    int Size = FffDefaults.NumericEmbeddingBins)
{
    public static readonly TabularStage None = new("none", FffFeatureScaling.Auto, FffNumericEmbedding.None);
    public static readonly IReadOnlyList<TabularStage> All = new[]
    {
        None,
        new TabularStage("quantile", FffFeatureScaling.QuantileNormal, FffNumericEmbedding.None),
        new TabularStage("robust", FffFeatureScaling.RobustSmoothClip, FffNumericEmbedding.None),
        new TabularStage("ple", FffFeatureScaling.Auto, FffNumericEmbedding.PiecewiseLinear),
        new TabularStage("plr", FffFeatureScaling.Auto, FffNumericEmbedding.Periodic),
        new TabularStage("ple8", FffFeatureScaling.Auto, FffNumericEmbedding.PiecewiseLinear, Width: 8, Size: 8),
        new TabularStage("plr8", FffFeatureScaling.Auto, FffNumericEmbedding.Periodic, Width: 8, Size: 8),
        new TabularStage("quantile-ple", FffFeatureScaling.QuantileNormal, FffNumericEmbedding.PiecewiseLinear),
        new TabularStage("robust-plr", FffFeatureScaling.RobustSmoothClip, FffNumericEmbedding.Periodic),
    };

    /// <summary>Sets the stage's options (<see cref="Size"/> is the bins of PLE and the frequencies of PLR).</summary>
    public T Apply<T>(T options) where T : FeedForwardOptionsBase
    {
        options.FeatureScaling = Scaling;
        options.NumericEmbedding = Embedding;
        options.NumericEmbeddingWidth = Width;
        options.NumericEmbeddingBins = Size;
        options.NumericEmbeddingFrequencies = Size;
        return options;
    }

    /// <summary>
    /// Whether a stage applies to <paramref name="model"/>: the network rows (the one-call Train, the recipe, every dense width, MoE).
    /// Train takes the stage's scaling and embedding kind only (<c>FffAutoTrainOptions</c>), at the default width, bins and frequencies.
    /// </summary>
    public static bool AppliesTo(TabularModel model) => model == TabularModel.Train || model == TabularModel.Recipe || model.DenseWidth is not null || model == TabularModel.Moe;
}

/// <summary>
/// One cell row of the table; <see cref="Error"/> is set (and the numbers are not) when the model failed. Over several seeds
/// (Seeds.cs) the numbers are the mean metric, mean training seconds and median µs, and <see cref="MetricStd"/> the metric's
/// sample standard deviation over <see cref="Seeds"/> seeds (NaN for one seed).
/// </summary>
internal sealed record TabularResult(TabularSet Set, int TrainRows, int TestRows, TabularModel Model,
    double Metric, double TrainSeconds, double MicrosecondsPerRow, string? Error)
{
    public int Seeds { get; init; } = 1;

    public double MetricStd { get; init; } = double.NaN;
}

/// <summary>
/// How long latency is measured: the full suite warms up for seconds (tiered compilation), the tests briefly; <c>TimedCalls</c>
/// is the number of timed blocks of <see cref="TabularSuite.CallsPerBlock"/> calls.
/// </summary>
internal sealed record LatencySettings(double WarmupSeconds, int TimedCalls)
{
    public static readonly LatencySettings Full = new(2.0, 2000);
}

internal static class TabularSuite
{
    public const string LabelColumn = "Label";
    private const string FeaturesColumn = "Features";

    /// <summary>
    /// Loads a set's CSV: the label typed by the task (Boolean, String, Single), every column whose first value is quoted or is not
    /// a number as a String (categorical; files written by pandas leave plain words unquoted), the others as Single. With
    /// <paramref name="maxRows"/>, a seeded random subsample of that many rows.
    /// </summary>
    public static IDataView Load(MLContext mlContext, string path, TabularTask task, int? maxRows, int? expectedRows)
    {
        // An empty first value is a missing number; anything else that does not parse as one is a category.
        static bool IsText(string value) => value.StartsWith('"')
            || (value.Length > 0 && !float.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out _));
        string[] lines = File.ReadLines(path).Take(2).ToArray();
        if (lines.Length < 2)
            throw new InvalidDataException($"{path} has no data rows.");
        string[] names = lines[0].Split(',').Select(n => n.Trim('"')).ToArray();
        string[] first = lines[1].Split(',');
        if (first.Length != names.Length)
            throw new InvalidDataException($"{path}: the first data row has {first.Length} fields, the header {names.Length}.");
        var columns = new TextLoader.Column[names.Length];
        for (int i = 0; i < names.Length; i++)
        {
            DataKind kind = names[i] == LabelColumn
                ? task switch { TabularTask.Binary => DataKind.Boolean, TabularTask.Multiclass => DataKind.String, _ => DataKind.Single }
                : IsText(first[i]) ? DataKind.String : DataKind.Single;
            columns[i] = new TextLoader.Column(names[i], kind, i);
        }
        if (!names.Contains(LabelColumn))
            throw new InvalidDataException($"{path} has no '{LabelColumn}' column.");
        IDataView data = mlContext.Data.Cache(mlContext.Data.LoadFromTextFile(path, columns, separatorChar: ',', hasHeader: true, allowQuoting: true));
        long rows = CountRows(data);
        if (expectedRows is int expected && rows != expected)
            throw new InvalidDataException($"{path} has {rows} data rows, expected {expected}; rerun scripts/fetch-tabular.sh (scripts/fetch-tabular-heldout.sh for the held-out sets).");
        if (maxRows is int max && rows > max)
        {
            // A pool as large as the set makes the shuffle a true permutation, so the subsample is uniform over all rows.
            data = mlContext.Data.Cache(mlContext.Data.TakeRows(mlContext.Data.ShuffleRows(data, seed: 0, shufflePoolSize: (int)rows), max));
        }
        return data;
    }

    /// <summary>
    /// Runs the chosen models on one set: one 80/20 split of seed <paramref name="seed"/> shared by every model, each trained in a
    /// context of that seed. A model that throws gets its error in its row.
    /// </summary>
    /// <param name="trainerLog">
    /// When true, the messages of <c>Fff().Train</c>'s planner and of the FFF trainers (the choices and why, every epoch, early stops,
    /// the kept epoch and the time each part of training took) are written to <paramref name="log"/> too.
    /// </param>
    /// <param name="ensembleSize">When set, the FFF rows (train, recipe) train this many leaf trees (<c>EnsembleSize</c>); null keeps their own choice.</param>
    /// <param name="trainOptions">
    /// "Name=Value" settings of <see cref="FffAutoTrainOptions"/> for the one-call Train row (<c>--train-option</c>, see
    /// <see cref="WithTrainOptions"/>), named in its row; null or empty trains it at its defaults.
    /// </param>
    /// <param name="warmUp">Whether each model not yet fitted in this process is first fitted once, untimed (<see cref="WarmUp"/>).</param>
    public static List<TabularResult> Run(MLContext mlContext, TabularSet set, IDataView data, IReadOnlyCollection<TabularModel> models,
        LatencySettings latency, TextWriter log, int seed = 0, int? ensembleSize = null, bool trainerLog = false, TabularStage? stage = null,
        IReadOnlyList<string>? trainOptions = null, bool warmUp = true)
    {
        trainOptions ??= Array.Empty<string>();
        stage ??= TabularStage.None;
        DataOperationsCatalog.TrainTestData split = mlContext.Data.TrainTestSplit(data, testFraction: 0.2, seed: seed);
        IDataView train = mlContext.Data.Cache(split.TrainSet), test = mlContext.Data.Cache(split.TestSet);
        // Every column read into memory before any model is timed: ML.NET's cache fills a column on its first read, and that read
        // parses the CSV, so the model trained first (always Train) was charged with parsing the file for every model after it.
        int trainRows = (int)ReadAllColumns(train), testRows = (int)ReadAllColumns(test);
        var results = new List<TabularResult>();
        var predicts = new List<(int Index, Action<int> Call)>();
        if (warmUp)
            WarmUp(set, train, models, ensembleSize, stage, trainOptions, log);
        foreach (TabularModel model in TabularModel.All.Where(models.Contains))
        {
            bool staged = stage != TabularStage.None && TabularStage.AppliesTo(model);
            TabularModel shown = staged ? model with { Name = $"{model.Name}, stage {stage.Id}" } : model;
            if (model == TabularModel.Train && trainOptions.Count > 0)
                shown = shown with { Name = $"{shown.Name}, {string.Join(", ", trainOptions)}" };
            log.WriteLine($"== {set.Name}: {shown.Name} ({trainRows} training rows, seed {seed})");
            TabularResult result;
            try
            {
                // A fresh context of the same seed per model: trainers draw their seeds from the context, so a shared one would make
                // each cell depend on which sets and models ran before it (--sets, --models).
                var context = new MLContext(seed: seed);
                if (trainerLog)
                {
                    context.Log += (_, e) =>
                    {
                        if (e.Kind is Microsoft.ML.Runtime.ChannelMessageKind.Info or Microsoft.ML.Runtime.ChannelMessageKind.Warning
                            && (e.Source.StartsWith("FastFeedForward", StringComparison.Ordinal) || e.Source.StartsWith("FffAutoTrain", StringComparison.Ordinal)))
                            log.WriteLine("   " + e.Message);
                    };
                }
                Settle();
                TimeSpan processor = Process.GetCurrentProcess().TotalProcessorTime;
                var clock = Stopwatch.StartNew();
                ITransformer fitted = Fit(context, set.Task, model, train, ensembleSize, stage, trainOptions);
                double seconds = clock.Elapsed.TotalSeconds;
                if (trainerLog)
                {
                    // On a shared machine the wall time moves with the other processes; the process's CPU time much less.
                    log.WriteLine($"   fit: {seconds:F2} s wall, {(Process.GetCurrentProcess().TotalProcessorTime - processor).TotalSeconds:F2} s CPU (all threads of the process)");
                }
                double metric = Evaluate(context, set.Task, fitted.Transform(test));
                predicts.Add((results.Count, PredictCall(context, set.Task, fitted, test)));
                result = new(set, trainRows, testRows, shown, metric, seconds, double.NaN, null);
            }
            catch (Exception e)
            {
                // Recorded in the table (and logged in full) so one failing model does not end a long run.
                log.WriteLine(e.ToString());
                result = new(set, trainRows, testRows, shown, double.NaN, double.NaN, double.NaN, $"{e.GetType().Name}: {e.Message}");
            }
            results.Add(result);
        }

        // Per-row latency once every model of the set is trained, in LatencyRounds interleaved rounds (the first with the warm-up),
        // each model's µs the fastest of its rounds' medians: this machine's speed drifts by up to 2-3x over a run, and measuring
        // each model right after its own training put the models' µs in different periods of that drift.
        var best = predicts.ToDictionary(p => p.Index, _ => double.PositiveInfinity);
        for (int round = 0; round < LatencyRounds; round++)
        {
            foreach ((int index, Action<int> call) in predicts)
            {
                if (double.IsNaN(best[index]))
                    continue;
                try
                {
                    best[index] = Math.Min(best[index], MedianMicroseconds(call, latency, warmUp: round == 0));
                }
                catch (Exception e)
                {
                    log.WriteLine(e.ToString());
                    results[index] = results[index] with { Error = $"{e.GetType().Name}: {e.Message}" };
                    best[index] = double.NaN;
                }
            }
        }
        for (int i = 0; i < results.Count; i++)
        {
            if (best.TryGetValue(i, out double micros) && results[i].Error is null)
                results[i] = results[i] with { MicrosecondsPerRow = micros };
            log.WriteLine(FormatRow(results[i]));
        }
        return results;
    }

    /// <summary>
    /// Starts each timed fit from a collected heap: a full blocking collection with its finalizers (the previous fit's garbage and
    /// native handles), then a pause for the runtime's background compilation of the methods the previous fit made hot.
    /// (LightGBM fitted after `Train` in one process was still slower than alone in a process, 6.0 s against 3.8–4.4 s summed over
    /// the suite; docs/tabular.md, "Every column read before any model is timed".)
    /// </summary>
    private static void Settle()
    {
        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();
        System.Threading.Thread.Sleep(SettleMilliseconds);
    }

    private const int SettleMilliseconds = 300;

    /// <summary>Interleaved rounds of the per-row latency measurement; each model keeps its fastest round's median.</summary>
    public const int LatencyRounds = 3;

    // Models already fitted once in this process (WarmUp).
    private static readonly HashSet<TabularModel> s_warmedUp = new();

    /// <summary>Rows of the untimed warm-up fit.</summary>
    public const int WarmUpRows = 300;

    /// <summary>
    /// Fits each model not yet fitted in this process once, untimed, on <see cref="WarmUpRows"/> training rows drawn with a fixed
    /// seed (not the first rows: a file sorted by its label, such as spam, starts with one class): the first fit of a process
    /// compiles (JIT) ML.NET's and the model's code and loads its native library, about a second, and the model that ran first
    /// (always Train) also compiled the data-view code every model after it shares. A failure here is logged and left to the
    /// timed fit, which records it in the table; the model is tried again before the next set's fits.
    /// </summary>
    private static void WarmUp(TabularSet set, IDataView train, IReadOnlyCollection<TabularModel> models, int? ensembleSize, TabularStage stage,
        IReadOnlyList<string> trainOptions, TextWriter log)
    {
        foreach (TabularModel model in TabularModel.All.Where(m => models.Contains(m) && !s_warmedUp.Contains(m)))
        {
            var context = new MLContext(seed: 0);
            var clock = Stopwatch.StartNew();
            try
            {
                Fit(context, set.Task, model, context.Data.TakeRows(context.Data.ShuffleRows(train, seed: 0), WarmUpRows), ensembleSize, stage, trainOptions);
                s_warmedUp.Add(model);
                log.WriteLine($"   (warm-up: {model.Name} fitted once on {WarmUpRows} rows of {set.Name}, untimed, {clock.Elapsed.TotalSeconds:F1} s)");
            }
            catch (Exception e)
            {
                log.WriteLine($"   (warm-up of {model.Name} on {WarmUpRows} rows of {set.Name} failed, left to the timed fit: {e.GetType().Name}: {e.Message})");
            }
        }
    }

    private static ITransformer Fit(MLContext mlContext, TabularTask task, TabularModel model, IDataView train, int? ensembleSize, TabularStage stage,
        IReadOnlyList<string> trainOptions)
    {
        if (model == TabularModel.Train)
        {
            return mlContext.Fff().Train(train, LabelColumn, WithTrainOptions(new FffAutoTrainOptions
            {
                EnsembleSize = ensembleSize,
                FeatureScaling = stage == TabularStage.None ? null : stage.Scaling,
                NumericEmbedding = stage == TabularStage.None ? null : stage.Embedding,
            }, trainOptions));
        }
        if (model == TabularModel.Recipe)
            return FitRecipe(mlContext, task, train, ensembleSize, stage);
        IEstimator<ITransformer> featurize = Featurize(mlContext, task, train.Schema);
        IEstimator<ITransformer> trainer = model.DenseWidth is int width ? Dense(mlContext, task, width, CountRows(train), stage)
            : model == TabularModel.Moe ? Moe(mlContext, task, stage)
            : model == TabularModel.LightGbm ? LightGbm(mlContext, task)
            : model == TabularModel.Linear ? Linear(mlContext, task)
            : throw new ArgumentException($"Unknown model {model.Id}.", nameof(model));
        return featurize.Append(trainer).Fit(train);
    }

    /// <summary>
    /// Sets public properties of <paramref name="options"/> from "Name=Value" pairs (the tool's <c>--train-option</c>, for diagnosis
    /// runs such as <c>NumberOfEpochs=200</c> or <c>Depth=4</c>): the name case-insensitive, the value an integer, a number, a Boolean,
    /// a TimeSpan, an enum member or integers separated by '/' (an array; empty: none), parsed invariantly. An unknown name or a value that does not parse throws an ArgumentException
    /// naming it; range checks are the trainer's.
    /// </summary>
    public static FffAutoTrainOptions WithTrainOptions(FffAutoTrainOptions options, IReadOnlyList<string> pairs)
    {
        foreach (string pair in pairs)
        {
            int equals = pair.IndexOf('=', StringComparison.Ordinal);
            if (equals <= 0)
                throw new ArgumentException($"--train-option takes Name=Value pairs, got '{pair}'.", nameof(pairs));
            string name = pair[..equals].Trim(), text = pair[(equals + 1)..].Trim();
            PropertyInfo property = typeof(FffAutoTrainOptions).GetProperty(name, BindingFlags.Public | BindingFlags.Instance | BindingFlags.IgnoreCase)
                ?? throw new ArgumentException($"FffAutoTrainOptions has no property '{name}'.", nameof(pairs));
            Type type = Nullable.GetUnderlyingType(property.PropertyType) ?? property.PropertyType;
            object value;
            try
            {
                value = type == typeof(int[]) ? text.Split('/', StringSplitOptions.RemoveEmptyEntries).Select(v => int.Parse(v, CultureInfo.InvariantCulture)).ToArray()
                    : type.IsEnum ? Enum.Parse(type, text, ignoreCase: true)
                    : type == typeof(TimeSpan) ? TimeSpan.Parse(text, CultureInfo.InvariantCulture)
                    : Convert.ChangeType(text, type, CultureInfo.InvariantCulture);
            }
            catch (Exception e) when (e is FormatException or InvalidCastException or OverflowException or ArgumentException)
            {
                throw new ArgumentException($"--train-option {name}: '{text}' is not a {type.Name}.", nameof(pairs), e);
            }
            property.SetValue(options, value);
        }
        return options;
    }

    /// <summary>
    /// The standard featurization of the hand-built pipelines: the label to a key for multiclass, one-hot encoding of every String
    /// column, and the numeric columns and one-hot vectors concatenated into Features. The networks scale features themselves
    /// (FeatureScaling.Auto); LightGBM needs no scaling; the linear models add their own normalization.
    /// </summary>
    public static IEstimator<ITransformer> Featurize(MLContext mlContext, TabularTask task, DataViewSchema schema)
    {
        var inputs = schema.Where(c => !c.IsHidden && c.Name != LabelColumn).ToArray();
        InputOutputColumnPair[] categorical = inputs.Where(c => c.Type is TextDataViewType)
            .Select(c => new InputOutputColumnPair("__onehot_" + c.Name, c.Name)).ToArray();
        string[] numeric = inputs.Where(c => c.Type is not TextDataViewType).Select(c => c.Name).ToArray();
        IEstimator<ITransformer> chain = task == TabularTask.Multiclass
            ? mlContext.Transforms.Conversion.MapValueToKey(LabelColumn)
            : new EstimatorChain<ITransformer>();
        if (categorical.Length > 0)
            chain = chain.Append(mlContext.Transforms.Categorical.OneHotEncoding(categorical));
        return chain.Append(mlContext.Transforms.Concatenate(FeaturesColumn, numeric.Concat(categorical.Select(p => p.OutputColumnName)).ToArray()));
    }

    private static IEstimator<ITransformer> Dense(MLContext mlContext, TabularTask task, int width, long rows, TabularStage stage) => task switch
    {
        TabularTask.Binary => mlContext.BinaryClassification.Trainers.DenseFeedForward(stage.Apply(DenseOptions(new DenseFeedForwardBinaryTrainer.Options(), width, rows))),
        TabularTask.Multiclass => mlContext.MulticlassClassification.Trainers.DenseFeedForward(stage.Apply(DenseOptions(new DenseFeedForwardMulticlassTrainer.Options(), width, rows))),
        _ => mlContext.Regression.Trainers.DenseFeedForward(stage.Apply(DenseOptions(new DenseFeedForwardRegressionTrainer.Options(), width, rows))),
    };

    /// <summary>
    /// One hidden layer of <paramref name="width"/> (32 is about the per-row cost of the FFF defaults' 3 + 32 neurons; 16 to 128 span
    /// the front), with the batch size and learning rate that the one-call Train chooses from the rows: the same schedule for the
    /// networks compared, and 60 epochs of batch 1,024 instead of 64 on the 200k-row set (the suite's time).
    /// </summary>
    private static T DenseOptions<T>(T options, int width, long rows) where T : DenseFeedForwardOptionsBase
    {
        options.HiddenLayerWidths = new[] { width };
        (options.BatchSize, options.LearningRate) = BatchAndRate(rows);
        return options;
    }

    /// <summary>Batch size and learning rate growing with the rows, as in the data-aware defaults of <c>Fff().Train</c>.</summary>
    private static (int BatchSize, float LearningRate) BatchAndRate(long rows) =>
        rows < 5_000 ? (64, 3e-3f) : rows < 50_000 ? (256, 5e-3f) : (1024, 1e-2f);

    private static IEstimator<ITransformer> Moe(MLContext mlContext, TabularTask task, TabularStage stage) => task switch
    {
        TabularTask.Binary => mlContext.BinaryClassification.Trainers.MixtureOfExperts(stage.Apply(new Microsoft.ML.Fff.MixtureOfExperts.MixtureOfExpertsBinaryTrainer.Options())),
        TabularTask.Multiclass => mlContext.MulticlassClassification.Trainers.MixtureOfExperts(stage.Apply(new Microsoft.ML.Fff.MixtureOfExperts.MixtureOfExpertsMulticlassTrainer.Options())),
        _ => mlContext.Regression.Trainers.MixtureOfExperts(stage.Apply(new Microsoft.ML.Fff.MixtureOfExperts.MixtureOfExpertsRegressionTrainer.Options())),
    };

    private static IEstimator<ITransformer> LightGbm(MLContext mlContext, TabularTask task) => task switch
    {
        TabularTask.Binary => mlContext.BinaryClassification.Trainers.LightGbm(),
        TabularTask.Multiclass => mlContext.MulticlassClassification.Trainers.LightGbm(),
        _ => mlContext.Regression.Trainers.LightGbm(),
    };

    private static IEstimator<ITransformer> Linear(MLContext mlContext, TabularTask task)
    {
        IEstimator<ITransformer> normalize = mlContext.Transforms.NormalizeMeanVariance(FeaturesColumn);
        return task switch
        {
            TabularTask.Binary => normalize.Append(mlContext.BinaryClassification.Trainers.LbfgsLogisticRegression()),
            TabularTask.Multiclass => normalize.Append(mlContext.MulticlassClassification.Trainers.LbfgsMaximumEntropy()),
            // Least squares, the model whose R² the others are compared with (the targets here are not all counts, as Poisson needs).
            _ => normalize.Append(mlContext.Regression.Trainers.Sdca()),
        };
    }

    /// <summary>
    /// The best FFF recipe set by hand through public options (documented in docs/tabular.md): a tenth of the training rows held out
    /// for early stopping on the hard-descent metric (best epoch kept), a shallower tree on small sets (fragmentation), a shared
    /// master leaf, batch size and learning rate growing with the rows, and label smoothing for classes.
    /// </summary>
    public static ITransformer FitRecipe(MLContext mlContext, TabularTask task, IDataView train, int? ensembleSize = null, TabularStage? stage = null)
    {
        stage ??= TabularStage.None;
        DataOperationsCatalog.TrainTestData holdout = mlContext.Data.TrainTestSplit(train, testFraction: 0.1, seed: 1);
        ITransformer featurizer = Featurize(mlContext, task, train.Schema).Fit(holdout.TrainSet);
        IDataView fitRows = mlContext.Data.Cache(featurizer.Transform(holdout.TrainSet));
        IDataView validRows = mlContext.Data.Cache(featurizer.Transform(holdout.TestSet));
        long rows = CountRows(fitRows);
        ITransformer trainer = task switch
        {
            TabularTask.Binary => mlContext.BinaryClassification.Trainers.FastFeedForward(stage.Apply(Recipe(new FastFeedForwardBinaryTrainer.Options(), rows, task, ensembleSize))).Fit(fitRows, validRows),
            TabularTask.Multiclass => mlContext.MulticlassClassification.Trainers.FastFeedForward(stage.Apply(Recipe(new FastFeedForwardMulticlassTrainer.Options(), rows, task, ensembleSize))).Fit(fitRows, validRows),
            _ => mlContext.Regression.Trainers.FastFeedForward(stage.Apply(Recipe(new FastFeedForwardRegressionTrainer.Options(), rows, task, ensembleSize))).Fit(fitRows, validRows),
        };
        return new TransformerChain<ITransformer>(featurizer, trainer);
    }

    private static T Recipe<T>(T options, long rows, TabularTask task, int? ensembleSize) where T : FastFeedForwardOptionsBase
    {
        options.EnsembleSize = ensembleSize ?? 1;
        options.Depth = rows < 2_000 ? 1 : rows < 20_000 ? 2 : 3;
        options.LeafWidth = 32;
        options.MasterLeafWidth = 8;
        (options.BatchSize, options.LearningRate) = BatchAndRate(rows);
        options.NumberOfEpochs = 60;
        options.EarlyStoppingPatience = 8;
        options.LabelSmoothing = task == TabularTask.Regression ? 0f : 0.1f;
        return options;
    }

    public static double Evaluate(MLContext mlContext, TabularTask task, IDataView scored) => task switch
    {
        // AUC from the Score column, so calibrated and uncalibrated models are compared alike.
        TabularTask.Binary => mlContext.BinaryClassification.EvaluateNonCalibrated(scored, LabelColumn).AreaUnderRocCurve,
        TabularTask.Multiclass => mlContext.MulticlassClassification.Evaluate(scored, LabelColumn).MicroAccuracy,
        _ => mlContext.Regression.Evaluate(scored, LabelColumn).RSquared,
    };

    /// <summary>
    /// One single-row <c>PredictionEngine.Predict</c> call on test row <c>i % rows</c> (callers time calls 0, 7, 14, …), for
    /// <see cref="MedianMicroseconds"/>. The input row class is emitted for the set's schema, so every model, including the
    /// one-call pipeline, scores the raw columns exactly as a user's class would give them.
    /// </summary>
    public static Action<int> PredictCall(MLContext mlContext, TabularTask task, ITransformer model, IDataView test)
    {
        Type input = RowTypes.For(test.Schema);
        Type output = task == TabularTask.Multiclass ? typeof(VectorScore) : typeof(ScalarScore);
        MethodInfo create = typeof(TabularSuite).GetMethod(nameof(PredictCallOf), BindingFlags.NonPublic | BindingFlags.Static)!.MakeGenericMethod(input, output);
        try
        {
            return (Action<int>)create.Invoke(null, new object[] { mlContext, model, test })!;
        }
        catch (TargetInvocationException e) when (e.InnerException != null)
        {
            System.Runtime.ExceptionServices.ExceptionDispatchInfo.Capture(e.InnerException).Throw();
            throw;
        }
    }

    private static Action<int> PredictCallOf<TIn, TOut>(MLContext mlContext, ITransformer model, IDataView test)
        where TIn : class, new() where TOut : class, new()
    {
        TIn[] rows = mlContext.Data.CreateEnumerable<TIn>(test, reuseRowObject: false).Take(4096).ToArray();
        PredictionEngine<TIn, TOut> engine = mlContext.Model.CreatePredictionEngine<TIn, TOut>(model);
        return i => engine.Predict(rows[i % rows.Length]);
    }

    /// <summary>
    /// Median microseconds of <paramref name="call"/> (given a call index; callers pick row <c>i % rows</c>), after a timed warm-up,
    /// since tiered compilation replaces the first code only after a delay (skipped when <paramref name="warmUp"/> is false: a call
    /// already warmed by an earlier round). The calls (indices <c>0, 7, 14, …</c>) are timed in blocks
    /// of <see cref="CallsPerBlock"/>, each block's time divided by its calls, and the median block is returned: timing each call
    /// alone added the timer's own cost (a pair of timestamps, about 0.02 µs on the suite's machine) to every model, which is
    /// a tenth of a `Train` model's time and a hundredth of LightGBM's.
    /// </summary>
    public static double MedianMicroseconds(Action<int> call, LatencySettings settings, bool warmUp = true)
    {
        var warmup = Stopwatch.StartNew();
        for (int i = 0; warmUp && (i < 200 || warmup.Elapsed.TotalSeconds < settings.WarmupSeconds); i++)
            call(i);
        // Raw timestamps, not TimeSpan: these calls take well under a microsecond, and TimeSpan's 100-ns ticks would quantize them.
        var ticks = new long[settings.TimedCalls];
        for (int block = 0; block < ticks.Length; block++)
        {
            int first = block * CallsPerBlock;
            long start = Stopwatch.GetTimestamp();
            for (int i = first; i < first + CallsPerBlock; i++)
                call(i * 7);
            ticks[block] = Stopwatch.GetTimestamp() - start;
        }
        Array.Sort(ticks);
        return ticks[ticks.Length / 2] * 1e6 / Stopwatch.Frequency / CallsPerBlock;
    }

    /// <summary>Calls timed together by <see cref="MedianMicroseconds"/>.</summary>
    public const int CallsPerBlock = 8;

    /// <summary>Reads every column of every row (filling a cached view's columns); returns the row count.</summary>
    public static long ReadAllColumns(IDataView data)
    {
        long rows = 0;
        using DataViewRowCursor cursor = data.GetRowCursor(data.Schema);
        while (cursor.MoveNext())
            rows++;
        return rows;
    }

    public static long CountRows(IDataView data)
    {
        long? known = data.GetRowCount();
        if (known.HasValue)
            return known.Value;
        long rows = 0;
        using DataViewRowCursor cursor = data.GetRowCursor(Array.Empty<DataViewSchema.Column>());
        while (cursor.MoveNext())
            rows++;
        return rows;
    }

    // ---- tables ----

    private static string Cell(double value, string format) => double.IsNaN(value) ? "—" : value.ToString(format, CultureInfo.InvariantCulture);

    private static string FormatRow(TabularResult r) => r.Error != null
        ? $"| {r.Set.Name} | {r.Model.Name} | error: {r.Error.Replace('|', '/').Replace('\n', ' ')} | — | — |"
        : $"| {r.Set.Name} | {r.Model.Name} | {Cell(r.Metric, "F4")}{(double.IsNaN(r.MetricStd) ? "" : " ± " + Cell(r.MetricStd, "F4"))} | {Cell(r.TrainSeconds, "F1")} | {Cell(r.MicrosecondsPerRow, "F3")} |";

    /// <summary>The results table, one row per set and model, with each set's task, metric and split sizes in its first row.</summary>
    public static string ResultsTable(IReadOnlyList<TabularResult> results)
    {
        var text = new StringBuilder();
        text.AppendLine("| set (task, metric, train/test rows) | model | metric | training s | per-row µs |");
        text.AppendLine("| --- | --- | --- | --- | --- |");
        foreach (IGrouping<string, TabularResult> set in results.GroupBy(r => r.Set.Name))
        {
            TabularResult head = set.First();
            string title = $"{head.Set.Name} ({head.Set.Task.ToString().ToLowerInvariant()}, {head.Set.MetricName}, {head.TrainRows:N0}/{head.TestRows:N0})";
            bool first = true;
            foreach (TabularResult r in set)
            {
                text.AppendLine(FormatRow(r).Replace($"| {r.Set.Name} |", $"| {(first ? title : "")} |"));
                first = false;
            }
        }
        return text.ToString().TrimEnd();
    }

    /// <summary>
    /// The issue's targets for the one-call Train against LightGBM: per set the metric difference (within 0.5 accuracy points,
    /// 0.005 AUC, 0.01 R²) and the latency ratio (at least 10x), then the mean difference (ahead on average) and the summed
    /// training-time ratio (at most 3x). Empty when either model is missing from the results.
    /// </summary>
    public static string TargetsTable(IReadOnlyList<TabularResult> results)
    {
        var pairs = results.GroupBy(r => r.Set.Name)
            .Select(g => (Fff: g.FirstOrDefault(r => r.Model == TabularModel.Train), Gbm: g.FirstOrDefault(r => r.Model == TabularModel.LightGbm)))
            .Where(p => p.Fff != null && p.Gbm != null && p.Fff.Error == null && p.Gbm.Error == null)
            .Select(p => (Fff: p.Fff!, Gbm: p.Gbm!)).ToList();
        if (pairs.Count == 0)
            return "";
        var text = new StringBuilder();
        text.AppendLine("| set | Train − LightGBM | tolerance | within | LightGBM µs / Train µs | ≥ 10x | Train s / LightGBM s |");
        text.AppendLine("| --- | --- | --- | --- | --- | --- | --- |");
        foreach ((TabularResult fff, TabularResult gbm) in pairs)
        {
            double delta = fff.Metric - gbm.Metric;
            double tolerance = Tolerance(fff.Set.Task);
            double speedup = gbm.MicrosecondsPerRow / fff.MicrosecondsPerRow;
            text.AppendLine($"| {fff.Set.Name} | {delta:+0.0000;-0.0000;0.0000} | {tolerance:0.000} | {(delta >= -tolerance ? "yes" : "**no**")} | " +
                $"{speedup:F1}x | {(speedup >= 10 ? "yes" : "**no**")} | {fff.TrainSeconds / gbm.TrainSeconds:F1}x |");
        }
        double meanDelta = pairs.Average(p => p.Fff.Metric - p.Gbm.Metric);
        double timeRatio = pairs.Sum(p => p.Fff.TrainSeconds) / pairs.Sum(p => p.Gbm.TrainSeconds);
        text.AppendLine();
        text.AppendLine($"Over the {pairs.Count} sets: mean metric difference Train − LightGBM {meanDelta:+0.0000;-0.0000;0.0000} " +
            $"(ahead on average: {(meanDelta > 0 ? "yes" : "**no**")}); within tolerance on {pairs.Count(p => p.Fff.Metric - p.Gbm.Metric >= -Tolerance(p.Fff.Set.Task))} of {pairs.Count}; " +
            $"≥ 10x lower latency on {pairs.Count(p => p.Gbm.MicrosecondsPerRow >= 10 * p.Fff.MicrosecondsPerRow)} of {pairs.Count}; " +
            $"training time summed {pairs.Sum(p => p.Fff.TrainSeconds):F0} s against {pairs.Sum(p => p.Gbm.TrainSeconds):F0} s = {timeRatio:F1}x (≤ 3x: {(timeRatio <= 3 ? "yes" : "**no**")}).");
        return text.ToString().TrimEnd();
    }

    private static double Tolerance(TabularTask task) => task switch { TabularTask.Binary => 0.005, TabularTask.Multiclass => 0.005, _ => 0.01 };
}

/// <summary>The Score of a binary or regression model.</summary>
public sealed class ScalarScore
{
    public float Score { get; set; }
}

/// <summary>The Score (one probability per class) of a multiclass model.</summary>
public sealed class VectorScore
{
    public float[] Score { get; set; } = Array.Empty<float>();
}

/// <summary>
/// Row classes emitted at run time, one public field per column of a set (Single, String or Boolean), so that a
/// PredictionEngine can be created for any set's schema without a hand-written class per set.
/// </summary>
internal static class RowTypes
{
    private static readonly ModuleBuilder Module = AssemblyBuilder
        .DefineDynamicAssembly(new AssemblyName("TabularRows"), AssemblyBuilderAccess.Run).DefineDynamicModule("TabularRows");
    private static readonly Dictionary<string, Type> Cache = new(StringComparer.Ordinal);

    public static Type For(DataViewSchema schema) => For(schema.Where(c => !c.IsHidden).Select(c => (c.Name, ClrType(c))).ToArray());

    /// <summary>A class with one public field per (name, type), in order; the same list gives the same class.</summary>
    public static Type For(IReadOnlyList<(string Name, Type Type)> columns)
    {
        string key = string.Join(";", columns.Select(c => c.Name + ":" + c.Type.Name));
        lock (Cache)
        {
            if (Cache.TryGetValue(key, out Type? known))
                return known;
            TypeBuilder type = Module.DefineType("Row" + Cache.Count, TypeAttributes.Public | TypeAttributes.Sealed | TypeAttributes.Class);
            foreach ((string name, Type clr) in columns)
                type.DefineField(name, clr, FieldAttributes.Public);
            Type created = type.CreateType();
            Cache.Add(key, created);
            return created;
        }
    }

    private static Type ClrType(DataViewSchema.Column column) => column.Type switch
    {
        TextDataViewType => typeof(string),
        BooleanDataViewType => typeof(bool),
        NumberDataViewType n when n == NumberDataViewType.Single => typeof(float),
        _ => throw new NotSupportedException($"Column '{column.Name}' has type {column.Type}; the suite loads Single, String and Boolean columns only."),
    };
}
