using System;
using System.Collections.Generic;
using System.Linq;
using Microsoft.VisualStudio.TestTools.UnitTesting;
using MlNetFff.Tools;
using MlNetFff.Tools.Tabular;

namespace Microsoft.ML.Fff.Tests;

/// <summary>
/// The accuracy–latency front of the comparison tools (tools/Shared/AccuracyFront.cs) and the tabular suite's --seeds folding
/// (tools/FffTabularComparison/Seeds.cs, Fronts.cs): pure logic on hand-made points. Every metric is higher-is-better, latency
/// lower-is-better.
/// </summary>
[TestClass]
public sealed class AccuracyFrontTests
{
    private static FrontPoint Fff(string name, double metric, double micros) => new(name, FrontKind.Conditional, metric, micros);

    private static FrontPoint Dense(string name, double metric, double micros) => new(name, FrontKind.Dense, metric, micros);

    private static FrontRow Row(IReadOnlyList<FrontRow> rows, string model) => rows.Single(r => r.Point.Model == model);

    [TestMethod]
    public void TheFrontIsTheModelsNoOtherBeatsOnBothAxes()
    {
        var points = new[]
        {
            Fff("FFF a", 0.90, 1.0),
            Dense("Dense 16", 0.88, 0.8),   // faster and worse than FFF a: on the front
            Dense("Dense 64", 0.89, 2.0),   // slower and worse than FFF a: dominated
            Dense("Dense 256", 0.95, 5.0),  // the most accurate: on the front
            new FrontPoint("LightGBM", FrontKind.Other, 0.94, 30.0), // slower and worse than Dense 256
        };
        IReadOnlyList<FrontRow> rows = AccuracyFront.Analyze(points);
        CollectionAssert.AreEqual(points, rows.Select(r => r.Point).ToArray(), "rows keep the input order");
        CollectionAssert.AreEqual(new[] { true, true, false, true, false }, rows.Select(r => r.OnFront).ToArray());
    }

    [TestMethod]
    public void ExactTiesStayOnTheFrontTogetherButATieOnOneAxisDoesNot()
    {
        IReadOnlyList<FrontRow> rows = AccuracyFront.Analyze(new[]
        {
            Fff("FFF a", 0.90, 1.0),
            Dense("Dense same", 0.90, 1.0),      // identical point: neither beats the other
            Dense("Dense slower", 0.90, 1.5),    // same metric, slower: dominated
            Dense("Dense worse", 0.85, 1.0),     // same latency, worse: dominated
        });
        Assert.IsTrue(Row(rows, "FFF a").OnFront);
        Assert.IsTrue(Row(rows, "Dense same").OnFront);
        Assert.IsFalse(Row(rows, "Dense slower").OnFront);
        Assert.IsFalse(Row(rows, "Dense worse").OnFront);
        // An equal metric reaches it: the fastest such dense network is the identical one, ratio 1.
        Assert.AreEqual("Dense same", Row(rows, "FFF a").FastestDense?.Model);
        Assert.AreEqual(1.0, Row(rows, "FFF a").DenseRatio, 1e-12);
    }

    [TestMethod]
    public void TheDenseMatchIsTheFastestDenseAtLeastAsAccurate()
    {
        IReadOnlyList<FrontRow> rows = AccuracyFront.Analyze(new[]
        {
            Fff("FFF a", 0.90, 1.0),
            new FrontPoint("MoE b", FrontKind.Conditional, 0.93, 2.0),
            Dense("Dense 16", 0.89, 0.5),   // fastest dense, not accurate enough for either
            Dense("Dense 128", 0.94, 6.0),
            Dense("Dense 64", 0.91, 3.0),   // the fastest reaching FFF a, but not MoE b
            new FrontPoint("LightGBM", FrontKind.Other, 0.99, 1.5), // accurate and fast, but not a dense network
        });
        FrontRow fff = Row(rows, "FFF a"), moe = Row(rows, "MoE b");
        Assert.AreEqual("Dense 64", fff.FastestDense?.Model);
        Assert.AreEqual(3.0, fff.DenseRatio, 1e-12, "dense µs / FFF µs");
        Assert.AreEqual("Dense 128", moe.FastestDense?.Model);
        Assert.AreEqual(3.0, moe.DenseRatio, 1e-12);
        Assert.IsNull(Row(rows, "Dense 64").FastestDense, "only conditional rows get a match");
        Assert.IsTrue(double.IsNaN(Row(rows, "LightGBM").DenseRatio));
    }

