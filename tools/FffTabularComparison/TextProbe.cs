// The text path's training time (issue 17 item 5): a synthetic binary review set of IMDB's shape (no download), trained with
// Fff().Train from the raw text column and with LightGBM on FeaturizeText, with Train's messages (the per-part time line) shown.
//   dotnet run --project tools/FffTabularComparison -c Release -- --text N
#nullable enable
using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.IO;
using System.Linq;
using System.Text;
using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Fff;

namespace MlNetFff.Tools.Tabular;

internal static class TextProbe
{
    public static void Run(int rows, TextWriter log)
    {
        var mlContext = new MLContext(seed: 0);
        // A list, not the generator: ML.NET enumerates the source once per cursor (and caches columns one at a time).
        IDataView data = mlContext.Data.LoadFromEnumerable(Reviews(rows, new Random(0)).ToList());
        DataOperationsCatalog.TrainTestData split = mlContext.Data.TrainTestSplit(data, testFraction: 0.2, seed: 0);
        IDataView train = mlContext.Data.Cache(split.TrainSet), test = mlContext.Data.Cache(split.TestSet);
        log.WriteLine($"Synthetic reviews: {rows} rows (80/20 split, seed 0), {Vocabulary} words, {SentimentWords} positive and {SentimentWords} negative ones.");

        var context = new MLContext(seed: 0);
        context.Log += (_, e) =>
        {
            if (e.Kind == Microsoft.ML.Runtime.ChannelMessageKind.Info
                && (e.Source.StartsWith("FastFeedForward", StringComparison.Ordinal) || e.Source.StartsWith("FffAutoTrain", StringComparison.Ordinal))
                && !e.Message.Contains(" epoch ", StringComparison.Ordinal))
                log.WriteLine("   " + e.Message);
        };
        Measure("FFF `Fff().Train` (defaults)", () => context.Fff().Train(train, nameof(Review.Label)));
        // The same with the batch size and learning rate Train picks for 5,000 to 50,000 rows: a quarter of the steps, each of
        // which updates the whole first layer (text slots x training width) whatever the batch size.
        var larger = new MLContext(seed: 0);
        Measure("FFF `Fff().Train`, batch 256, learning rate 5e-3", () => larger.Fff().Train(train, nameof(Review.Label),
            new FffAutoTrainOptions { BatchSize = 256, LearningRate = 5e-3f }));
        var lightGbmContext = new MLContext(seed: 0);
        Measure("LightGBM on FeaturizeText", () => lightGbmContext.Transforms.Text.FeaturizeText("Features", nameof(Review.Text))
            .Append(lightGbmContext.BinaryClassification.Trainers.LightGbm()).Fit(train));

        void Measure(string name, Func<ITransformer> fit)
        {
            TimeSpan processor = Process.GetCurrentProcess().TotalProcessorTime;
            var clock = Stopwatch.StartNew();
            ITransformer model = fit();
            double seconds = clock.Elapsed.TotalSeconds;
            double cpu = (Process.GetCurrentProcess().TotalProcessorTime - processor).TotalSeconds;
            double auc = mlContext.BinaryClassification.Evaluate(model.Transform(test), nameof(Review.Label)).AreaUnderRocCurve;
            log.WriteLine($"| {name} | AUC {auc:F4} | {seconds:F1} s wall | {cpu:F1} s CPU |");
        }
    }

    private const int Vocabulary = 5_000;
    private const int SentimentWords = 150;

    /// <summary>Reviews of 40 to 200 Zipf-distributed words; the label is whether the sentiment words lean positive (ties at random).</summary>
    private static IEnumerable<Review> Reviews(int count, Random random)
    {
        double[] cumulative = new double[Vocabulary];
        double sum = 0;
        for (int w = 0; w < Vocabulary; w++)
            cumulative[w] = sum += 1.0 / (w + 10);
        var text = new StringBuilder();
        for (int i = 0; i < count; i++)
        {
            text.Clear();
            int length = random.Next(40, 200), lean = 0;
            for (int k = 0; k < length; k++)
            {
                int word = Array.BinarySearch(cumulative, random.NextDouble() * sum);
                word = word < 0 ? ~word : word;
                // Words 20..319 carry sentiment: the even ones positive, the odd ones negative (as frequent as each other).
                if (word >= 20 && word < 20 + 2 * SentimentWords)
                    lean += word % 2 == 0 ? 1 : -1;
                text.Append('w').Append(word).Append(' ');
            }
            yield return new Review { Text = text.ToString(), Label = lean + random.NextDouble() - 0.5 > 0 };
        }
    }

    private sealed class Review
    {
        public string Text { get; set; } = "";
        public bool Label { get; set; }
    }
}
