using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Linq;
using Microsoft.ML.Data;
using Microsoft.ML.Fff;
using Microsoft.VisualStudio.TestTools.UnitTesting;

namespace Microsoft.ML.Fff.Tests;

/// <summary>Column and label inference of the one-call <c>Train</c>: categorical Strings, two-valued String labels, label-free scoring, overrides.</summary>
[TestClass]
public sealed class AutoTrainInferenceTests
{
    [ClassInitialize]
    public static void UseOneTorchThread(TestContext context) => OneTorchThread.Enter();

    [ClassCleanup]
    public static void RestoreTorchThreads() => OneTorchThread.Exit();

    // ---- 1. Few distinct values: categorical, whatever the word count ----

    [TestMethod]
    public void CreatePlan_FewDistinctMultiWordStrings_AreCategorical_UniqueSentencesAreText()
    {
        var mlContext = new MLContext(seed: 0);
        FffAutoTrainPlan plan = mlContext.Fff().CreatePlan(LoadChurn(mlContext, 300), nameof(ChurnRow.Churn), Small());
        Dictionary<string, FffColumnPlan> columns = plan.Columns.ToDictionary(c => c.Name);
        Assert.AreEqual(FffColumnUsage.Categorical, columns[nameof(ChurnRow.Contract)].Usage, plan.ToString());
        Assert.AreEqual(FffColumnUsage.Categorical, columns[nameof(ChurnRow.Payment)].Usage, plan.ToString());
        Assert.AreEqual(FffColumnUsage.Text, columns[nameof(ChurnRow.Notes)].Usage, plan.ToString());
        StringAssert.Contains(columns[nameof(ChurnRow.Contract)].Reason, "3 distinct values");

        // 30 rows of all-different sentences: fewer than MaxCategoricalCardinality distinct values, but none repeats, so text.
        var sentences = Enumerable.Range(0, 30).Select(i => new SentenceRow { Text = $"review number {i} says the item was {(i % 2 == 0 ? "good" : "bad")}", Label = i % 2 == 0 }).ToList();
        FffAutoTrainPlan small = mlContext.Fff().CreatePlan(mlContext.Data.LoadFromEnumerable(sentences));
        Assert.AreEqual(FffColumnUsage.Text, small.Columns.Single(c => c.Name == nameof(SentenceRow.Text)).Usage, small.ToString());
    }

    /// <summary>
    /// More than 50 distinct values are still categories when each repeats ten times or more (60 "states" over 1,200 rows), and text
    /// when they repeat less (60 over 180 rows); an explicit MaxCategoricalCardinality below the count makes them text whatever the
    /// repeats.
    /// </summary>
    [TestMethod]
    public void CreatePlan_ManyDistinctValuesThatRepeatOften_AreCategorical()
    {
        var mlContext = new MLContext(seed: 0);
        FffColumnPlan Plan(int rows, FffAutoTrainOptions? options = null)
        {
            var data = Enumerable.Range(0, rows).Select(i => new SentenceRow { Text = $"State {i % 60}", Label = i % 3 == 0 }).ToList();
            return mlContext.Fff().CreatePlan(mlContext.Data.LoadFromEnumerable(data), nameof(SentenceRow.Label), options)
                .Columns.Single(c => c.Name == nameof(SentenceRow.Text));
        }
        FffColumnPlan often = Plan(1200);
        Assert.AreEqual(FffColumnUsage.Categorical, often.Usage, often.Reason);
        StringAssert.Contains(often.Reason, "60 distinct values in 1200 non-empty of the first 1200 rows, each 20 times on average");
        FffColumnPlan seldom = Plan(180);
        Assert.AreEqual(FffColumnUsage.Text, seldom.Usage, seldom.Reason);
        StringAssert.Contains(seldom.Reason, "each 3 times on average");
        Assert.AreEqual(FffColumnUsage.Text, Plan(1200, new FffAutoTrainOptions { MaxCategoricalCardinality = 59 }).Usage);
        Assert.AreEqual(FffColumnUsage.Categorical, Plan(1200, new FffAutoTrainOptions { MaxCategoricalCardinality = 60 }).Usage);
    }

    // ---- 2. Two-valued String label: binary ----

