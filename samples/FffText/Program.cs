// Sentiment of IMDB movie reviews (scripts/fetch-imdb.sh; 25,000 training and 25,000 test reviews) with ML.NET's text
// featurization feeding a fast feedforward network:
//   FeaturizeText (lower-cased words, unigrams + bigrams, L2-normalized) -> SelectFeaturesBasedOnCount (slots non-zero in
//   at least 6 rows) -> FastFeedForward (binary; depth 2 x leaf width 16, 2 epochs: 1 soft + 1 hard fine-tune)
// It trains, evaluates (hard descent), saves, reloads and scores single reviews with a PredictionEngine, splitting the
// per-row latency into featurization and the network. Then mlContext.Fff().Train does the same from the raw table in one call.
// With --embedding it trains the model that learns its own token embeddings instead:
//   TokenizeToBag (Tiktoken cl100k_base, lower-cased; tokens in at least --min-count rows; mean bag) -> FastFeedForward with
//   EmbeddingDimension --dim (a learned token table, then the FFF on --dim inputs)
//
//   dotnet run --project samples/FffText -c Release -- [--max-train N] [--max-test N] [--epochs N] [--depth D] [--leaf L]
//       [--min-count C] [--chars] [--input-dropout P] [--weight-decay W] [--lr R] [--no-scaling] [--no-auto | --auto-only]
//       [--embedding [--dim D] [--max-vocab V]] [--verbose] [--seed S] [--imdb DIR]
// FFF_SAMPLE_MAX_ROWS=N caps both splits (the sample tests use it). Exits non-zero on any error.
using System;
using System.Diagnostics;
using System.IO;
using System.Linq;
using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Fff;
using Microsoft.ML.Fff.FastFeedForward;
using Microsoft.ML.Transforms.Text;

int? cap = int.TryParse(Environment.GetEnvironmentVariable("FFF_SAMPLE_MAX_ROWS"), out int c) ? c : null;
int? maxTrain = Option("--max-train") is string a ? int.Parse(a) : cap;
int? maxTest = Option("--max-test") is string b ? int.Parse(b) : cap;
bool embedding = args.Contains("--embedding");
int epochs = Option("--epochs") is string e ? int.Parse(e) : embedding ? EmbeddingDefaults.Epochs : 2;
int depth = Option("--depth") is string d ? int.Parse(d) : 2;
int leaf = Option("--leaf") is string l ? int.Parse(l) : 16;
int minCount = Option("--min-count") is string m ? int.Parse(m) : embedding ? EmbeddingDefaults.MinimumCount : 6;
int dimension = Option("--dim") is string dm ? int.Parse(dm) : EmbeddingDefaults.Dimension;
int maxVocabulary = Option("--max-vocab") is string mv ? int.Parse(mv) : 0;
float inputDropout = Option("--input-dropout") is string idr ? float.Parse(idr) : 0f;
float weightDecay = Option("--weight-decay") is string wd ? float.Parse(wd) : FffDefaults.WeightDecay;
float learningRate = Option("--lr") is string lr ? float.Parse(lr) : embedding ? EmbeddingDefaults.LearningRate : FffDefaults.LearningRate;
int seed = Option("--seed") is string sd ? int.Parse(sd) : 1;
bool chars = args.Contains("--chars");
bool scalingNone = args.Contains("--no-scaling");
string? imdb = Option("--imdb");

var mlContext = new MLContext(seed: 0);
if (args.Contains("--verbose"))
    mlContext.Log += (_, e) => { if (e.Kind == Microsoft.ML.Runtime.ChannelMessageKind.Info && (e.Source.Contains("Fff") || e.Source.Contains("FeedForward"))) Console.WriteLine($"  [{DateTime.Now:HH:mm:ss}] {e.Message}"); };
IDataView train = mlContext.Fff().SampleData.Imdb(imdb, test: false, maxRows: maxTrain);
IDataView test = mlContext.Fff().SampleData.Imdb(imdb, test: true, maxRows: maxTest);
Console.WriteLine($"IMDB: {train.GetRowCount()} training and {test.GetRowCount()} test reviews");

if (embedding)
    TrainEmbeddingBagPipeline();
else if (!args.Contains("--auto-only"))
    TrainFeaturizeTextPipeline();

