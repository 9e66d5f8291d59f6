using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using Microsoft.ML.Data;
using Microsoft.ML.Fff;
using Microsoft.ML.Fff.FastFeedForward;
using Microsoft.VisualStudio.TestTools.UnitTesting;

namespace Microsoft.ML.Fff.Tests;

[TestClass]
public sealed class AutoTrainTests
{
    // Tiny trainings through FffAutoTrainOptions (no NumberOfThreads): libtorch on one thread (OneTorchThread).
    [ClassInitialize]
    public static void UseOneTorchThread(TestContext context) => OneTorchThread.Enter();

    [ClassCleanup]
    public static void RestoreTorchThreads() => OneTorchThread.Exit();

    private static readonly string[] LabelColumns = { nameof(MixedRow.IsGood), nameof(MixedRow.Target), nameof(MixedRow.TargetD), nameof(MixedRow.Kind) };

    // ---- 1. Task inference ----

    [TestMethod]
    public void InferTask_MapsEachLabelType()
    {
        FffCatalog fff = new MLContext(seed: 0).Fff();
        Assert.AreEqual(FffTask.BinaryClassification, fff.InferTask(BooleanDataViewType.Instance));
        Assert.AreEqual(FffTask.Regression, fff.InferTask(NumberDataViewType.Single));
        Assert.AreEqual(FffTask.Regression, fff.InferTask(NumberDataViewType.Double));
        Assert.AreEqual(FffTask.Regression, fff.InferTask(NumberDataViewType.Int32));
        Assert.AreEqual(FffTask.Regression, fff.InferTask(NumberDataViewType.UInt64));
        Assert.AreEqual(FffTask.MulticlassClassification, fff.InferTask(TextDataViewType.Instance));
        Assert.AreEqual(FffTask.MulticlassClassification, fff.InferTask(new KeyDataViewType(typeof(uint), 10)));
        Assert.AreEqual(FffTask.MulticlassClassification, fff.InferTask(new KeyDataViewType(typeof(byte), 3)));
    }

    [TestMethod]
    public void InferTask_RejectsOtherTypes()
    {
        FffCatalog fff = new MLContext(seed: 0).Fff();
        var vector = Assert.ThrowsExactly<ArgumentException>(() => fff.InferTask(new VectorDataViewType(NumberDataViewType.Single, 3)));
        StringAssert.Contains(vector.Message, "Vector<Single, 3>");
        StringAssert.Contains(vector.Message, "Boolean");
        Assert.ThrowsExactly<ArgumentException>(() => fff.InferTask(DateTimeDataViewType.Instance));
        Assert.ThrowsExactly<ArgumentNullException>(() => fff.InferTask(null!));
    }

    [TestMethod]
    public void CreatePlan_InfersTaskFromLabelColumns()
    {
        var mlContext = new MLContext(seed: 0);
        IDataView data = LoadMixed(mlContext, 60);
        Assert.AreEqual(FffTask.BinaryClassification, mlContext.Fff().CreatePlan(data, nameof(MixedRow.IsGood), OptionsFor(nameof(MixedRow.IsGood))).Task);
        Assert.AreEqual(FffTask.Regression, mlContext.Fff().CreatePlan(data, nameof(MixedRow.Target), OptionsFor(nameof(MixedRow.Target))).Task);
        Assert.AreEqual(FffTask.Regression, mlContext.Fff().CreatePlan(data, nameof(MixedRow.TargetD), OptionsFor(nameof(MixedRow.TargetD))).Task);
        Assert.AreEqual(FffTask.MulticlassClassification, mlContext.Fff().CreatePlan(data, nameof(MixedRow.Kind), OptionsFor(nameof(MixedRow.Kind))).Task);

        IDataView keyed = mlContext.Transforms.Conversion.MapValueToKey("Label").Fit(mlContext.Fff().SampleData.Digits()).Transform(mlContext.Fff().SampleData.Digits());
        Assert.AreEqual(FffTask.MulticlassClassification, mlContext.Fff().CreatePlan(keyed).Task);
    }