    [TestMethod]
    public void EquallyFastDenseMatchesPreferTheMoreAccurate()
    {
        IReadOnlyList<FrontRow> rows = AccuracyFront.Analyze(new[]
        {
            Fff("FFF a", 0.90, 2.0),
            Dense("Dense x", 0.91, 1.0),
            Dense("Dense y", 0.95, 1.0),
        });
        Assert.AreEqual("Dense y", Row(rows, "FFF a").FastestDense?.Model);
        Assert.AreEqual(0.5, Row(rows, "FFF a").DenseRatio, 1e-12, "a faster dense network gives a ratio below 1");
    }

    [TestMethod]
    public void NoDenseReachingItSaysSo()
    {
        IReadOnlyList<FrontRow> rows = AccuracyFront.Analyze(new[] { Fff("FFF a", 0.97, 2.0), Dense("Dense 16", 0.96, 0.5) });
        Assert.IsNull(rows[0].FastestDense);
        Assert.IsTrue(double.IsNaN(rows[0].DenseRatio));
        string table = string.Join("\n", AccuracyFront.Lines(rows, "F4"));
        StringAssert.Contains(table, "| **FFF a** | **0.9700** | **2.000** | **yes** | —, no dense reaches it | — |");
        StringAssert.Contains(table, "| **Dense 16** | **0.9600** | **0.500** | **yes** |  |  |");
        StringAssert.Contains(AccuracyFront.Summary(rows), "FFF a — (no dense reaches it)");
    }

    [TestMethod]
    public void ASingleModelIsItsOwnFront()
    {
        IReadOnlyList<FrontRow> rows = AccuracyFront.Analyze(new[] { Fff("FFF a", 0.5, 1.0) });
        Assert.IsTrue(rows.Single().OnFront);
        Assert.IsNull(rows.Single().FastestDense);
        Assert.AreEqual("front, fastest first: FFF a; dense µs / conditional µs: FFF a — (no dense reaches it)", AccuracyFront.Summary(rows));
        Assert.AreEqual(0, AccuracyFront.Analyze(Array.Empty<FrontPoint>()).Count);
    }

    [TestMethod]
    public void AFailedModelIsNeitherOnTheFrontNorAMatch()
    {
        IReadOnlyList<FrontRow> rows = AccuracyFront.Analyze(new[]
        {
            Fff("FFF a", 0.90, 1.0),
            Dense("Dense failed", double.NaN, double.NaN),
            Fff("FFF failed", double.NaN, double.NaN),
        });
        Assert.IsTrue(Row(rows, "FFF a").OnFront, "a failed model dominates nothing");
        Assert.IsNull(Row(rows, "FFF a").FastestDense);
        Assert.IsFalse(Row(rows, "Dense failed").OnFront);
        Assert.IsFalse(Row(rows, "FFF failed").OnFront);
        StringAssert.Contains(string.Join("\n", AccuracyFront.Lines(rows, "F4")), "| FFF failed | — | — | — (failed) |");
    }

