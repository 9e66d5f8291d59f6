using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using Microsoft.ML.Data;
using Microsoft.ML.Fff.FastFeedForward;
using Microsoft.VisualStudio.TestTools.UnitTesting;

namespace Microsoft.ML.Fff.Tests;

/// <summary>
/// Image-shaped tables in the one-call <c>Train</c>: when numeric features are taken as images (inferred or set), what the plan and the
/// trainer get (the image recipe), the raw-pixel featurization, the options' errors, and a trained image model end to end.
/// </summary>
[TestClass]
public sealed class AutoTrainImageTests
{
    [ClassInitialize]
    public static void UseOneTorchThread(TestContext context) => OneTorchThread.Enter();

    [ClassCleanup]
    public static void RestoreTorchThreads() => OneTorchThread.Exit();

    [TestMethod]
    public void CreatePlan_SquareNonNegativePixels_AreImages_AndGetTheImageRecipe()
    {
        var mlContext = new MLContext(seed: 0);
        FffAutoTrainPlan plan = mlContext.Fff().CreatePlan(mlContext.Fff().SampleData.Digits(), "Label", new FffAutoTrainOptions { Task = FffTask.MulticlassClassification });
        Assert.AreEqual(8, plan.Training.ImageHeight, plan.ToString());
        Assert.AreEqual(8, plan.Training.ImageWidth);
        Assert.AreEqual(1, plan.Training.ImageChannels);
        Assert.IsTrue(plan.Training.Reasons.Any(r => r.StartsWith("images of 1 channel(s) x 8 x 8 pixels", StringComparison.Ordinal)), plan.ToString());
        StringAssert.Contains(plan.Columns.Single(c => c.Name == "Features").Reason, "not normalized");
        Assert.AreEqual(4, plan.Training.Depth, "the image recipe's depth (1,797 rows give 16 leaves 112 rows each)");
        Assert.AreEqual(16, plan.Training.LeafWidth);
        Assert.AreEqual(FffAutoTrainChoices.ImageEnsembleSize, plan.Training.EnsembleSize, "images from 300 rows get two trees");

        FastFeedForwardMulticlassTrainer.Options options = TrainerOf(plan).TrainerOptions;
        Assert.AreEqual(0, options.ShiftAugmentation, "8 pixels a side are too few to shift");
        Assert.IsGreaterThan(0f, options.InputDropout);
        Assert.AreEqual(0f, TrainerOf(mlContext.Fff().CreatePlan(mlContext.Fff().SampleData.Digits(), "Label",
            new FffAutoTrainOptions { Task = FffTask.MulticlassClassification, ImageHeight = 0, ImageWidth = 0 })).TrainerOptions.InputDropout, "tables keep no input dropout");

        // Set to 0: the same data is a table again (the defaults' shape, no augmentation).
        FffAutoTrainPlan table = mlContext.Fff().CreatePlan(mlContext.Fff().SampleData.Digits(), "Label",
            new FffAutoTrainOptions { Task = FffTask.MulticlassClassification, ImageHeight = 0, ImageWidth = 0 });
        Assert.AreEqual(0, table.Training.ImageHeight);
        Assert.AreEqual(FffAutoTrainChoices.TableDepth, table.Training.Depth);
        Assert.AreEqual(1, table.Training.EnsembleSize, "a table of this size keeps one tree");
        Assert.AreEqual(0, TrainerOf(table).TrainerOptions.ShiftAugmentation);
    }

    /// <summary>Images get <see cref="FffAutoTrainChoices.ImageEnsembleSize"/> trees from <see cref="FffAutoTrainChoices.MinRowsForImageEnsemble"/> rows; a set size wins.</summary>
    [TestMethod]
    public void Choose_Images_GetTwoTreesFromThreeHundredRows()
    {
        var image = new ImageShape(28, 28, 1, "test");
        Assert.AreEqual(1, AutoTrainChoices.Choose(FffAutoTrainChoices.MinRowsForImageEnsemble - 1, 64, new FffAutoTrainOptions(), 10, image).EnsembleSize);
        FffAutoTrainChoices two = AutoTrainChoices.Choose(FffAutoTrainChoices.MinRowsForImageEnsemble, 64, new FffAutoTrainOptions(), 10, image);
        Assert.AreEqual(FffAutoTrainChoices.ImageEnsembleSize, two.EnsembleSize);
        Assert.IsTrue(two.Reasons.Any(r => r.StartsWith($"2 leaf trees, averaged: images on {FffAutoTrainChoices.MinRowsForImageEnsemble:N0} rows", StringComparison.Ordinal)), string.Join("\n", two.Reasons));
        Assert.AreEqual(1, AutoTrainChoices.Choose(FffAutoTrainChoices.MinRowsForImageEnsemble, 64, new FffAutoTrainOptions(), 10).EnsembleSize, "a table keeps one tree");
        Assert.AreEqual(3, AutoTrainChoices.Choose(20_000, 64, new FffAutoTrainOptions { EnsembleSize = 3 }, 10, image).EnsembleSize);
    }