    [TestMethod]
    public void Train_YesNoStringLabel_TrainsBinaryWithProbability_AndLogsThePositiveClass()
    {
        var mlContext = new MLContext(seed: 0);
        var log = new List<string>();
        mlContext.Log += (_, e) => { if (e.Message.Contains("positive class", StringComparison.Ordinal)) log.Add(e.Message); };
        IDataView data = LoadChurn(mlContext, 300);

        FffAutoTrainPlan plan = mlContext.Fff().CreatePlan(data, nameof(ChurnRow.Churn), Small());
        Assert.AreEqual(FffTask.BinaryClassification, plan.Task);
        Assert.AreEqual("Yes", plan.PositiveLabel);
        Assert.IsTrue(log.Any(m => m.Contains("'Yes' is the positive class", StringComparison.Ordinal)), string.Join(Environment.NewLine, log));

        ITransformer model = plan.Pipeline.Fit(data);
        IDataView scored = model.Transform(data);
        Assert.AreEqual(NumberDataViewType.Single, scored.Schema["Score"].Type);
        Assert.AreEqual(NumberDataViewType.Single, scored.Schema["Probability"].Type);
        Assert.AreEqual(TextDataViewType.Instance, scored.Schema["PredictedLabel"].Type, "predictions in the label's own strings");
        string[] predicted = scored.GetColumn<string>("PredictedLabel").ToArray();
        float[] scores = scored.GetColumn<float>("Score").ToArray();
        for (int i = 0; i < predicted.Length; i++)
            Assert.AreEqual(scores[i] > 0 ? "Yes" : "No", predicted[i], $"row {i}, score {scores[i]}");
        Assert.AreEqual(BooleanDataViewType.Instance, scored.Schema[nameof(ChurnRow.Churn)].Type, "the label is mapped to Boolean in place when present");
        CollectionAssert.AreEqual(ChurnRows(300).Select(r => r.Churn == "Yes").ToArray(), scored.GetColumn<bool>(nameof(ChurnRow.Churn)).ToArray());
        CalibratedBinaryClassificationMetrics metrics = mlContext.BinaryClassification.Evaluate(scored, nameof(ChurnRow.Churn));
        Assert.IsGreaterThan(0.8, metrics.AreaUnderRocCurve, $"training AUC {metrics.AreaUnderRocCurve}");
    }

    [TestMethod]
    public void CreatePlan_PositiveClassRule_AndOverrides()
    {
        var mlContext = new MLContext(seed: 0);
        Assert.AreEqual("True", PlanFor(mlContext, "True", "False").PositiveLabel, "a known positive word");
        Assert.AreEqual("yes", PlanFor(mlContext, "no", "yes").PositiveLabel, "case-insensitive");
        Assert.AreEqual("dog", PlanFor(mlContext, "dog", "cat").PositiveLabel, "otherwise the second in ordinal order");
        Assert.AreEqual("No", PlanFor(mlContext, "Yes", "No", new FffAutoTrainOptions { PositiveLabel = "No" }).PositiveLabel);

        FffAutoTrainPlan multi = PlanFor(mlContext, "Yes", "No", new FffAutoTrainOptions { Task = FffTask.MulticlassClassification });
        Assert.AreEqual(FffTask.MulticlassClassification, multi.Task);
        Assert.IsNull(multi.PositiveLabel);
        Assert.AreEqual(FffTask.MulticlassClassification, PlanFor(mlContext, "a", "b", extra: "c").Task, "three values stay multiclass");

        var wrong = Assert.ThrowsExactly<ArgumentException>(() => PlanFor(mlContext, "Yes", "No", new FffAutoTrainOptions { PositiveLabel = "yes" }));
        Assert.AreEqual(nameof(FffAutoTrainOptions.PositiveLabel), wrong.ParamName);
        StringAssert.Contains(wrong.Message, "'yes'");
        StringAssert.Contains(wrong.Message, "'Yes'");
        var three = Assert.ThrowsExactly<ArgumentException>(() => PlanFor(mlContext, "a", "b", new FffAutoTrainOptions { Task = FffTask.BinaryClassification }, extra: "c"));
        StringAssert.Contains(three.Message, "exactly two");
        var notString = Assert.ThrowsExactly<ArgumentException>(
            () => mlContext.Fff().CreatePlan(mlContext.Fff().SampleData.BreastCancer(), options: new FffAutoTrainOptions { PositiveLabel = "True" }));
        Assert.AreEqual(nameof(FffAutoTrainOptions.PositiveLabel), notString.ParamName);
    }

    // ---- 3. Scoring data without the label ----

