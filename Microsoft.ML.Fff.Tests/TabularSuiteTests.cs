using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Text;
using System.Text.RegularExpressions;
using Microsoft.ML.Data;
using Microsoft.VisualStudio.TestTools.UnitTesting;
using MlNetFff.Tools.Tabular;

namespace Microsoft.ML.Fff.Tests;

/// <summary>
/// The core of tools/FffTabularComparison (compiled in from the tool) on two seeded synthetic stand-ins of a few hundred rows,
/// written as CSV files like scripts/fetch-tabular.sh writes them: a binary set with categorical (quoted String) columns and a
/// regression set. The full suite is the tool itself (docs/tabular.md).
/// </summary>
[TestClass]
public sealed class TabularSuiteTests
{
    // Tiny trainings, some through FffAutoTrainOptions (no NumberOfThreads): libtorch on one thread (OneTorchThread).
    [ClassInitialize]
    public static void UseOneTorchThread(TestContext context) => OneTorchThread.Enter();

    [ClassCleanup]
    public static void RestoreTorchThreads() => OneTorchThread.Exit();

    [TestMethod]
    public void EveryModelGetsASaneRowOnACategoricalAndARegressionSet()
    {
        string directory = Path.Combine(Path.GetTempPath(), "fff-tabular-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(directory);
        try
        {
            var mlContext = new MLContext(seed: 0);
            var binary = new TabularSet("synthetic-categorical", TabularTask.Binary, 400, "test", "seeded synthetic");
            var regression = new TabularSet("synthetic-regression", TabularTask.Regression, 400, "test", "seeded synthetic");
            WriteCategorical(Path.Combine(directory, "binary.csv"), binary.Rows, seed: 1);
            WriteRegression(Path.Combine(directory, "regression.csv"), regression.Rows, seed: 2);

            // Short latency settings: the test checks that timing works, not what it measures.
            var latency = new LatencySettings(WarmupSeconds: 0.05, TimedCalls: 200);
            var log = new StringWriter();
            var results = new List<TabularResult>();
            IDataView binaryData = TabularSuite.Load(mlContext, Path.Combine(directory, "binary.csv"), binary.Task, maxRows: null, expectedRows: binary.Rows);
            Assert.IsInstanceOfType(binaryData.Schema["color"].Type, typeof(TextDataViewType), "a quoted column loads as a categorical String column");
            results.AddRange(TabularSuite.Run(mlContext, binary, binaryData, TabularModel.All, latency, log, warmUp: false));
            // --max-rows: a seeded subsample of 300 of the 400 rows, split 240/60.
            IDataView regressionData = TabularSuite.Load(mlContext, Path.Combine(directory, "regression.csv"), regression.Task, maxRows: 300, expectedRows: regression.Rows);
            results.AddRange(TabularSuite.Run(mlContext, regression, regressionData, TabularModel.All, latency, log, warmUp: false));

            foreach (TabularSet set in new[] { binary, regression })
            {
                foreach (TabularModel model in TabularModel.All)
                {
                    TabularResult r = results.Single(x => x.Set == set && x.Model == model);
                    string what = $"{set.Name} / {model.Name}";
                    Assert.IsNull(r.Error, $"{what} failed: {r.Error}{Environment.NewLine}{log}");
                    // Both sets are easy for every model: a clear signal, little noise.
                    double floor = set.Task == TabularTask.Binary ? 0.75 : 0.6;
                    Assert.IsTrue(r.Metric >= floor && r.Metric <= 1, $"{what}: {set.MetricName} {r.Metric} outside [{floor}, 1]");
                    Assert.IsTrue(r.TrainSeconds > 0 && r.TrainSeconds < 60, $"{what}: training {r.TrainSeconds} s");
                    Assert.IsTrue(r.MicrosecondsPerRow > 0 && r.MicrosecondsPerRow < 10_000, $"{what}: {r.MicrosecondsPerRow} µs per row");
                }
            }
            TabularResult subsampled = results.First(r => r.Set == regression);
            Assert.AreEqual(300, subsampled.TrainRows + subsampled.TestRows, "--max-rows keeps 300 of the 400 rows");
            Assert.IsTrue(subsampled.TrainRows is >= 220 and <= 260, $"about 80 % of them train: {subsampled.TrainRows}");

            string table = TabularSuite.ResultsTable(results);
            foreach (TabularModel model in TabularModel.All)
                Assert.AreEqual(2, table.Split('\n').Count(line => line.Contains($"| {model.Name} |", StringComparison.Ordinal)), $"{model.Name} has a row per set:{Environment.NewLine}{table}");
            string targets = TabularSuite.TargetsTable(results);
            StringAssert.Contains(targets, "| synthetic-categorical |");
            StringAssert.Contains(targets, "| synthetic-regression |");
            StringAssert.Contains(targets, "Over the 2 sets");
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    [TestMethod]
    public void AFailingModelRecordsItsErrorAndTheRunGoesOn()
    {
        var mlContext = new MLContext(seed: 0);
        var set = new TabularSet("single-class", TabularTask.Binary, 40, "test", "every label false");
        string path = Path.Combine(Path.GetTempPath(), "fff-tabular-" + Guid.NewGuid().ToString("N") + ".csv");
        try
        {
            // One class only: L-BFGS logistic regression and the AUC both reject it, so each model's row carries an error.
            File.WriteAllLines(path, new[] { "x,Label" }.Concat(Enumerable.Range(0, set.Rows).Select(i => $"{i % 7},false")));
            IDataView data = TabularSuite.Load(mlContext, path, set.Task, maxRows: null, expectedRows: set.Rows);
            List<TabularResult> results = TabularSuite.Run(mlContext, set, data, new[] { TabularModel.LightGbm, TabularModel.Linear },
                new LatencySettings(0.01, 10), new StringWriter(), warmUp: false);
            Assert.AreEqual(2, results.Count, "both models have a row");
            Assert.IsTrue(results.All(r => r.Error != null && double.IsNaN(r.Metric)), string.Join("; ", results.Select(r => r.Error ?? "no error")));
            StringAssert.Contains(TabularSuite.ResultsTable(results), "error:");
            Assert.ThrowsExactly<InvalidDataException>(() => TabularSuite.Load(mlContext, path, set.Task, null, expectedRows: set.Rows + 1),
                "a row count other than the expected one is an error");
        }
        finally
        {
            File.Delete(path);
        }
    }

    /// <summary>
    /// --latency-breakdown on a small categorical set: the timer's own cost, the two floors (one column, every column), one line per step of the Train model (its one featurization step
    /// and its prediction step), the prediction transformer alone and the network alone, each with a time.
    /// </summary>
    [TestMethod]
    public void LatencyBreakdownTimesTheFloorEveryStepThePredictorAndTheNetwork()
    {
        string path = Path.Combine(Path.GetTempPath(), "fff-tabular-" + Guid.NewGuid().ToString("N") + ".csv");
        try
        {
            var set = new TabularSet("synthetic-categorical", TabularTask.Binary, 300, "test", "seeded synthetic");
            WriteCategorical(path, set.Rows, seed: 3);
            IDataView data = TabularSuite.Load(new MLContext(seed: 0), path, set.Task, maxRows: null, expectedRows: set.Rows);
            var log = new StringWriter();
            List<LatencyStep> steps = LatencyBreakdown.Run(set, data, new LatencySettings(0.02, 50), log);
            Assert.IsTrue(steps.All(s => s.Error == null && s.Microseconds > 0 && s.Microseconds < 10_000), log.ToString());
            string[] names = steps.Select(s => s.Step).ToArray();
            StringAssert.StartsWith(names[0], "timer");
            StringAssert.StartsWith(names[1], "floor");
            StringAssert.StartsWith(names[2], "floor: identity engine, every column");
            StringAssert.Contains(names[3], nameof(TabularFeaturizerTransformer));
            StringAssert.Contains(names[4], "BinaryPredictionTransformer");
            Assert.AreEqual("Score", steps[4].Column);
            StringAssert.Contains(names[5], "alone, on the feature vector");
            StringAssert.StartsWith(names[6], "network alone");
            Assert.AreEqual(7, steps.Count, string.Join(Environment.NewLine, names));
            StringAssert.Contains(LatencyBreakdown.Table(steps), "| synthetic-categorical | timer");
        }
        finally
        {
            File.Delete(path);
        }
    }

    /// <summary>
    /// Each group of sets (the suite and the held-out group of <c>--heldout</c>) is exactly what its fetch script writes, names and
    /// row counts (which Load checks against the files); the held-out group shares no set with the suite and covers the three tasks.
    /// </summary>
    [TestMethod]
    public void EachGroupOfSetsIsWhatItsFetchScriptWritesAndTheHeldOutGroupIsNew()
    {
        foreach ((string script, IReadOnlyList<TabularSet> group) in new[] { ("fetch-tabular.sh", TabularSet.Suite), ("fetch-tabular-heldout.sh", TabularSet.HeldOut) })
        {
            string text = File.ReadAllText(Path.Combine(RepositoryRoot(), "scripts", script));
            Match sets = Regex.Match(text, "^SETS=\"([^\"]*)\"", RegexOptions.Multiline);
            Assert.IsTrue(sets.Success, $"{script} lists its sets on a SETS=\"name:rows ...\" line");
            CollectionAssert.AreEqual(sets.Groups[1].Value.Split(' ', StringSplitOptions.RemoveEmptyEntries),
                group.Select(s => $"{s.Name}:{s.Rows}").ToArray(), $"{script} against its TabularSet list");
        }
        string[] shared = TabularSet.HeldOut.Select(s => s.Name).Intersect(TabularSet.Suite.Select(s => s.Name)).ToArray();
        Assert.AreEqual(0, shared.Length, $"held-out sets also in the suite: {string.Join(", ", shared)}");
        CollectionAssert.AreEquivalent(Enum.GetValues<TabularTask>(), TabularSet.HeldOut.Select(s => s.Task).Distinct().ToArray());
    }

    /// <summary>
    /// A multiclass set shaped like the held-out sets the R script writes (quoted class names with spaces, as Satellite's "grey
    /// soil"; integer features): the one-call Train and LightGBM both load, train and score it.
    /// </summary>
    [TestMethod]
    public void AMulticlassSetWithQuotedSpacedClassNamesRunsTrainAndLightGbm()
    {
        string path = Path.Combine(Path.GetTempPath(), "fff-tabular-" + Guid.NewGuid().ToString("N") + ".csv");
        try
        {
            var set = new TabularSet("synthetic-multiclass", TabularTask.Multiclass, 360, "test", "seeded synthetic");
            string[] classes = { "grey soil", "red soil", "cotton crop" };
            var random = new Random(4);
            var text = new StringBuilder("\"x_1\",\"x_2\",\"x_3\",\"Label\"\n");
            for (int i = 0; i < set.Rows; i++)
            {
                int c = i % classes.Length;
                // Integer features whose means differ by class: easy to separate, noisy enough that accuracy is not trivially 1.
                int x1 = (int)Math.Round(10 * c + 4 * Gaussian(random)), x2 = (int)Math.Round(20 - 8 * c + 4 * Gaussian(random)), x3 = random.Next(50);
                text.Append(CultureInfo.InvariantCulture, $"{x1},{x2},{x3},\"{classes[c]}\"\n");
            }
            File.WriteAllText(path, text.ToString());
            var mlContext = new MLContext(seed: 0);
            IDataView data = TabularSuite.Load(mlContext, path, set.Task, maxRows: null, expectedRows: set.Rows);
            Assert.IsInstanceOfType(data.Schema[TabularSuite.LabelColumn].Type, typeof(TextDataViewType), "a multiclass label loads as String");
            var log = new StringWriter();
            List<TabularResult> results = TabularSuite.Run(mlContext, set, data, new[] { TabularModel.Train, TabularModel.LightGbm },
                new LatencySettings(0.02, 50), log);
            Assert.AreEqual(2, results.Count);
            foreach (TabularResult r in results)
            {
                Assert.IsNull(r.Error, $"{r.Model.Name} failed: {r.Error}{Environment.NewLine}{log}");
                Assert.IsTrue(r.Metric is >= 0.8 and <= 1, $"{r.Model.Name}: accuracy {r.Metric}{Environment.NewLine}{log}");
            }
        }
        finally
        {
            File.Delete(path);
        }
    }

    /// <summary>
    /// --csv: a directory of NAME.TASK.csv files becomes one set per file (its task from the name, its path kept, its rows not
    /// checked), a single file too; a file named without a known task, a missing path and an empty directory are refused by name.
    /// </summary>
    [TestMethod]
    public void CsvSetsTakeTheirTaskFromTheFileNameAndRefuseOtherNames()
    {
        string directory = Path.Combine(Path.GetTempPath(), "fff-csv-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(directory);
        try
        {
            foreach (string name in new[] { "prices.regression.csv", "churn.binary.csv", "species.Multiclass.csv" })
                File.WriteAllText(Path.Combine(directory, name), "\"x\",\"Label\"\n1,2\n");
            IReadOnlyList<TabularSet> sets = TabularSet.FromCsv(directory);
            CollectionAssert.AreEqual(new[] { "churn", "prices", "species" }, sets.Select(s => s.Name).ToArray());
            CollectionAssert.AreEqual(new[] { TabularTask.Binary, TabularTask.Regression, TabularTask.Multiclass }, sets.Select(s => s.Task).ToArray());
            Assert.AreEqual(Path.Combine(directory, "churn.binary.csv"), sets[0].Path);
            Assert.AreEqual("prices", TabularSet.FromCsv(Path.Combine(directory, "prices.regression.csv")).Single().Name);

            File.WriteAllText(Path.Combine(directory, "prices.csv"), "\"x\",\"Label\"\n1,2\n");
            var wrongName = Assert.Throws<ArgumentException>(() => TabularSet.FromCsv(directory));
            StringAssert.Contains(wrongName.Message, "prices.csv");
            StringAssert.Contains(wrongName.Message, "NAME.TASK.csv");
            StringAssert.Contains(Assert.Throws<FileNotFoundException>(() => TabularSet.FromCsv(Path.Combine(directory, "none"))).Message, "none");
            string empty = Path.Combine(directory, "empty");
            Directory.CreateDirectory(empty);
            StringAssert.Contains(Assert.Throws<ArgumentException>(() => TabularSet.FromCsv(empty)).Message, "no .csv file");

            // Categories left unquoted (as pandas writes them) load as text, numbers and an empty (missing) first value as numbers.
            string unquoted = Path.Combine(directory, "plain.regression.csv");
            File.WriteAllText(unquoted, "motor,gain,rate,Label\nE,5,,1.5\nB,6,2,0.5\n");
            IDataView data = TabularSuite.Load(new MLContext(seed: 0), unquoted, TabularTask.Regression, maxRows: null, expectedRows: null);
            Assert.AreEqual(TextDataViewType.Instance, data.Schema["motor"].Type);
            Assert.AreEqual(NumberDataViewType.Single, data.Schema["gain"].Type);
            Assert.AreEqual(NumberDataViewType.Single, data.Schema["rate"].Type);
            CollectionAssert.AreEqual(new[] { "E", "B" }, data.GetColumn<ReadOnlyMemory<char>>("motor").Select(m => m.ToString()).ToArray());
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    /// <summary>--train-option: "Name=Value" pairs set FffAutoTrainOptions (nullable ints, floats, enums; names case-insensitive), and a wrong name or value is refused by name.</summary>
    [TestMethod]
    public void TrainOptionsSetTheNamedPropertiesAndRefuseUnknownNamesAndValues()
    {
        FffAutoTrainOptions options = TabularSuite.WithTrainOptions(new FffAutoTrainOptions(),
            new[] { "Depth=4", "numberofepochs=200", "LearningRate=0.01", "NumericEmbedding=PiecewiseLinear", "EarlyStoppingPatience = 0" });
        Assert.AreEqual(4, options.Depth);
        Assert.AreEqual(200, options.NumberOfEpochs);
        Assert.AreEqual(0.01f, options.LearningRate);
        Assert.AreEqual(FffNumericEmbedding.PiecewiseLinear, options.NumericEmbedding);
        Assert.AreEqual(0, options.EarlyStoppingPatience);
        Assert.IsNull(options.BatchSize, "an option not named keeps its default");
        StringAssert.Contains(Assert.ThrowsExactly<ArgumentException>(() => TabularSuite.WithTrainOptions(new FffAutoTrainOptions(), new[] { "Depht=4" })).Message, "Depht");
        StringAssert.Contains(Assert.ThrowsExactly<ArgumentException>(() => TabularSuite.WithTrainOptions(new FffAutoTrainOptions(), new[] { "Depth=deep" })).Message, "Depth");
        StringAssert.Contains(Assert.ThrowsExactly<ArgumentException>(() => TabularSuite.WithTrainOptions(new FffAutoTrainOptions(), new[] { "Depth" })).Message, "Name=Value");
    }

    /// <summary>The repository's root (the folder of MlNetFff.sln), found upwards from the test assembly's folder.</summary>
    private static string RepositoryRoot()
    {
        for (DirectoryInfo? d = new(AppContext.BaseDirectory); d != null; d = d.Parent)
        {
            if (File.Exists(Path.Combine(d.FullName, "MlNetFff.sln")))
                return d.FullName;
        }
        throw new DirectoryNotFoundException($"No MlNetFff.sln above {AppContext.BaseDirectory}.");
    }

    private static void WriteCategorical(string path, int rows, int seed)
    {
        var random = new Random(seed);
        string[] colors = { "red", "green", "blue" }, sizes = { "S", "M", "L" };
        var text = new StringBuilder("x1,color,x2,size,Label\n");
        for (int i = 0; i < rows; i++)
        {
            double x1 = Gaussian(random), x2 = Gaussian(random);
            int color = random.Next(3), size = random.Next(3);
            // The categories carry as much signal as the numbers, so a model that ignored them would fall below the floor.
            double logit = 2 * x1 + (color == 0 ? 2.5 : color == 1 ? -2.5 : 0) - (size == 2 ? 2 * x2 : 0);
            bool label = random.NextDouble() < 1 / (1 + Math.Exp(-logit));
            text.Append(CultureInfo.InvariantCulture, $"{x1:R},\"{colors[color]}\",{x2:R},\"{sizes[size]}\",{(label ? "true" : "false")}\n");
        }
        File.WriteAllText(path, text.ToString());
    }

    private static void WriteRegression(string path, int rows, int seed)
    {
        var random = new Random(seed);
        var text = new StringBuilder("x1,x2,x3,Label\n");
        for (int i = 0; i < rows; i++)
        {
            double x1 = Gaussian(random), x2 = Gaussian(random), x3 = Gaussian(random);
            double y = 2 * x1 - x2 + 0.5 * x3 + 0.2 * Gaussian(random);
            text.Append(CultureInfo.InvariantCulture, $"{x1:R},{x2:R},{x3:R},{y:R}\n");
        }
        File.WriteAllText(path, text.ToString());
    }

    private static double Gaussian(Random random) => Math.Sqrt(-2 * Math.Log(1 - random.NextDouble())) * Math.Cos(2 * Math.PI * random.NextDouble());
}