    [TestMethod]
    public void CreatePlan_TaskOptionOverridesInference()
    {
        var mlContext = new MLContext(seed: 0);
        IDataView digits = mlContext.Fff().SampleData.Digits();
        // A numeric label trains regression (digits' whole-number label on images is classified: AutoTrainImageTests).
        Assert.AreEqual(FffTask.Regression, mlContext.Fff().CreatePlan(mlContext.Fff().SampleData.Diabetes()).Task);
        Assert.AreEqual(FffTask.MulticlassClassification,
            mlContext.Fff().CreatePlan(digits, options: new FffAutoTrainOptions { Task = FffTask.MulticlassClassification }).Task);
        Assert.AreEqual(FffTask.Regression,
            mlContext.Fff().CreatePlan(mlContext.Fff().SampleData.BreastCancer(), options: new FffAutoTrainOptions { Task = FffTask.Regression }).Task);

        var error = Assert.ThrowsExactly<ArgumentException>(
            () => mlContext.Fff().CreatePlan(digits, options: new FffAutoTrainOptions { Task = FffTask.BinaryClassification }));
        StringAssert.Contains(error.Message, "'Label'");
        StringAssert.Contains(error.Message, "Boolean");
    }

    [TestMethod]
    public void CreatePlan_DecidesHowEachColumnIsUsed()
    {
        var mlContext = new MLContext(seed: 0);
        FffAutoTrainPlan plan = mlContext.Fff().CreatePlan(LoadMixed(mlContext, 200), nameof(MixedRow.IsGood), OptionsFor(nameof(MixedRow.IsGood)));
        Dictionary<string, FffColumnUsage> usage = plan.Columns.ToDictionary(c => c.Name, c => c.Usage);
        Assert.AreEqual(FffColumnUsage.Label, usage[nameof(MixedRow.IsGood)]);
        Assert.AreEqual(FffColumnUsage.Numeric, usage[nameof(MixedRow.Number)]);
        Assert.AreEqual(FffColumnUsage.Numeric, usage[nameof(MixedRow.Flag)]);
        Assert.AreEqual(FffColumnUsage.Numeric, usage[nameof(MixedRow.Amount)]);
        Assert.AreEqual(FffColumnUsage.Numeric, usage[nameof(MixedRow.Count)]);
        Assert.AreEqual(FffColumnUsage.Categorical, usage[nameof(MixedRow.Color)]);
        Assert.AreEqual(FffColumnUsage.Categorical, usage[nameof(MixedRow.City)]);
        Assert.AreEqual(FffColumnUsage.Text, usage[nameof(MixedRow.Comment)]);
        Assert.AreEqual(FffColumnUsage.Text, usage[nameof(MixedRow.Code)]);
        Assert.AreEqual(FffColumnUsage.Key, usage[nameof(MixedRow.Bucket)]);
        Assert.AreEqual(FffColumnUsage.Skipped, usage[nameof(MixedRow.When)]);
        Assert.AreEqual(FffColumnUsage.Skipped, usage[nameof(MixedRow.Ragged)]);
        Assert.AreEqual(FffColumnUsage.Ignored, usage[nameof(MixedRow.Kind)]);
        CollectionAssert.AreEquivalent(new[] { nameof(MixedRow.When), nameof(MixedRow.Ragged) }, plan.SkippedColumns.Select(c => c.Name).ToArray());
        Assert.AreEqual("__FffFeatures__", plan.FeatureColumnName);

        // A lower cardinality limit turns the 4-value column into text.
        FffAutoTrainOptions low = OptionsFor(nameof(MixedRow.IsGood));
        low.MaxCategoricalCardinality = 3;
        FffAutoTrainPlan lowPlan = mlContext.Fff().CreatePlan(LoadMixed(mlContext, 200), nameof(MixedRow.IsGood), low);
        Assert.AreEqual(FffColumnUsage.Text, lowPlan.Columns.Single(c => c.Name == nameof(MixedRow.Color)).Usage);
    }

    [TestMethod]
    public void CreatePlan_FeatureNameAvoidsUserColumns()
    {
        var mlContext = new MLContext(seed: 0);
        var rows = Enumerable.Range(0, 40).Select(i => new ClashRow { __FffFeatures__ = i, Label = i % 2 == 0 }).ToList();
        IDataView data = mlContext.Data.LoadFromEnumerable(rows);
        FffAutoTrainPlan plan = mlContext.Fff().CreatePlan(data);
        Assert.AreNotEqual("__FffFeatures__", plan.FeatureColumnName);
        ITransformer model = plan.Pipeline.Fit(data);
        Assert.AreEqual(NumberDataViewType.Single, model.Transform(data).Schema["__FffFeatures__"].Type);
    }

    // ---- 2. Training on a mixed table, every task ----