    [TestMethod]
    public void Train_ScoresDataWithoutTheLabelColumn_TransformPredictionEngineAndReload()
    {
        var mlContext = new MLContext(seed: 0);
        IDataView data = LoadChurn(mlContext, 300);
        IDataView unlabeled = mlContext.Data.LoadFromEnumerable(ChurnRows(300).Select(ChurnFeatures.From));

        // Binary (String label), multiclass (String label) and regression (Double label): each converts its label in the pipeline.
        foreach ((string label, string ignore) in new[] { (nameof(ChurnRow.Churn), nameof(ChurnRow.Segment)), (nameof(ChurnRow.Segment), nameof(ChurnRow.Churn)) })
        {
            FffAutoTrainOptions options = Small();
            options.IgnoreColumns = new[] { ignore, nameof(ChurnRow.Spend) };
            ITransformer model = mlContext.Fff().Train(data, label, options);
            IDataView withoutLabel = mlContext.Transforms.DropColumns(label).Fit(data).Transform(data);
            float[] expected = Scores(model.Transform(data));
            CollectionAssert.AreEqual(expected, Scores(model.Transform(withoutLabel)), label);
            Assert.IsNull(model.Transform(withoutLabel).Schema.GetColumnOrNull(label));

            using var stream = new MemoryStream();
            mlContext.Model.Save(model, data.Schema, stream);
            stream.Position = 0;
            var fresh = new MLContext(seed: 1);
            ITransformer loaded = fresh.Model.Load(stream, out _);
            CollectionAssert.AreEqual(expected, Scores(loaded.Transform(withoutLabel)), $"{label} after reload");
        }

        ITransformer binary = mlContext.Fff().Train(data, nameof(ChurnRow.Churn), Small());
        var engine = mlContext.Model.CreatePredictionEngine<ChurnFeatures, BinaryPrediction>(binary);
        float[] batch = binary.Transform(unlabeled).GetColumn<float>("Probability").ToArray();
        ChurnFeatures first = ChurnFeatures.From(ChurnRows(1)[0]);
        BinaryPrediction single = engine.Predict(first);
        Assert.AreEqual(batch[0], single.Probability);
        Assert.AreEqual(single.Score > 0 ? "Yes" : "No", single.PredictedLabel);

        ITransformer regression = mlContext.Fff().Train(data, nameof(ChurnRow.Spend), new FffAutoTrainOptions
        {
            Depth = 2, LeafWidth = 8, NumberOfEpochs = 5, Seed = 0, IgnoreColumns = new[] { nameof(ChurnRow.Churn), nameof(ChurnRow.Segment) },
        });
        IDataView noSpend = mlContext.Transforms.DropColumns(nameof(ChurnRow.Spend)).Fit(unlabeled).Transform(unlabeled);
        Assert.HasCount(300, regression.Transform(noSpend).GetColumn<float>("Score").ToArray());
    }

    // ---- 4. Per-column overrides ----

    [TestMethod]
    public void Train_ColumnUsages_OverrideTheInference()
    {
        var mlContext = new MLContext(seed: 0);
        IDataView data = LoadChurn(mlContext, 300);
        FffAutoTrainOptions options = Small();
        options.ColumnUsages = new Dictionary<string, FffColumnUsage>
        {
            [nameof(ChurnRow.Region)] = FffColumnUsage.Categorical,   // an Int32 code
            [nameof(ChurnRow.Contract)] = FffColumnUsage.Text,
            [nameof(ChurnRow.ChargesText)] = FffColumnUsage.Numeric,  // numbers stored as strings
            [nameof(ChurnRow.Notes)] = FffColumnUsage.Ignored,
        };
        FffAutoTrainPlan plan = mlContext.Fff().CreatePlan(data, nameof(ChurnRow.Churn), options);
        Dictionary<string, FffColumnUsage> usage = plan.Columns.ToDictionary(c => c.Name, c => c.Usage);
        Assert.AreEqual(FffColumnUsage.Categorical, usage[nameof(ChurnRow.Region)]);
        Assert.AreEqual(FffColumnUsage.Text, usage[nameof(ChurnRow.Contract)]);
        Assert.AreEqual(FffColumnUsage.Numeric, usage[nameof(ChurnRow.ChargesText)]);
        Assert.AreEqual(FffColumnUsage.Ignored, usage[nameof(ChurnRow.Notes)]);
        Assert.AreEqual(FffColumnUsage.Categorical, usage[nameof(ChurnRow.Payment)], "columns not named keep the inference");
        StringAssert.Contains(plan.Columns.Single(c => c.Name == nameof(ChurnRow.Region)).Reason, nameof(FffAutoTrainOptions.ColumnUsages));

        ITransformer model = plan.Pipeline.Fit(data);
        CalibratedBinaryClassificationMetrics metrics = mlContext.BinaryClassification.Evaluate(model.Transform(data), nameof(ChurnRow.Churn));
        Assert.IsGreaterThan(0.8, metrics.AreaUnderRocCurve, $"training AUC {metrics.AreaUnderRocCurve}");
    }