    [TestMethod]
    public void KindsComeFromTheTableNames()
    {
        Assert.AreEqual(FrontKind.Conditional, FrontPoint.KindOf("FFF `Fff().Train` (defaults)"));
        Assert.AreEqual(FrontKind.Conditional, FrontPoint.KindOf("MoE 16 x 64, k=2"));
        Assert.AreEqual(FrontKind.Conditional, FrontPoint.KindOf("sigma-MoE 16 x 64, k=2"));
        Assert.AreEqual(FrontKind.Dense, FrontPoint.KindOf("Dense 1024, shift augmentation 1"));
        Assert.AreEqual(FrontKind.Other, FrontPoint.KindOf("LightGBM (defaults)"));
        Assert.AreEqual(FrontKind.Other, FrontPoint.KindOf("Linear (L-BFGS; SDCA for regression)"));
    }

    [TestMethod]
    public void SeedsFoldIntoMeansAndTheFrontUsesThem()
    {
        var set = new TabularSet("s", TabularTask.Binary, 100, "test", "synthetic");
        TabularResult Result(TabularModel model, double metric, double seconds, double micros, int trainRows = 80)
            => new(set, trainRows, 100 - trainRows, model, metric, seconds, micros, null);
        List<TabularResult> folded = Seeds.Aggregate(new[]
        {
            Result(TabularModel.Train, 0.80, 1.0, 0.30), Result(TabularModel.Dense16, 0.70, 2.0, 0.20),
            Result(TabularModel.Train, 0.90, 3.0, 0.50, trainRows: 81), Result(TabularModel.Dense16, 0.92, 2.0, 0.22),
            Result(TabularModel.Train, 0.85, 2.0, 0.10), Result(TabularModel.Dense16, 0.88, 2.0, 0.90),
        });
        Assert.AreEqual(2, folded.Count, "one row per set and model");
        TabularResult train = folded[0], dense = folded[1];
        Assert.AreSame(TabularModel.Train, train.Model, "first-seen order");
        Assert.AreEqual(0.85, train.Metric, 1e-12);
        Assert.AreEqual(0.05, train.MetricStd, 1e-12, "sample standard deviation");
        Assert.AreEqual(2.0, train.TrainSeconds, 1e-12, "mean training seconds");
        Assert.AreEqual(0.30, train.MicrosecondsPerRow, 1e-12, "median of the seeds' medians");
        Assert.AreEqual(3, train.Seeds);
        Assert.AreEqual(80, train.TrainRows, "the first seed's split sizes");
        StringAssert.Contains(TabularSuite.ResultsTable(folded), "| 0.8500 ± 0.0500 |");

        // On the means: Dense 16 (0.8333, 0.22 µs) is faster than Train (0.85, 0.30 µs) but does not reach it.
        string fronts = Fronts.Table(folded);
        StringAssert.Contains(fronts, "| s (AUC) | **FFF `Fff().Train` (defaults)** | **0.8500** | **0.300** | **yes** | —, no dense reaches it | — |");
        StringAssert.Contains(fronts, "- s: front, fastest first: Dense 16 → FFF `Fff().Train` (defaults);");

        // One seed: the rows come back unchanged, with no spread.
        TabularResult single = Result(TabularModel.Linear, 0.7, 0.1, 0.1);
        Assert.AreSame(single, Seeds.Aggregate(new[] { single }).Single());
        StringAssert.Contains(TabularSuite.ResultsTable(new[] { single }), "| 0.7000 | 0.1 | 0.100 |");
    }

    [TestMethod]
    public void AModelThatFailsOnOneSeedKeepsItsError()
    {
        var set = new TabularSet("s", TabularTask.Regression, 100, "test", "synthetic");
        List<TabularResult> folded = Seeds.Aggregate(new[]
        {
            new TabularResult(set, 80, 20, TabularModel.Moe, 0.5, 1, 1, null),
            new TabularResult(set, 80, 20, TabularModel.Moe, double.NaN, double.NaN, double.NaN, "Boom: seed 1"),
        });
        Assert.AreEqual("Boom: seed 1", folded.Single().Error);
        StringAssert.Contains(Fronts.Table(folded), "— (failed)");
    }
}