    [TestMethod]
    public void Train_Binary_MixedTable_OutputsScoreProbabilityPredictedLabel()
    {
        var mlContext = new MLContext(seed: 0);
        IDataView data = LoadMixed(mlContext, 200);
        ITransformer model = mlContext.Fff().Train(data, nameof(MixedRow.IsGood), OptionsFor(nameof(MixedRow.IsGood)));
        Assert.IsInstanceOfType<TransformerChain<ITransformer>>(model);
        DataViewSchema schema = model.Transform(data).Schema;
        Assert.AreEqual(NumberDataViewType.Single, schema["Score"].Type);
        Assert.AreEqual(NumberDataViewType.Single, schema["Probability"].Type);
        Assert.AreEqual(BooleanDataViewType.Instance, schema["PredictedLabel"].Type);
        Assert.IsNull(schema.GetColumnOrNull("__FffNumerics__"), "intermediate columns are dropped");

        CalibratedBinaryClassificationMetrics metrics = mlContext.BinaryClassification.Evaluate(model.Transform(data), nameof(MixedRow.IsGood));
        Assert.IsGreaterThan(0.8, metrics.AreaUnderRocCurve, $"training AUC {metrics.AreaUnderRocCurve}");
    }

    [TestMethod]
    public void Train_Regression_MixedTable_DoubleLabel_OutputsScore()
    {
        var mlContext = new MLContext(seed: 0);
        IDataView data = LoadMixed(mlContext, 200);
        ITransformer model = mlContext.Fff().Train(data, nameof(MixedRow.TargetD), OptionsFor(nameof(MixedRow.TargetD)));
        IDataView scored = model.Transform(data);
        Assert.AreEqual(NumberDataViewType.Single, scored.Schema["Score"].Type);
        Assert.AreEqual(NumberDataViewType.Single, scored.Schema[nameof(MixedRow.TargetD)].Type, "the Double label is converted to Single");
        Assert.IsNull(scored.Schema.GetColumnOrNull("PredictedLabel"));
        RegressionMetrics metrics = mlContext.Regression.Evaluate(scored, nameof(MixedRow.TargetD));
        Assert.IsGreaterThan(0.5, metrics.RSquared, $"training R^2 {metrics.RSquared}");
    }

    [TestMethod]
    public void Train_Multiclass_MixedTable_StringLabel_PredictsStrings()
    {
        var mlContext = new MLContext(seed: 0);
        IDataView data = LoadMixed(mlContext, 200);
        ITransformer model = mlContext.Fff().Train(data, nameof(MixedRow.Kind), OptionsFor(nameof(MixedRow.Kind)));
        IDataView scored = model.Transform(data);
        Assert.AreEqual(TextDataViewType.Instance, scored.Schema["PredictedLabel"].Type);
        Assert.AreEqual(new VectorDataViewType(NumberDataViewType.Single, 3), scored.Schema["Score"].Type);
        string[] predicted = scored.GetColumn<string>("PredictedLabel").ToArray();
        CollectionAssert.IsSubsetOf(predicted.Distinct().ToArray(), new[] { "low", "mid", "high" });
        MulticlassClassificationMetrics metrics = mlContext.MulticlassClassification.Evaluate(scored, nameof(MixedRow.Kind));
        Assert.IsGreaterThan(0.5, metrics.MicroAccuracy, $"training accuracy {metrics.MicroAccuracy}");

        // A PredictionEngine gives the same string prediction.
        SchemaDefinition inputSchema = SchemaDefinition.Create(typeof(MixedRow));
        inputSchema[nameof(MixedRow.Bucket)].ColumnType = new KeyDataViewType(typeof(uint), 4);
        var engine = mlContext.Model.CreatePredictionEngine<MixedRow, StringPrediction>(model, inputSchemaDefinition: inputSchema);
        StringPrediction prediction = engine.Predict(MixedRows(1)[0]);
        Assert.AreEqual(predicted[0], prediction.PredictedLabel);
    }