    [TestMethod]
    public void CreatePlan_BadColumnUsages_ThrowNamingTheColumn()
    {
        var mlContext = new MLContext(seed: 0);
        IDataView data = LoadChurn(mlContext, 40);
        var cases = new (string Column, FffColumnUsage Usage, string Expected)[]
        {
            ("Contrat", FffColumnUsage.Categorical, "not in the data"),
            (nameof(ChurnRow.Churn), FffColumnUsage.Categorical, "label"),
            (nameof(ChurnRow.Tenure), FffColumnUsage.Text, "String"),
            (nameof(ChurnRow.Notes), FffColumnUsage.Key, nameof(FffColumnUsage.Ignored)),
        };
        foreach ((string column, FffColumnUsage usage, string expected) in cases)
        {
            var options = new FffAutoTrainOptions { ColumnUsages = new Dictionary<string, FffColumnUsage> { [column] = usage } };
            var error = Assert.ThrowsExactly<ArgumentException>(() => mlContext.Fff().CreatePlan(data, nameof(ChurnRow.Churn), options), column);
            Assert.AreEqual(nameof(FffAutoTrainOptions.ColumnUsages), error.ParamName);
            StringAssert.Contains(error.Message, $"'{column}'");
            StringAssert.Contains(error.Message, expected);
        }
    }

    // ---- 5. Numbers stored as strings; identifiers ----

    [TestMethod]
    public void CreatePlan_NumbersStoredAsStrings_AreNumeric_AndTrainScoresMissingMarkers()
    {
        var mlContext = new MLContext(seed: 0);
        List<CodedRow> rows = Coded(300);
        IDataView data = mlContext.Data.LoadFromEnumerable(rows);
        FffAutoTrainPlan plan = mlContext.Fff().CreatePlan(data, nameof(CodedRow.Label), Tiny());
        Dictionary<string, FffColumnPlan> columns = plan.Columns.ToDictionary(c => c.Name);
        Assert.AreEqual(FffColumnUsage.Numeric, columns[nameof(CodedRow.Amount)].Usage, plan.ToString());
        StringAssert.Contains(columns[nameof(CodedRow.Amount)].Reason, "number");
        Assert.AreEqual(FffColumnUsage.Categorical, columns[nameof(CodedRow.Grade)].Usage, "few distinct numbers stay categories");
        Assert.AreEqual(FffColumnUsage.Text, columns[nameof(CodedRow.Mixed)].Usage, "numbers mixed with words stay text");

        // "NA", "?" and empty values are missing (mean-imputed), never a failure or a NaN score.
        ITransformer model = plan.Pipeline.Fit(data);
        var engine = mlContext.Model.CreatePredictionEngine<CodedRow, RegressionPrediction>(model);
        foreach (string missing in new[] { "NA", "?", "", "not a number" })
        {
            CodedRow row = rows[0];
            float score = engine.Predict(new CodedRow { Amount = missing, Grade = row.Grade, Mixed = row.Mixed, Id = "new" }).Score;
            Assert.IsTrue(float.IsFinite(score), $"'{missing}' gave {score}");
        }
        RegressionMetrics metrics = mlContext.Regression.Evaluate(model.Transform(data), nameof(CodedRow.Label));
        Assert.IsGreaterThan(0.6, metrics.RSquared, $"training R² {metrics.RSquared}: the amount, read as a number, explains most of the label");
    }