// One call from the raw table: mlContext.Fff().Train featurizes the free-text column itself (FeaturizeText's word and
// character n-grams, slots seen in at least 3 rows).
if (!embedding && !args.Contains("--no-auto"))
{
    var clock = Stopwatch.StartNew();
    // Batch size, learning rate and no holdout pinned to the hand pipeline's trainer settings, so the two rows of docs/text.md
    // compare featurization only (Train would otherwise choose them from the row count).
    var autoOptions = new FffAutoTrainOptions
    {
        NumberOfEpochs = epochs, Depth = depth, LeafWidth = leaf, Seed = seed,
        BatchSize = FffDefaults.BatchSize, LearningRate = FffDefaults.LearningRate, ValidationFraction = 0,
    };
    FffAutoTrainPlan plan = mlContext.Fff().CreatePlan(train, "Label", autoOptions);
    Console.WriteLine(plan);
    ITransformer auto = mlContext.Fff().Train(train, "Label", autoOptions);
    double trainSeconds = clock.Elapsed.TotalSeconds;
    CalibratedBinaryClassificationMetrics autoMetrics = mlContext.BinaryClassification.Evaluate(auto.Transform(test));
    int features = ((VectorDataViewType)auto.GetOutputSchema(train.Schema)[plan.FeatureColumnName].Type).Size;
    Console.WriteLine($"mlContext.Fff().Train on the raw table ({features:N0} features): hard-descent test accuracy {autoMetrics.Accuracy:P2}, AUC {autoMetrics.AreaUnderRocCurve:F4} (trained in {trainSeconds:F1} s)");
}
return 0;

void TrainFeaturizeTextPipeline()
{
    var textOptions = new TextFeaturizingEstimator.Options
    {
        CaseMode = TextNormalizingEstimator.CaseMode.Lower,
        KeepPunctuations = false,
        WordFeatureExtractor = new WordBagEstimator.Options { NgramLength = 2, UseAllLengths = true },
        CharFeatureExtractor = chars ? new WordBagEstimator.Options { NgramLength = 3, UseAllLengths = false } : null,
        Norm = TextFeaturizingEstimator.NormFunction.L2,
    };
    var trainerOptions = TrainerOptions(embeddingDimension: 0);
    var featurizer = mlContext.Transforms.Text.FeaturizeText("Features", textOptions, nameof(Review.Text))
        .Append(mlContext.Transforms.FeatureSelection.SelectFeaturesBasedOnCount("Features", count: minCount));
    TrainAndReport(featurizer, trainerOptions, "FeaturizeText + FFF", $"word 1-2-grams{(chars ? " + char 3-grams" : "")}, count >= {minCount}",
        "featurization", Path.Combine("artifacts", "imdb-text-fff.zip"));
}

// The model that learns its own token embeddings: Tiktoken token bag -> learned table -> FFF on the summed embedding.
void TrainEmbeddingBagPipeline()
{
    var trainerOptions = TrainerOptions(embeddingDimension: dimension);
    var tokenizer = mlContext.Fff().TokenizeToBag("Features", nameof(Review.Text),
        new Microsoft.ML.Fff.Text.TokenBagEstimator.Options { MinimumCount = minCount, MaximumVocabularySize = maxVocabulary });
    TrainAndReport(tokenizer, trainerOptions, $"Token bag + embedding {dimension} + FFF",
        $"Tiktoken cl100k_base tokens in >= {minCount} rows{(maxVocabulary > 0 ? $", at most {maxVocabulary:N0}" : "")}, embedding dimension {dimension}",
        "tokenization", Path.Combine("artifacts", "imdb-embedding-fff.zip"));
}

// The FFF options of the command line; a learned embedding table when embeddingDimension > 0.
FastFeedForwardBinaryTrainer.Options TrainerOptions(int embeddingDimension) => new()
{
    EmbeddingDimension = embeddingDimension,
    Depth = depth,
    LeafWidth = leaf,
    NumberOfEpochs = epochs,
    InputDropout = inputDropout,
    WeightDecay = weightDecay,
    LearningRate = learningRate,
    FeatureScaling = scalingNone ? FffFeatureScaling.None : FffFeatureScaling.Auto,
    Seed = seed,
};