    [TestMethod]
    public void Train_Multiclass_KeyLabel_AndNumericOverride()
    {
        var mlContext = new MLContext(seed: 0);
        IDataView digits = mlContext.Data.TakeRows(mlContext.Fff().SampleData.Digits(), 400);
        var small = new FffAutoTrainOptions { Depth = 2, LeafWidth = 16, NumberOfEpochs = 10, Seed = 1 };

        IDataView keyed = mlContext.Transforms.Conversion.MapValueToKey("Label").Fit(digits).Transform(digits);
        IDataView keyScored = mlContext.Fff().Train(keyed, options: small).Transform(keyed);
        Assert.IsInstanceOfType<KeyDataViewType>(keyScored.Schema["PredictedLabel"].Type, "a key label gives a key prediction");
        Assert.IsGreaterThan(0.8, mlContext.MulticlassClassification.Evaluate(keyScored).MicroAccuracy);

        var asClasses = new FffAutoTrainOptions { Task = FffTask.MulticlassClassification, Depth = 2, LeafWidth = 16, NumberOfEpochs = 10, Seed = 1 };
        ITransformer model = mlContext.Fff().Train(digits, options: asClasses);
        IDataView scored = model.Transform(digits);
        Assert.AreEqual(NumberDataViewType.Single, scored.Schema["PredictedLabel"].Type, "predictions come back in the label's own type");
        Assert.AreEqual(10, ((VectorDataViewType)scored.Schema["Score"].Type).Size);
        Assert.IsGreaterThan(0.8, mlContext.MulticlassClassification.Evaluate(scored).MicroAccuracy);

        var engine = mlContext.Model.CreatePredictionEngine<DigitRow, DigitPrediction>(model);
        DigitRow row = mlContext.Data.CreateEnumerable<DigitRow>(digits, reuseRowObject: false).First();
        Assert.AreEqual(scored.GetColumn<float>("PredictedLabel").First(), engine.Predict(row).PredictedLabel);
    }

    [TestMethod]
    public void Train_UsesWeightColumnAndReportsProgress_WithoutChangingOptions()
    {
        var mlContext = new MLContext(seed: 0);
        IDataView data = LoadMixed(mlContext, 120);
        var epochs = new List<FffTrainingProgress>();
        FffAutoTrainOptions options = OptionsFor(nameof(MixedRow.IsGood));
        options.ExampleWeightColumnName = nameof(MixedRow.Weight);
        options.Progress = new SyncProgress(epochs.Add);
        string[] ignoreBefore = options.IgnoreColumns!.ToArray();

        FffAutoTrainPlan plan = mlContext.Fff().CreatePlan(data, nameof(MixedRow.IsGood), options);
        Assert.AreEqual(FffColumnUsage.ExampleWeight, plan.Columns.Single(c => c.Name == nameof(MixedRow.Weight)).Usage);
        ITransformer model = plan.Pipeline.Fit(data);
        IDataView withoutWeight = mlContext.Transforms.DropColumns(nameof(MixedRow.Weight)).Fit(data).Transform(data);
        Assert.HasCount(120, model.Transform(withoutWeight).GetColumn<float>("Score").ToArray(), "scoring needs no weight column");

        Assert.HasCount(options.NumberOfEpochs!.Value, epochs);
        Assert.AreEqual(nameof(MixedRow.Weight), options.ExampleWeightColumnName);
        Assert.IsNull(options.Task);
        Assert.AreEqual(2, options.Depth);
        CollectionAssert.AreEqual(ignoreBefore, options.IgnoreColumns!.ToArray());
    }

    [TestMethod]
    public void Train_WithoutHoldout_MeasuresTheCurveOnlyForAProgressSubscriber()
    {
        var mlContext = new MLContext(seed: 0);
        IDataView data = LoadMixed(mlContext, 120);
        FffTrainingReport Report(IProgress<FffTrainingProgress>? progress)
        {
            FffAutoTrainOptions options = OptionsFor(nameof(MixedRow.IsGood));
            options.Progress = progress;
            ITransformer model = mlContext.Fff().Train(data, nameof(MixedRow.IsGood), options);
            var scorer = ((IEnumerable<ITransformer>)model).OfType<BinaryPredictionTransformer<FffBinaryModelParameters>>().Single();
            return scorer.Model.TrainingReport!;
        }

        // No one reads the curve: only the kept (last) epoch is measured, so the report's final metrics stay.
        FffTrainingReport quiet = Report(null);
        Assert.IsGreaterThan(2, quiet.Epochs.Count);
        Assert.IsTrue(quiet.Epochs.Take(quiet.Epochs.Count - 1).All(e => double.IsNaN(e.HardMetric) && double.IsNaN(e.SoftMetric)), "earlier epochs are not measured");
        Assert.IsTrue(double.IsFinite(quiet.Final.HardMetric) && double.IsFinite(quiet.Final.SoftMetric), "the last epoch is");

        // A subscriber gets every epoch's metrics, and the same model: measuring does not change training.
        var seen = new List<FffTrainingProgress>();
        FffTrainingReport watched = Report(new SyncProgress(seen.Add));
        Assert.HasCount(watched.Epochs.Count, seen);
        Assert.IsTrue(seen.All(e => double.IsFinite(e.HardMetric)), "every epoch is measured for the subscriber");
        Assert.AreEqual(quiet.Final.HardMetric, watched.Final.HardMetric);
    }