    [TestMethod]
    public void CreatePlan_AllDifferentSingleWords_AreSkippedAsIdentifiers_UnlessOverridden()
    {
        var mlContext = new MLContext(seed: 0);
        IDataView data = mlContext.Data.LoadFromEnumerable(Coded(300));
        FffAutoTrainPlan plan = mlContext.Fff().CreatePlan(data, nameof(CodedRow.Label), Tiny());
        FffColumnPlan id = plan.Columns.Single(c => c.Name == nameof(CodedRow.Id));
        Assert.AreEqual(FffColumnUsage.Skipped, id.Usage, plan.ToString());
        StringAssert.Contains(id.Reason, "identifier");
        StringAssert.Contains(id.Reason, nameof(FffAutoTrainOptions.ColumnUsages));

        // All-different sentences are still text (section 1), and the override still reaches the column.
        FffAutoTrainOptions options = Tiny();
        options.ColumnUsages = new Dictionary<string, FffColumnUsage> { [nameof(CodedRow.Id)] = FffColumnUsage.Text };
        Assert.AreEqual(FffColumnUsage.Text, mlContext.Fff().CreatePlan(data, nameof(CodedRow.Label), options).Columns.Single(c => c.Name == nameof(CodedRow.Id)).Usage);
    }

    // ---- 6. Rows without a label ----

    [TestMethod]
    public void Train_LeavesOutRowsWithoutALabel_AndLogsTheirCount()
    {
        var mlContext = new MLContext(seed: 0);
        var warnings = new List<string>();
        mlContext.Log += (_, e) => { if (e.Message.Contains("have no label", StringComparison.Ordinal)) warnings.Add(e.Message); };
        List<CodedRow> rows = Coded(300);
        for (int i = 0; i < rows.Count; i += 25)
            rows[i].Label = float.NaN;   // 12 rows
        ITransformer regression = mlContext.Fff().Train(mlContext.Data.LoadFromEnumerable(rows), nameof(CodedRow.Label), Tiny());
        float[] scores = mlContext.Data.CreateEnumerable<RegressionPrediction>(regression.Transform(mlContext.Data.LoadFromEnumerable(rows)), false)
            .Select(p => p.Score).ToArray();
        Assert.IsTrue(scores.All(float.IsFinite), "rows without a label still score");
        Assert.IsTrue(warnings.Any(m => m.Contains("'Label': 12 of 300 rows", StringComparison.Ordinal)), string.Join(Environment.NewLine, warnings));

        // Blanks in a "Yes"/"No" label are missing labels, not a third class: the model is binary.
        List<ChurnRow> churn = ChurnRows(300);
        for (int i = 0; i < churn.Count; i += 30)
            churn[i].Churn = i % 60 == 0 ? "" : "  ";
        IDataView churnData = mlContext.Data.LoadFromEnumerable(churn);
        ITransformer binary = mlContext.Fff().Train(churnData, nameof(ChurnRow.Churn), Small());
        Assert.IsNotNull(binary.GetOutputSchema(churnData.Schema).GetColumnOrNull("Probability"), "binary, with a Probability column");

        // No label at all is an error that names the column.
        foreach (CodedRow row in rows)
            row.Label = float.NaN;
        var error = Assert.ThrowsExactly<ArgumentException>(() => mlContext.Fff().Train(mlContext.Data.LoadFromEnumerable(rows), nameof(CodedRow.Label), Tiny()));
        StringAssert.Contains(error.Message, "'Label'");
    }

    [TestMethod]
    public void Train_InfiniteFeatureValues_ThrowNamingTheColumnAndRow()
    {
        // NaN is a missing value (imputed); ±∞ and Doubles beyond Single's range are not, and once scaled would make every value of the
        // column NaN. The trainer alone could only name a slot of the internal feature vector.
        var mlContext = new MLContext(seed: 0);
        var rows = Enumerable.Range(0, 60).Select(i => new WideRow { X = i % 5, Big = i, Label = i % 2 == 0 }).ToList();
        rows[7].X = float.NegativeInfinity;
        var error = Assert.ThrowsExactly<ArgumentException>(() => mlContext.Fff().Train(mlContext.Data.LoadFromEnumerable(rows), nameof(WideRow.Label), Tiny()));
        StringAssert.Contains(error.Message, "'X'");
        StringAssert.Contains(error.Message, "row 7");
        StringAssert.Contains(error.Message, nameof(FffAutoTrainOptions.IgnoreColumns));

        rows[7].X = 1;
        rows[9].Big = 1e300;
        error = Assert.ThrowsExactly<ArgumentException>(() => mlContext.Fff().Train(mlContext.Data.LoadFromEnumerable(rows), nameof(WideRow.Label), Tiny()));
        StringAssert.Contains(error.Message, "'Big'");
        StringAssert.Contains(error.Message, "row 9");

        // NaN alone is a missing value: imputed, and the table trains.
        rows[9].Big = double.NaN;
        Assert.IsNotNull(mlContext.Fff().Train(mlContext.Data.LoadFromEnumerable(rows), nameof(WideRow.Label), Tiny()));
    }