    [TestMethod]
    public void CreatePlan_ImagesAreInferredOnlyFromSquareNonNegativeNumericFeatures()
    {
        var mlContext = new MLContext(seed: 0);
        // 64 Single scalars (a CSV of pixel columns) and 3 x 8 x 8 colour planes are images.
        Assert.AreEqual(8, PlanOf(mlContext, Rows(64, 80, negative: false), vector: false).Training.ImageHeight, "64 scalar columns");
        FffAutoTrainPlan colour = PlanOf(mlContext, Rows(192, 80, negative: false), vector: true);
        Assert.AreEqual((8, 3), (colour.Training.ImageHeight, colour.Training.ImageChannels), "3 x 8 x 8");

        // Not images: a negative value (standardized or signed measurements), a non-square count, too small, or another kind of column.
        Assert.AreEqual(0, PlanOf(mlContext, Rows(64, 80, negative: true), vector: true).Training.ImageHeight, "a negative value");
        Assert.AreEqual(0, PlanOf(mlContext, Rows(63, 80, negative: false), vector: true).Training.ImageHeight, "63 slots");
        Assert.AreEqual(0, PlanOf(mlContext, Rows(49, 80, negative: false), vector: true).Training.ImageHeight, "7 x 7 is below the smallest side");
        IDataView withCategory = mlContext.Data.LoadFromEnumerable(Rows(64, 80, negative: false).Select(r => new VectorRowWithCategory { Pixels = r.Pixels, Label = r.Label, Color = r.Label > 0 ? "red" : "blue" }),
            VectorSchema<VectorRowWithCategory>(64));
        Assert.AreEqual(0, mlContext.Fff().CreatePlan(withCategory, "Label").Training.ImageHeight, "a categorical column besides the pixels");
    }

    [TestMethod]
    public void CreatePlan_ImagesWithAWholeNumberLabel_AreClassified_UnlessTheTaskIsSet()
    {
        var mlContext = new MLContext(seed: 0);
        IDataView digits = mlContext.Fff().SampleData.Digits();
        FffAutoTrainPlan plan = mlContext.Fff().CreatePlan(digits, "Label");
        Assert.AreEqual(FffTask.MulticlassClassification, plan.Task, "a Single label of 0..9 on images: the digit classes");
        StringAssert.Contains(plan.Columns.Single(c => c.Name == "Label").Reason, "10 whole numbers (0 to 9)");
        Assert.AreEqual(FffTask.Regression, mlContext.Fff().CreatePlan(digits, "Label", new FffAutoTrainOptions { Task = FffTask.Regression }).Task, "set: kept");
        Assert.AreEqual(FffTask.Regression, mlContext.Fff().CreatePlan(digits, "Label", new FffAutoTrainOptions { ImageHeight = 0, ImageWidth = 0 }).Task,
            "the same data as a table keeps the numeric label's task (with a warning)");
        // A label that is not whole numbers stays regression on images too.
        var measured = Rows(64, 80, negative: false).Select(r => new VectorRow { Pixels = r.Pixels, Label = r.Pixels.Sum() / 100f }).ToArray();
        Assert.AreEqual(FffTask.Regression, mlContext.Fff().CreatePlan(mlContext.Data.LoadFromEnumerable(measured, VectorSchema<VectorRow>(64)), "Label").Task);
    }