    // ---- 3. Save / load ----

    [TestMethod]
    public void Train_SavedChainLoadsOnFreshContext_WithIdenticalScores()
    {
        foreach (string label in new[] { nameof(MixedRow.IsGood), nameof(MixedRow.Target), nameof(MixedRow.Kind) })
        {
            var mlContext = new MLContext(seed: 0);
            IDataView data = LoadMixed(mlContext, 150);
            ITransformer model = mlContext.Fff().Train(data, label, OptionsFor(label));
            float[] before = Scores(model.Transform(data));

            using var stream = new MemoryStream();
            mlContext.Model.Save(model, data.Schema, stream);
            stream.Position = 0;
            var fresh = new MLContext(seed: 123);
            ITransformer loaded = fresh.Model.Load(stream, out DataViewSchema inputSchema);
            Assert.AreEqual(data.Schema.Count, inputSchema.Count);
            float[] after = Scores(loaded.Transform(LoadMixed(fresh, 150)));

            Assert.HasCount(before.Length, after, label);
            for (int i = 0; i < before.Length; i++)
                Assert.AreEqual(BitConverter.SingleToInt32Bits(before[i]), BitConverter.SingleToInt32Bits(after[i]), $"{label}: score {i} differs ({before[i]} vs {after[i]})");
        }
    }

    // ---- 4. Bad inputs ----

    [TestMethod]
    public void Train_MissingLabel_NamesColumnAndListsAvailable()
    {
        var mlContext = new MLContext(seed: 0);
        var error = Assert.ThrowsExactly<ArgumentException>(() => mlContext.Fff().Train(mlContext.Fff().SampleData.Diabetes(), "Target"));
        StringAssert.Contains(error.Message, "'Target'");
        StringAssert.Contains(error.Message, "'Features'");
        StringAssert.Contains(error.Message, "'Label'");
        Assert.AreEqual("labelColumnName", error.ParamName);
    }

    [TestMethod]
    public void Train_UnsupportedLabelType_NamesColumnTypeAndAcceptedTypes()
    {
        var mlContext = new MLContext(seed: 0);
        var vector = Assert.ThrowsExactly<ArgumentException>(() => mlContext.Fff().Train(mlContext.Fff().SampleData.Diabetes(), "Features"));
        StringAssert.Contains(vector.Message, "'Features'");
        StringAssert.Contains(vector.Message, "Vector<Single, 10>");
        StringAssert.Contains(vector.Message, "Boolean");
        StringAssert.Contains(vector.Message, "String");

        var date = Assert.ThrowsExactly<ArgumentException>(() => mlContext.Fff().Train(LoadMixed(mlContext, 20), nameof(MixedRow.When)));
        StringAssert.Contains(date.Message, "'When'");
        StringAssert.Contains(date.Message, "DateTime");
    }

    [TestMethod]
    public void Train_NoUsableFeature_Throws()
    {
        var mlContext = new MLContext(seed: 0);
        IDataView data = LoadMixed(mlContext, 20);
        string[] features = { nameof(MixedRow.Number), nameof(MixedRow.Flag), nameof(MixedRow.Color), nameof(MixedRow.City), nameof(MixedRow.Comment),
            nameof(MixedRow.Code), nameof(MixedRow.Amount), nameof(MixedRow.Count), nameof(MixedRow.Bucket), nameof(MixedRow.Weight) };
        var options = new FffAutoTrainOptions { IgnoreColumns = LabelColumns.Where(l => l != nameof(MixedRow.IsGood)).Concat(features).ToArray() };
        var error = Assert.ThrowsExactly<ArgumentException>(() => mlContext.Fff().Train(data, nameof(MixedRow.IsGood), options));
        StringAssert.Contains(error.Message, "No column");
        StringAssert.Contains(error.Message, "'When'");
        StringAssert.Contains(error.Message, "'Ragged'");

        IDataView labelOnly = mlContext.Data.LoadFromEnumerable(new[] { new LabelOnlyRow { Label = true }, new LabelOnlyRow { Label = false } });
        Assert.ThrowsExactly<ArgumentException>(() => mlContext.Fff().Train(labelOnly));
    }