    [TestMethod]
    public void Train_OneClassBinaryLabel_ThrowsNamingTheLabelColumn()
    {
        var mlContext = new MLContext(seed: 0);
        var rows = Enumerable.Range(0, 60).Select(i => new WideRow { X = i % 5, Big = i, Label = true }).ToList();
        var error = Assert.ThrowsExactly<InvalidOperationException>(() => mlContext.Fff().Train(mlContext.Data.LoadFromEnumerable(rows), nameof(WideRow.Label), Tiny()));
        StringAssert.Contains(error.Message, $"The label column '{nameof(WideRow.Label)}' has only one class (true)");
    }

    [TestMethod]
    public void CreatePlan_WarnsOfALabelNamedLikeAnOutput_AndOfA01NumericLabel()
    {
        // Both train; the warnings say what would surprise later: Evaluate reading the prediction as the label, and no Probability.
        var mlContext = new MLContext(seed: 0);
        var warnings = new List<string>();
        mlContext.Log += (_, e) => { if (e.Kind == Microsoft.ML.Runtime.ChannelMessageKind.Warning) warnings.Add(e.Message); };
        var rows = Enumerable.Range(0, 40).Select(i => new ScoreRow { X = i, Score = i % 3, Passed = i % 2 }).ToList();
        IDataView data = mlContext.Data.LoadFromEnumerable(rows);
        var options = new FffAutoTrainOptions { IgnoreColumns = new[] { nameof(ScoreRow.Passed) } };

        Assert.AreEqual(FffTask.Regression, mlContext.Fff().CreatePlan(data, nameof(ScoreRow.Score), options).Task);
        Assert.IsTrue(warnings.Any(w => w.Contains("'Score'", StringComparison.Ordinal) && w.Contains("CopyColumns", StringComparison.Ordinal)), string.Join(Environment.NewLine, warnings));
        Assert.IsFalse(warnings.Any(w => w.Contains("only 0 and 1", StringComparison.Ordinal)), "0, 1 and 2 are not a binary label");
        // ... but three whole numbers may be classes (a digit label stored as Single): the warning names the Task option.
        Assert.IsTrue(warnings.Any(w => w.Contains("'Score'", StringComparison.Ordinal) && w.Contains("holds only 3 whole numbers (0 to 2)", StringComparison.Ordinal)
            && w.Contains("Task = FffTask.MulticlassClassification", StringComparison.Ordinal)), string.Join(Environment.NewLine, warnings));
        // A continuous label gets neither warning.
        warnings.Clear();
        var continuous = rows.Select(r => new ScoreRow { X = r.X, Score = r.X * 0.37f, Passed = r.Passed }).ToList();
        Assert.AreEqual(FffTask.Regression, mlContext.Fff().CreatePlan(mlContext.Data.LoadFromEnumerable(continuous), nameof(ScoreRow.Score), options).Task);
        Assert.IsFalse(warnings.Any(w => w.Contains("whole numbers", StringComparison.Ordinal)), string.Join(Environment.NewLine, warnings));

        warnings.Clear();
        options.IgnoreColumns = new[] { nameof(ScoreRow.Score) };
        Assert.AreEqual(FffTask.Regression, mlContext.Fff().CreatePlan(data, nameof(ScoreRow.Passed), options).Task, "numeric labels stay regression");
        Assert.IsTrue(warnings.Any(w => w.Contains("'Passed'", StringComparison.Ordinal) && w.Contains("only 0 and 1", StringComparison.Ordinal)), string.Join(Environment.NewLine, warnings));
        Assert.IsFalse(warnings.Any(w => w.Contains("CopyColumns", StringComparison.Ordinal)));
    }

    // ---- 7. Scoring what training never saw ----