// Fits featurizer + FFF, evaluates hard descent on the test reviews, saves, reloads, scores single reviews with a
// PredictionEngine and splits the per-row latency into the featurizer and the network.
void TrainAndReport(IEstimator<ITransformer> featurizer, FastFeedForwardBinaryTrainer.Options trainerOptions, string name, string features,
    string featurization, string modelPath)
{
    var pipeline = featurizer.Append(mlContext.BinaryClassification.Trainers.FastFeedForward(trainerOptions));
    var clock = Stopwatch.StartNew();
    var model = pipeline.Fit(train);
    var trainedFeatures = ((VectorDataViewType)model.Transform(test).Schema["Features"].Type).Size;
    Console.WriteLine($"Trained FFF depth {depth} x leaf width {leaf}, {epochs} epochs on {trainedFeatures:N0} features ({features}) in {clock.Elapsed.TotalSeconds:F1} s");
    clock.Restart();
    CalibratedBinaryClassificationMetrics metrics = mlContext.BinaryClassification.Evaluate(model.Transform(test));
    Console.WriteLine($"{name}: hard-descent test accuracy {metrics.Accuracy:P2}, AUC {metrics.AreaUnderRocCurve:F4} ({clock.Elapsed.TotalSeconds:F1} s to score)");

    // Save, reload, score single reviews.
    Directory.CreateDirectory("artifacts");
    mlContext.Model.Save(model, train.Schema, modelPath);
    var loadContext = new MLContext(seed: 0);
    ITransformer loaded = loadContext.Model.Load(modelPath, out _);
    var engine = loadContext.Model.CreatePredictionEngine<Review, SentimentPrediction>(loaded);
    Review[] reviews = mlContext.Data.CreateEnumerable<Review>(test, reuseRowObject: false).Take(500).ToArray();
    int right = reviews.Count(r => engine.Predict(r).PredictedLabel == r.Label);
    Console.WriteLine($"Reloaded {modelPath}: PredictionEngine got {right} of {reviews.Length} test reviews right; " +
                      $"\"{Shorten(reviews[0].Text)}\" -> {engine.Predict(reviews[0]).Probability:F3}");

    // Latency split: whole pipeline from the review text; featurization alone (sparse output); the network alone (fed the sparse vector).
    var stages = ((System.Collections.Generic.IEnumerable<ITransformer>)loaded).ToArray();
    var featurizeOnly = new TransformerChain<ITransformer>(stages[..^1]);
    var networkOnly = new TransformerChain<ITransformer>(stages[^1..]);
    var featureEngine = loadContext.Model.CreatePredictionEngine<Review, FeatureRow>(featurizeOnly);
    SchemaDefinition featureSchema = SchemaDefinition.Create(typeof(FeatureRow));
    featureSchema[nameof(FeatureRow.Features)].ColumnType = new VectorDataViewType(NumberDataViewType.Single, trainedFeatures);
    var networkEngine = loadContext.Model.CreatePredictionEngine<FeatureRow, SentimentPrediction>(networkOnly, inputSchemaDefinition: featureSchema);
    FeatureRow[] featureRows = reviews.Select(r => { var f = featureEngine.Predict(r); return new FeatureRow { Features = f.Features }; }).ToArray();
    var reuse = new SentimentPrediction();
    var featureReuse = new FeatureRow();
    double full = Median(i => engine.Predict(reviews[i % reviews.Length], ref reuse));
    double featurize = Median(i => featureEngine.Predict(reviews[i % reviews.Length], ref featureReuse));
    double network = Median(i => networkEngine.Predict(featureRows[i % featureRows.Length], ref reuse));
    double words = reviews.Average(r => r.Text.Split(' ', StringSplitOptions.RemoveEmptyEntries).Length);
    double stored = featureRows.Average(r => r.Features.GetValues().Length);
    Console.WriteLine($"Median per-row PredictionEngine latency: whole pipeline {full:F1} us = {featurization} {featurize:F1} us + network {network:F1} us " +
                      $"(+ overhead); {featurization} is {featurize / (featurize + network):P0} of {featurization} + network (reviews average {words:F0} words, {stored:F0} non-zero features)");
}

string? Option(string name)
{
    int at = Array.IndexOf(args, name);
    return at >= 0 && at + 1 < args.Length ? args[at + 1] : null;
}

static string Shorten(string text) => text.Length <= 60 ? text : text[..57] + "...";

static double Median(Action<int> call) => MlNetFff.Samples.Timing.MedianMicroseconds(call, warmup: 100, count: 1000);

// Defaults of --embedding (measured on IMDB: docs/text.md).
internal static class EmbeddingDefaults
{
    public const int Epochs = 2;
    public const int MinimumCount = 3;
    public const int Dimension = 64;
    public const float LearningRate = 1e-2f;
}

internal sealed class Review
{
    public string Text { get; set; } = "";

    public bool Label { get; set; }
}

internal sealed class SentimentPrediction
{
    public bool PredictedLabel { get; set; }

    public float Probability { get; set; }
}

internal sealed class FeatureRow
{
    public VBuffer<float> Features { get; set; }
}