    [TestMethod]
    public void Train_InvalidOptions_ThrowNamingTheOption()
    {
        var mlContext = new MLContext(seed: 0);
        IDataView data = mlContext.Fff().SampleData.BreastCancer();
        var cases = new (string Option, FffAutoTrainOptions Options)[]
        {
            (nameof(FffAutoTrainOptions.Depth), new FffAutoTrainOptions { Depth = -1 }),
            (nameof(FffAutoTrainOptions.Depth), new FffAutoTrainOptions { Depth = FffDefaults.MaxDepth + 1 }),
            (nameof(FffAutoTrainOptions.LeafWidth), new FffAutoTrainOptions { LeafWidth = 0 }),
            (nameof(FffAutoTrainOptions.LeafWidth), new FffAutoTrainOptions { LeafWidth = FffDefaults.MaxLeafWidth + 1 }),
            (nameof(FffAutoTrainOptions.NumberOfEpochs), new FffAutoTrainOptions { NumberOfEpochs = 0 }),
            (nameof(FffAutoTrainOptions.MaxCategoricalCardinality), new FffAutoTrainOptions { MaxCategoricalCardinality = 1 }),
            (nameof(FffAutoTrainOptions.Task), new FffAutoTrainOptions { Task = (FffTask)42 }),
        };
        foreach ((string option, FffAutoTrainOptions options) in cases)
        {
            var error = Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => mlContext.Fff().Train(data, options: options), option);
            Assert.AreEqual(option, error.ParamName);
            StringAssert.Contains(error.Message, option);
        }