    [TestMethod]
    public void Train_SavedModel_ScoresUnseenCategoriesMissingStringsAndNaN_OnAFreshContext()
    {
        var mlContext = new MLContext(seed: 0);
        var random = new Random(5);
        string?[] colors = { "red", "green", "blue", "", null };
        var rows = Enumerable.Range(0, 400).Select(i =>
        {
            float x = (float)(random.NextDouble() * 2 - 1);
            string? color = colors[random.Next(colors.Length)];
            return new PaintRow { X = i % 10 == 3 ? float.NaN : x, Color = color, Label = x + (color == "red" ? 0.8 : 0) > 0.2 };
        }).ToList();
        IDataView data = mlContext.Data.LoadFromEnumerable(rows);
        ITransformer model = mlContext.Fff().Train(data, nameof(PaintRow.Label), Tiny());

        using var stream = new MemoryStream();
        mlContext.Model.Save(model, data.Schema, stream);
        stream.Position = 0;
        var fresh = new MLContext(seed: 1);
        ITransformer loaded = fresh.Model.Load(stream, out _);
        var before = mlContext.Model.CreatePredictionEngine<PaintFeatures, PaintPrediction>(model);
        var after = fresh.Model.CreatePredictionEngine<PaintFeatures, PaintPrediction>(loaded);
        foreach (PaintFeatures row in new[]
        {
            new PaintFeatures { X = 0.5f, Color = "purple" },       // a category training never saw
            new PaintFeatures { X = 0.5f, Color = null },
            new PaintFeatures { X = 0.5f, Color = "  " },
            new PaintFeatures { X = float.NaN, Color = "red" },      // imputed by the training mean
            new PaintFeatures { X = float.NaN, Color = "purple" },
        })
        {
            PaintPrediction expected = before.Predict(row), actual = after.Predict(row);
            Assert.IsTrue(float.IsFinite(actual.Score) && actual.Probability is >= 0 and <= 1, $"'{row.Color}', {row.X}: {actual.Score} / {actual.Probability}");
            Assert.AreEqual(BitConverter.SingleToInt32Bits(expected.Score), BitConverter.SingleToInt32Bits(actual.Score), $"'{row.Color}', {row.X}: same score after loading");
        }
        Assert.AreNotEqual(after.Predict(new PaintFeatures { X = 0.1f, Color = "red" }).Score, after.Predict(new PaintFeatures { X = 0.1f, Color = "purple" }).Score,
            "a known category still counts");
    }

    // ---- helpers ----

    private static FffAutoTrainOptions Small() => new()
    {
        Depth = 2,
        LeafWidth = 8,
        NumberOfEpochs = 10,
        Seed = 0,
        IgnoreColumns = new[] { nameof(ChurnRow.Segment), nameof(ChurnRow.Spend) },
    };

    private static FffAutoTrainPlan PlanFor(MLContext mlContext, string first, string second, FffAutoTrainOptions? options = null, string? extra = null)
    {
        var rows = Enumerable.Range(0, 60).Select(i => new SentenceRow
        {
            Text = (i % 3).ToString(CultureInfo.InvariantCulture),
            Name = extra != null && i == 59 ? extra : i % 2 == 0 ? first : second,
        }).ToList();
        options ??= new FffAutoTrainOptions();
        options.IgnoreColumns = new[] { nameof(SentenceRow.Label) };
        return mlContext.Fff().CreatePlan(mlContext.Data.LoadFromEnumerable(rows), nameof(SentenceRow.Name), options);
    }

    private static float[] Scores(IDataView scored)
    {
        if (scored.Schema["Score"].Type is VectorDataViewType)
            return scored.GetColumn<VBuffer<float>>("Score").SelectMany(v => v.DenseValues()).ToArray();
        return scored.GetColumn<float>("Score").ToArray();
    }

    private static IDataView LoadChurn(MLContext mlContext, int count) => mlContext.Data.LoadFromEnumerable(ChurnRows(count));