    [TestMethod]
    public void InputDropoutOption_OverridesTheDefaultOfImagesAndTables_AndIsValidated()
    {
        var mlContext = new MLContext(seed: 0);
        IDataView digits = mlContext.Fff().SampleData.Digits();
        Assert.AreEqual(0.05f, TrainerOf(mlContext.Fff().CreatePlan(digits, "Label", new FffAutoTrainOptions { InputDropout = 0.05f })).TrainerOptions.InputDropout);
        Assert.AreEqual(0.1f, TrainerOf(mlContext.Fff().CreatePlan(digits, "Label",
            new FffAutoTrainOptions { Task = FffTask.MulticlassClassification, ImageHeight = 0, ImageWidth = 0, InputDropout = 0.1f })).TrainerOptions.InputDropout);
        var e = Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => mlContext.Fff().CreatePlan(digits, "Label", new FffAutoTrainOptions { InputDropout = 1 }));
        Assert.AreEqual(nameof(FffAutoTrainOptions.InputDropout), e.ParamName);
    }

    /// <summary>Train's trainer keeps the trainers' clamp by default, and the option switches it off.</summary>
    [TestMethod]
    public void ClampToTrainingRangeOption_ReachesTheTrainer()
    {
        var mlContext = new MLContext(seed: 0);
        IDataView digits = mlContext.Fff().SampleData.Digits();
        var table = new FffAutoTrainOptions { Task = FffTask.MulticlassClassification, ImageHeight = 0, ImageWidth = 0 };
        Assert.IsTrue(TrainerOf(mlContext.Fff().CreatePlan(digits, "Label", table)).TrainerOptions.ClampToTrainingRange);
        table.ClampToTrainingRange = false;
        Assert.IsFalse(TrainerOf(mlContext.Fff().CreatePlan(digits, "Label", table)).TrainerOptions.ClampToTrainingRange);
    }

    [TestMethod]
    public void CreatePlan_BadImageOptions_ThrowNamingTheOption()
    {
        var mlContext = new MLContext(seed: 0);
        IDataView digits = mlContext.Fff().SampleData.Digits();
        var only = Assert.ThrowsExactly<ArgumentException>(() => mlContext.Fff().CreatePlan(digits, "Label", new FffAutoTrainOptions { ImageHeight = 8 }));
        StringAssert.Contains(only.Message, "set together");
        Assert.AreEqual(nameof(FffAutoTrainOptions.ImageWidth), only.ParamName);
        var small = Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => mlContext.Fff().CreatePlan(digits, "Label", new FffAutoTrainOptions { ImageHeight = 1, ImageWidth = 8 }));
        Assert.AreEqual(nameof(FffAutoTrainOptions.ImageHeight), small.ParamName);
        var mismatch = Assert.ThrowsExactly<ArgumentException>(() => mlContext.Fff().CreatePlan(digits, "Label", new FffAutoTrainOptions { ImageHeight = 5, ImageWidth = 5 }));
        Assert.AreEqual(nameof(FffAutoTrainOptions.ImageHeight), mismatch.ParamName);
        StringAssert.Contains(mismatch.Message, "64 numeric slot(s)");

        // Set explicitly, a non-square image is taken as given (4 x 16 = 64).
        FffAutoTrainPlan wide = mlContext.Fff().CreatePlan(digits, "Label", new FffAutoTrainOptions { ImageHeight = 4, ImageWidth = 16 });
        Assert.AreEqual((4, 16, 1), (wide.Training.ImageHeight, wide.Training.ImageWidth, wide.Training.ImageChannels));

        // 16 x 16 images (256 pixels) are shifted by up to a pixel, in their own shape.
        var sixteen = Enumerable.Range(0, 120).Select(i => new VectorRow { Pixels = Enumerable.Range(0, 256).Select(j => (float)((i * 7 + j) % 5)).ToArray(), Label = i % 3 }).ToArray();
        FffAutoTrainPlan large = mlContext.Fff().CreatePlan(mlContext.Data.LoadFromEnumerable(sixteen, VectorSchema<VectorRow>(256)), "Label",
            new FffAutoTrainOptions { Task = FffTask.MulticlassClassification });
        FastFeedForwardMulticlassTrainer.Options shifted = TrainerOf(large).TrainerOptions;
        Assert.AreEqual((1, 16, 16), (shifted.ShiftAugmentation, shifted.ImageHeight, shifted.ImageWidth), large.ToString());
        Assert.IsTrue(shifted.CompareShiftAugmentation, "without a holdout too (the trainer takes a check slice from 1,000 rows)");
        FastFeedForwardMulticlassTrainer.Options compared = TrainerOf(mlContext.Fff().CreatePlan(mlContext.Data.LoadFromEnumerable(sixteen, VectorSchema<VectorRow>(256)), "Label",
            new FffAutoTrainOptions { Task = FffTask.MulticlassClassification, ValidationFraction = 0.2 })).TrainerOptions;
        Assert.IsTrue(compared.CompareShiftAugmentation, "with a holdout the shifted model is compared with an unshifted one");
    }

    [TestMethod]
    public void Train_OnImages_FeedsRawPixelsDense_ScoresWell_AndReloadsOnAFreshContext()
    {
        var mlContext = new MLContext(seed: 0);
        var split = mlContext.Data.TrainTestSplit(mlContext.Fff().SampleData.Digits(), testFraction: 0.2, seed: 0);
        var options = new FffAutoTrainOptions { Task = FffTask.MulticlassClassification, NumberOfEpochs = 30, Seed = 0 };
        ITransformer model = mlContext.Fff().Train(split.TrainSet, "Label", options);
        IDataView scored = model.Transform(split.TestSet);
        double accuracy = mlContext.MulticlassClassification.Evaluate(scored).MicroAccuracy;
        Assert.IsGreaterThan(0.9, accuracy, "hard-descent accuracy on the held-out fifth of the digits");

        // The featurization hands the trainer the pixels as they are (missing ones imputed), dense, whatever the row.
        var featurizer = ((IEnumerable<ITransformer>)model).OfType<TabularFeaturizerTransformer>().Single();
        IDataView features = featurizer.Transform(split.TestSet);
        string column = features.Schema.Last().Name;
        VBuffer<float>[] rows = features.GetColumn<VBuffer<float>>(column).Take(20).Select(v => { VBuffer<float> copy = default; v.CopyTo(ref copy); return copy; }).ToArray();
        float[][] pixels = split.TestSet.GetColumn<float[]>("Features").Take(20).ToArray();
        for (int r = 0; r < rows.Length; r++)
        {
            Assert.IsTrue(rows[r].IsDense, $"row {r} is dense");
            CollectionAssert.AreEqual(pixels[r], rows[r].DenseValues().ToArray(), $"row {r} holds the raw pixels");
        }

        using var stream = new MemoryStream();
        mlContext.Model.Save(model, split.TrainSet.Schema, stream);
        stream.Position = 0;
        ITransformer loaded = new MLContext(seed: 1).Model.Load(stream, out _);
        CollectionAssert.AreEqual(scored.GetColumn<float>("PredictedLabel").ToArray(), loaded.Transform(split.TestSet).GetColumn<float>("PredictedLabel").ToArray());
    }

    private static FastFeedForwardMulticlassTrainer TrainerOf(FffAutoTrainPlan plan)
        => (FastFeedForwardMulticlassTrainer)plan.Trainer!;

    private static FffAutoTrainPlan PlanOf(MLContext mlContext, IEnumerable<VectorRow> rows, bool vector)
    {
        VectorRow[] all = rows.ToArray();
        int width = all[0].Pixels.Length;
        if (vector)
            return mlContext.Fff().CreatePlan(mlContext.Data.LoadFromEnumerable(all, VectorSchema<VectorRow>(width)), "Label");
        // One Single column per pixel, as a CSV of pixel columns loads.
        string path = Path.Combine(Path.GetTempPath(), $"fff-pixels-{Guid.NewGuid():N}.csv");
        try
        {
            File.WriteAllLines(path, all.Select(r => string.Join(",", r.Pixels.Select(p => p.ToString(System.Globalization.CultureInfo.InvariantCulture)).Append(r.Label > 0 ? "true" : "false"))));
            TextLoader.Column[] columns = Enumerable.Range(0, width).Select(j => new TextLoader.Column("p" + j, DataKind.Single, j))
                .Append(new TextLoader.Column("Label", DataKind.Boolean, width)).ToArray();
            IDataView data = mlContext.Data.Cache(mlContext.Data.LoadFromTextFile(path, columns, separatorChar: ','));
            return mlContext.Fff().CreatePlan(data, "Label");
        }
        finally
        {
            File.Delete(path);
        }
    }

    private static SchemaDefinition VectorSchema<T>(int width)
    {
        SchemaDefinition schema = SchemaDefinition.Create(typeof(T));
        schema[nameof(VectorRow.Pixels)].ColumnType = new VectorDataViewType(NumberDataViewType.Single, width);
        return schema;
    }

    private static IEnumerable<VectorRow> Rows(int width, int count, bool negative)
    {
        var random = new Random(width);
        for (int i = 0; i < count; i++)
        {
            float[] pixels = Enumerable.Range(0, width).Select(_ => random.Next(3) == 0 ? random.Next(1, 256) : 0f).ToArray();
            if (negative && i == count / 2)
                pixels[width / 2] = -0.5f;
            yield return new VectorRow { Pixels = pixels, Label = i % 2 };
        }
    }

    private class VectorRow
    {
        public float[] Pixels { get; set; } = Array.Empty<float>();
        public float Label { get; set; }
    }

    private sealed class VectorRowWithCategory : VectorRow
    {
        public string Color { get; set; } = "";
    }
}