        var weight = Assert.ThrowsExactly<ArgumentException>(() => mlContext.Fff().Train(data, options: new FffAutoTrainOptions { ExampleWeightColumnName = "W" }));
        StringAssert.Contains(weight.Message, nameof(FffAutoTrainOptions.ExampleWeightColumnName));
        StringAssert.Contains(weight.Message, "'W'");
        var ignore = Assert.ThrowsExactly<ArgumentException>(() => mlContext.Fff().Train(data, options: new FffAutoTrainOptions { IgnoreColumns = new[] { "Nope" } }));
        StringAssert.Contains(ignore.Message, nameof(FffAutoTrainOptions.IgnoreColumns));
        StringAssert.Contains(ignore.Message, "'Nope'");
        Assert.ThrowsExactly<ArgumentNullException>(() => mlContext.Fff().Train(null!));
    }

    // ---- 5. Accuracy ----

    [TestMethod]
    public void Train_BreastCancer_TestAucAtLeast095()
    {
        var mlContext = new MLContext(seed: 0);
        DataOperationsCatalog.TrainTestData split = mlContext.Data.TrainTestSplit(mlContext.Fff().SampleData.BreastCancer(), testFraction: 0.2, seed: 0);
        ITransformer model = mlContext.Fff().Train(split.TrainSet, options: new FffAutoTrainOptions { NumberOfEpochs = 20, Seed = 0 });
        CalibratedBinaryClassificationMetrics metrics = mlContext.BinaryClassification.Evaluate(model.Transform(split.TestSet));
        Assert.IsGreaterThanOrEqualTo(0.95, metrics.AreaUnderRocCurve, $"test AUC {metrics.AreaUnderRocCurve}");
    }

    [TestMethod]
    public void CreatePipeline_CrossValidatesDiabetes()
    {
        var mlContext = new MLContext(seed: 0);
        IDataView data = mlContext.Fff().SampleData.Diabetes();
        IEstimator<ITransformer> pipeline = mlContext.Fff().CreatePipeline(data, options: new FffAutoTrainOptions { Depth = 2, LeafWidth = 8, NumberOfEpochs = 15, Seed = 0 });
        var folds = mlContext.Regression.CrossValidate(data, pipeline, numberOfFolds: 2);
        double r2 = folds.Average(f => f.Metrics.RSquared);
        Assert.IsGreaterThan(0.2, r2, $"mean cross-validated R^2 {r2}");
    }

    // ---- helpers ----

    private static FffAutoTrainOptions OptionsFor(string label) => new()
    {
        Depth = 2,
        LeafWidth = 8,
        NumberOfEpochs = 15,
        Seed = 0,
        IgnoreColumns = LabelColumns.Where(l => l != label).ToArray(),
    };

    private static float[] Scores(IDataView scored)
    {
        if (scored.Schema["Score"].Type is VectorDataViewType)
            return scored.GetColumn<VBuffer<float>>("Score").SelectMany(v => v.DenseValues()).ToArray();
        return scored.GetColumn<float>("Score").ToArray();
    }

    private static IDataView LoadMixed(MLContext mlContext, int count)
    {
        SchemaDefinition schema = SchemaDefinition.Create(typeof(MixedRow));
        schema[nameof(MixedRow.Bucket)].ColumnType = new KeyDataViewType(typeof(uint), 4);
        return mlContext.Data.LoadFromEnumerable(MixedRows(count), schema);
    }

    private static List<MixedRow> MixedRows(int count)
    {
        var random = new Random(7);
        string[] colors = { "red", "green", "blue", "yellow" };
        string[] cities = { "New York", "Paris", "Los Angeles", "Berlin", "Rome", "Oslo" };
        string[] nouns = { "service", "food", "room", "staff", "delivery", "price", "screen", "battery" };
        string[] good = { "great", "excellent", "lovely", "fantastic", "superb" };
        string[] bad = { "awful", "terrible", "poor", "disappointing", "slow" };
        var rows = new List<MixedRow>(count);
        for (int i = 0; i < count; i++)
        {
            float number = (float)(random.NextDouble() * 4 - 2);
            bool flag = random.Next(2) == 0;
            string color = colors[random.Next(colors.Length)];
            double amount = random.NextDouble() * 10;
            bool positive = random.Next(2) == 0;
            uint bucket = (uint)random.Next(4);
            string comment = $"the {nouns[random.Next(nouns.Length)]} was {(positive ? good : bad)[random.Next(5)]} and {(random.Next(2) == 0 ? "quick" : "fine")}";
            double signal = number + (flag ? 0.8 : -0.8) + (color == "red" ? 1.5 : color == "blue" ? -1 : 0) + (positive ? 1.2 : -1.2) + 0.2 * (amount - 5) + 0.5 * (bucket - 1.5);
            rows.Add(new MixedRow
            {
                Number = number,
                Flag = flag,
                Color = color,
                City = cities[random.Next(cities.Length)],
                Comment = comment,
                Code = "C" + random.Next(100, 400).ToString(System.Globalization.CultureInfo.InvariantCulture),
                Amount = i % 17 == 5 ? double.NaN : amount,
                Count = random.Next(10),
                Bucket = bucket + 1,
                When = new DateTime(2020, 1, 1).AddDays(i),
                Ragged = new float[i % 3 + 1],
                Weight = 0.5 + random.NextDouble(),
                IsGood = signal > 0,
                Target = (float)signal,
                TargetD = signal,
                Kind = signal < -1 ? "low" : signal < 1 ? "mid" : "high",
            });
        }
        return rows;
    }

    private sealed class SyncProgress : IProgress<FffTrainingProgress>
    {
        private readonly Action<FffTrainingProgress> _report;

        public SyncProgress(Action<FffTrainingProgress> report) => _report = report;

        public void Report(FffTrainingProgress value) => _report(value);
    }

    private sealed class MixedRow
    {
        public float Number { get; set; }
        public bool Flag { get; set; }
        public string Color { get; set; } = "";
        public string City { get; set; } = "";
        public string Comment { get; set; } = "";
        public string Code { get; set; } = "";
        public double Amount { get; set; }
        public int Count { get; set; }
        public uint Bucket { get; set; }
        public DateTime When { get; set; }
        public float[] Ragged { get; set; } = Array.Empty<float>();
        public double Weight { get; set; }
        public bool IsGood { get; set; }
        public float Target { get; set; }
        public double TargetD { get; set; }
        public string Kind { get; set; } = "";
    }

    private sealed class StringPrediction
    {
        public string PredictedLabel { get; set; } = "";
    }

    private sealed class DigitRow
    {
        [VectorType(64)]
        public float[] Features { get; set; } = Array.Empty<float>();

        public float Label { get; set; }
    }

    private sealed class DigitPrediction
    {
        public float PredictedLabel { get; set; }
    }

    private sealed class ClashRow
    {
        public float __FffFeatures__ { get; set; }
        public bool Label { get; set; }
    }

    private sealed class LabelOnlyRow
    {
        public bool Label { get; set; }
    }
}