    private static List<ChurnRow> ChurnRows(int count)
    {
        var random = new Random(11);
        string[] contracts = { "Month-to-month", "One year", "Two year" };
        string[] payments = { "Electronic check", "Mailed check", "Bank transfer (automatic)", "Credit card (automatic)" };
        string[] topics = { "billing", "speed", "outage", "upgrade", "router", "price" };
        var rows = new List<ChurnRow>(count);
        for (int i = 0; i < count; i++)
        {
            string contract = contracts[random.Next(3)];
            float tenure = (float)(random.NextDouble() * 72);
            float charges = (float)(20 + random.NextDouble() * 100);
            int region = random.Next(5);
            double signal = (contract == "Month-to-month" ? 1.5 : contract == "One year" ? -0.5 : -1.5) - tenure / 24 + charges / 60
                + (region == 3 ? 1 : 0) + 0.3 * (random.NextDouble() - 0.5);
            rows.Add(new ChurnRow
            {
                Contract = contract,
                Payment = payments[random.Next(payments.Length)],
                Tenure = tenure,
                ChargesText = charges.ToString("0.00", CultureInfo.InvariantCulture),
                Region = region,
                Notes = $"call {i} about {topics[random.Next(topics.Length)]} on day {random.Next(1, 29)}",
                Churn = signal > 0 ? "Yes" : "No",
                Segment = signal < -1 ? "loyal" : signal < 0.5 ? "watch" : "risk",
                Spend = (double)(charges * tenure / 10),
            });
        }
        return rows;
    }

    private static FffAutoTrainOptions Tiny() => new() { Depth = 1, LeafWidth = 8, NumberOfEpochs = 60, Seed = 0 };

    // Label = amount / 100 + grade; Amount holds numbers as strings (a few "NA", "?" and empty), Grade three numeric codes, Mixed numbers and
    // words, Id a different word on every row.
    private static List<CodedRow> Coded(int count)
    {
        var random = new Random(3);
        var rows = new List<CodedRow>(count);
        for (int i = 0; i < count; i++)
        {
            double amount = random.NextDouble() * 1000;
            int grade = random.Next(3);
            int draw = random.Next(40);
            rows.Add(new CodedRow
            {
                Amount = draw == 0 ? "NA" : draw == 1 ? "?" : draw == 2 ? "" : amount.ToString("0.##", CultureInfo.InvariantCulture),
                Grade = grade.ToString(CultureInfo.InvariantCulture),
                Mixed = random.Next(2) == 0 ? "n/a" + random.Next(100) : random.Next(1000).ToString(CultureInfo.InvariantCulture),
                Id = "cust-" + i.ToString("x5", CultureInfo.InvariantCulture),
                Label = draw <= 2 ? 5 + grade : (float)(amount / 100 + grade),
            });
        }
        return rows;
    }

    private sealed class CodedRow
    {
        public string Amount { get; set; } = "";
        public string Grade { get; set; } = "";
        public string Mixed { get; set; } = "";
        public string Id { get; set; } = "";
        public float Label { get; set; }
    }

    private sealed class RegressionPrediction
    {
        public float Score { get; set; }
    }

    private sealed class WideRow
    {
        public float X { get; set; }
        public double Big { get; set; }
        public bool Label { get; set; }
    }

    private sealed class ScoreRow
    {
        public float X { get; set; }
        public float Score { get; set; }
        public int Passed { get; set; }
    }

    private sealed class PaintRow
    {
        public float X { get; set; }
        public string? Color { get; set; }
        public bool Label { get; set; }
    }

    private sealed class PaintFeatures
    {
        public float X { get; set; }
        public string? Color { get; set; }
    }

    private sealed class PaintPrediction
    {
        public float Score { get; set; }
        public float Probability { get; set; }
    }

    private sealed class ChurnFeatures
    {
        public string Contract { get; set; } = "";
        public string Payment { get; set; } = "";
        public float Tenure { get; set; }
        public string ChargesText { get; set; } = "";
        public int Region { get; set; }
        public string Notes { get; set; } = "";
        public double Spend { get; set; }

        public static ChurnFeatures From(ChurnRow row) => new()
        {
            Contract = row.Contract, Payment = row.Payment, Tenure = row.Tenure, ChargesText = row.ChargesText,
            Region = row.Region, Notes = row.Notes, Spend = row.Spend,
        };
    }

    private sealed class ChurnRow
    {
        public string Contract { get; set; } = "";
        public string Payment { get; set; } = "";
        public float Tenure { get; set; }
        public string ChargesText { get; set; } = "";
        public int Region { get; set; }
        public string Notes { get; set; } = "";
        public string Churn { get; set; } = "";
        public string Segment { get; set; } = "";
        public double Spend { get; set; }
    }

    private sealed class SentenceRow
    {
        public string Text { get; set; } = "";
        public bool Label { get; set; }
        public string Name { get; set; } = "";
    }

    private sealed class BinaryPrediction
    {
        public string PredictedLabel { get; set; } = "";
        public float Probability { get; set; }
        public float Score { get; set; }
    }
}
