// Trains every model of the MNIST comparison on the official 60k/10k split and writes one Markdown table: test accuracy
// (FFF: hard descent), soft/hard gap, training time, median per-row PredictionEngine latency and batch Transform
// throughput, all measured in this one run on this one machine. Usage (after scripts/fetch-mnist.sh):
//   dotnet run --project tools/FffMnistComparison -c Release -- [--epochs 12] [--train-rows N] [--only "name;name"] [--write docs/results.md]
// --write replaces the table between the mnist-comparison markers of the given Markdown file, and the accuracy–latency front
// (issue 17 item 8: every model's accuracy against its per-row latency, and for each FFF/MoE row the fastest dense network that
// is at least as accurate; tools/Shared/AccuracyFront.cs) between the mnist-front markers. --train-rows N trains on the first N
// training rows (a subsample; the test set stays the 10,000 official test rows). --plot FILE.png draws the front.
// --fashion runs the same table on Fashion-MNIST (after scripts/fetch-fashion-mnist.sh), the held-out image set of MNIST's shape:
// its --write markers are fashion-comparison and fashion-front.
using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Globalization;
using System.Linq;
using System.Runtime.InteropServices;
using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Fff;
using Microsoft.ML.Fff.FastFeedForward;
using Microsoft.ML.Fff.MixtureOfExperts;
using MlNetFff.Tools;

CultureInfo.CurrentCulture = CultureInfo.InvariantCulture;
int epochs = 12;
int? trainRows = null;
string? write = null;
string? plot = null;
HashSet<string>? only = null;
bool fashion = false;
for (int i = 0; i < args.Length; i++)
{
    switch (args[i])
    {
        case "--epochs": epochs = int.Parse(args[++i]); break;
        case "--train-rows": trainRows = int.Parse(args[++i]); break;
        case "--write": write = args[++i]; break;
        case "--plot": plot = args[++i]; break;
        case "--only": only = args[++i].Split(';').ToHashSet(StringComparer.OrdinalIgnoreCase); break;
        case "--fashion": fashion = true; break;
        default:
            Console.Error.WriteLine($"Unknown argument '{args[i]}'. Usage: [--epochs N] [--train-rows N] [--only \"name;name\"] [--fashion] [--write file.md] [--plot file.png]");
            return 2;
    }
}

var mlContext = new MLContext(seed: 0);
// --fashion: the held-out image set of MNIST's shape (scripts/fetch-fashion-mnist.sh), never used to tune anything.
string dataName = fashion ? "Fashion-MNIST" : "MNIST";
string officialSplit = fashion ? "60,000 training rows (the package's images less the last 1,000 of each class, classes in turn)" : "official 60,000 training rows";
IDataView train = mlContext.Data.Cache(fashion ? mlContext.Fff().SampleData.FashionMnist(test: false, maxRows: trainRows) : mlContext.Fff().SampleData.Mnist(test: false, maxRows: trainRows));
IDataView test = mlContext.Data.Cache(fashion ? mlContext.Fff().SampleData.FashionMnist(test: true) : mlContext.Fff().SampleData.Mnist(test: true));
float[][] testRows = mlContext.Data.CreateEnumerable<MnistRow>(test, reuseRowObject: false).Select(r => r.Features).ToArray();
long trainCount = train.GetRowCount() ?? mlContext.Data.CreateEnumerable<MnistRow>(train, false).LongCount();

// Every neural model gets the same generic settings (batch 64, learning rate 3e-3, input dropout 0.2, the epochs above);
// "recipe" is the best FFF setting measured in docs/decisions.md (tools/FffMnistStudy): shift augmentation of 1 pixel,
// master leaf 8, load balancing 0.1 with two-phase hardening to 3, self-distillation 0.7 in the fine-tune stage and 40 epochs.
const int RecipeEpochs = 40;
Action<FastFeedForwardMulticlassTrainer.Options> recipe = o =>
{
    o.NumberOfEpochs = Math.Max(epochs, RecipeEpochs);
    o.ShiftAugmentation = 1;
    o.ImageHeight = 28;
    o.ImageWidth = 28;
    o.MasterLeafWidth = 8;
    o.LoadBalancingWeight = 0.1f;
    o.HardeningSchedule = FffHardeningSchedule.TwoPhase;
    o.HardeningWeight = 3;
    o.FineTuneSoftTargetWeight = 0.7f;
};
var candidates = new List<Candidate>
{
    Fff("FFF d4 x l16, recipe", 4, 16, recipe),
    Fff("FFF d6 x l16, without the FFF recipe", 6, 16),
    Fff("FFF d6 x l16, recipe", 6, 16, recipe),
    // Twice the training width for 16 more neurons per row (46 against 30): the comparison with Dense 2048 below.
    Fff("FFF d6 x l32, recipe", 6, 32, recipe),
    // Leaf-tree ensembles of the recipe's fastest FFF (issue 17 item 3): k trees trained together and averaged, k x 28 neurons per row.
    Fff("FFF d4 x l16, recipe, 2 trees", 4, 16, o => { recipe(o); o.EnsembleSize = 2; }),
    Fff("FFF d4 x l16, recipe, 4 trees", 4, 16, o => { recipe(o); o.EnsembleSize = 4; }),
    Fff("FFF d4 x l16, recipe, 8 trees", 4, 16, o => { recipe(o); o.EnsembleSize = 8; }),
    Fff("FFF neuron trees 8 x d6", 6, 1, o => { o.NodeKind = FffNodeKind.Neurons; o.NumberOfTrees = 8; }),
    Moe("MoE 16 x 64, k=1", 16, 64, 1),
    Moe("MoE 16 x 64, k=2", 16, 64, 2),
    Moe("MoE 16 x 64, k=4", 16, 64, 4),
    // Four times the experts at the same k: per-row cost grows by the gate only. Training computes every expert, so this
    // one trains for a quarter of the epochs (its accuracy is not comparable; its latency is).
    Moe("MoE 64 x 64, k=2 (¼ of the epochs)", 64, 64, 2, o => o.NumberOfEpochs = Math.Max(1, epochs / 4)),
    Moe("sigma-MoE 16 x 64, k=2", 16, 64, 2, o => o.Gating = MoeGating.Sigma),
    // Narrow dense networks, as fast per row as the FFF and MoE rows: the fastest dense network that reaches an FFF's accuracy.
    Dense("Dense 16", 16),
    Dense("Dense 32", 32),
    Dense("Dense 64", 64),
    Dense("Dense 128", 128),
    Dense("Dense 256", 256),
    Dense("Dense 1024", 1024),
    Dense("Dense 2048", 2048),
    // The recipe's data augmentation given to the dense baseline too, at the generic epochs: what shifting alone buys a dense net.
    Dense("Dense 1024, shift augmentation 1", 1024, o => { o.ShiftAugmentation = 1; o.ImageHeight = 28; o.ImageWidth = 28; }),
    // ... and to the narrow dense networks that are as fast as the FFF ensembles: the fastest dense network with the same augmentation.
    Dense("Dense 32, shift augmentation 1", 32, o => { o.ShiftAugmentation = 1; o.ImageHeight = 28; o.ImageWidth = 28; }),
    Dense("Dense 64, shift augmentation 1", 64, o => { o.ShiftAugmentation = 1; o.ImageHeight = 28; o.ImageWidth = 28; }),
    Dense("Dense 128, shift augmentation 1", 128, o => { o.ShiftAugmentation = 1; o.ImageHeight = 28; o.ImageWidth = 28; }),
    Dense("Dense 256, shift augmentation 1", 256, o => { o.ShiftAugmentation = 1; o.ImageHeight = 28; o.ImageWidth = 28; }),
    // The smallest FFF (one node, one neuron): what PredictionEngine itself costs per 784-feature row here.
    Fff("FFF d1 x l1 (PredictionEngine floor)", 1, 1),
    // The one-call Train at its defaults, as a new user runs it on an image table: it takes the 784 non-negative slots for 28 x 28
    // images and their whole-number label for classes (the image recipe). Its pipeline maps the label itself, so it gets the raw
    // label (MapsLabel: false).
    new("FFF Fff().Train (defaults)", "", () => mlContext.Fff().CreatePipeline(train, "Label"), MapsLabel: false),
    // The same with two trees whatever the row count (the image rule gives two from 5,000 rows): what two trees buy on small sets.
    new("FFF Fff().Train, EnsembleSize 2", "", () => mlContext.Fff().CreatePipeline(train, "Label", new FffAutoTrainOptions { EnsembleSize = 2 }), MapsLabel: false),
    new("LightGBM (defaults)", "", () => mlContext.MulticlassClassification.Trainers.LightGbm()),
    new("L-BFGS max. entropy (defaults, min-max normalized)", "", () => mlContext.Transforms.NormalizeMinMax("Features")
        .Append(mlContext.MulticlassClassification.Trainers.LbfgsMaximumEntropy())),
};

Console.WriteLine($"{dataName} comparison: {trainCount} training rows, 10000 test rows, {epochs} epochs for the neural models; {Environment.ProcessorCount} logical cores, {RuntimeInformation.OSDescription}, {RuntimeInformation.ProcessArchitecture}.");
var results = new List<string>();
var frontPoints = new List<FrontPoint>();
foreach (Candidate candidate in candidates.Where(c => only == null || only.Contains(c.Name)))
{
    Console.WriteLine($"== {candidate.Name}");
    var clock = Stopwatch.StartNew();
    ITransformer model = candidate.MapsLabel ? mlContext.Transforms.Conversion.MapValueToKey("Label").Append(candidate.Create()).Fit(train)
        : candidate.Create().Fit(train);
    double trainSeconds = clock.Elapsed.TotalSeconds;
    double accuracy = mlContext.MulticlassClassification.Evaluate(model.Transform(test)).MicroAccuracy;
    FffMulticlassModelParameters? fff = FindModel(model);
    string gap = "—", perEpoch = "—", width = "—", touched = "—", trainedEpochsText = "—";
    if (fff != null)
    {
        FffSoftHardGap softHard = mlContext.Fff().EvaluateSoftHardGap(model, test);
        gap = fff.Architecture == FffArchitecture.FastFeedForward ? $"{100 * softHard.Gap:+0.00;-0.00;0.00} pt" : "— (trains what it scores)";
        int trainedEpochs = fff.TrainingReport?.Epochs.Count ?? epochs;
        trainedEpochsText = trainedEpochs.ToString();
        perEpoch = (trainSeconds / trainedEpochs).ToString("F1");
        width = fff.TrainingWidth.ToString();
        touched = fff.NeuronsPerRow.ToString();
    }
    (double latency, double coldLatency) = MedianLatencyMicroseconds(mlContext, model, testRows, candidate.MapsLabel);
    string networkOnly = fff != null ? MedianScoreBatchMicroseconds(fff, testRows).ToString("F2") : "—";
    double rowsPerSecond = BatchRowsPerSecond(model, test);
    // Ours also through the grouped Transform (rows grouped by leaf or expert, block by block); ML.NET's trainers have no such path.
    string batched = fff != null ? BatchRowsPerSecond(mlContext.Fff().WithBatchScoring(model), test).ToString("N0") : "—";
    string line = $"| {candidate.Name} | {width} | {touched} | {100 * accuracy:F2} % | {gap} | {trainedEpochsText} | {trainSeconds:F0} | {perEpoch} | {latency:F2} | {networkOnly} | {coldLatency:F2} | {rowsPerSecond:N0} | {batched} |";
    Console.WriteLine(line);
    results.Add(line);
    frontPoints.Add(new FrontPoint(candidate.Name, FrontPoint.KindOf(candidate.Name), accuracy, latency));
}

string table = string.Join(Environment.NewLine, new[]
{
    (trainRows is int ? $"{dataName}, a subsample: the first {trainCount} of the {officialSplit}, and the 10,000 test rows; " : $"{dataName} ({trainCount} training / 10,000 test rows), ") + $"{epochs} epochs for every neural model unless the epochs column says otherwise " +
    "(batch 64, learning rate 3e-3, input dropout 0.2), MLContext seed 0; " +
    $"{Environment.ProcessorCount} logical cores, {RuntimeInformation.OSDescription.Trim()}, .NET {Environment.Version}. " +
    "Latency: median of 2,000 single-row `PredictionEngine.Predict` calls after 3 s of warm-up calls, each row's features copied into the " +
    "input just before the call (as a service's deserializer leaves them); network only: the same for one-row `ScoreBatch` calls on the " +
    "model parameters (no ML.NET in the loop); cold row: `Predict` on a test row not read for thousands of calls, so its features come from memory; batch: `Transform` over the 10,000 test rows, reading every Score " +
    "through one cursor; grouped batch: the same through `mlContext.Fff().WithBatchScoring(model)`.",
    "",
    "| model | training width | neurons per row | test accuracy | soft/hard gap | epochs | training s | s / epoch | per-row latency µs | network only µs | per-row latency, cold row µs | batch rows/s | grouped batch rows/s |",
    "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
}.Concat(results));
IReadOnlyList<FrontRow> frontRows = AccuracyFront.Analyze(frontPoints);
string front = string.Join(Environment.NewLine, new[]
{
    $"Accuracy–latency front of this {dataName} run ({trainCount:N0} training rows{(trainRows is int ? $", the first {trainCount:N0} of the {officialSplit}: a subsample" : "")}, " +
    $"10,000 test rows, {epochs} epochs; `dotnet run --project tools/FffMnistComparison -c Release --{string.Concat(args.Select(a => a.Contains(' ') ? $" \"{a}\"" : " " + a))}`, " +
    $"{Environment.ProcessorCount} logical cores): test accuracy against the per-row `PredictionEngine` latency of the table. Bold rows are on the front " +
    "(no other model at least as accurate and at least as fast); for each FFF and MoE row, the fastest dense network at least as accurate, and its µs " +
    "divided by this row's µs (above 1x: the FFF/MoE row is faster).",
    "",
    AccuracyFront.Header("test accuracy", withSet: false),
}.Concat(AccuracyFront.Lines(frontRows, "P2")).Concat(new[] { "", AccuracyFront.Summary(frontRows) }));
Console.WriteLine();
Console.WriteLine(table);
Console.WriteLine();
Console.WriteLine(front);
if (plot != null)
{
    string title = $"{dataName} ({trainCount:N0} training rows, {epochs} epochs)";
    FrontPlot.Save(plot, new (string, string, IReadOnlyList<FrontRow>)[] { (title, "test accuracy", frontRows) }, ShortLabel,
        omit: p => p.Model.Contains("PredictionEngine floor", StringComparison.Ordinal), columns: 1, panelWidth: 1200, panelHeight: 700);
    Console.WriteLine($"Wrote the front plot into {plot}.");
}
if (write != null)
{
    // Fashion-MNIST fills markers of its own (fashion-comparison, fashion-front), so the MNIST tables stay.
    string markers = fashion ? "fashion" : "mnist";
    MarkedSection.Replace(write, markers + "-comparison", table);
    MarkedSection.Replace(write, markers + "-front", front);
    Console.WriteLine($"Wrote the table into {write}.");
}
return 0;

Candidate Fff(string name, int depth, int leafWidth, Action<FastFeedForwardMulticlassTrainer.Options>? configure = null)
{
    var options = new FastFeedForwardMulticlassTrainer.Options { Depth = depth, LeafWidth = leafWidth, NumberOfEpochs = epochs, BatchSize = 64, LearningRate = 3e-3f, InputDropout = 0.2f };
    configure?.Invoke(options);
    return new(name, "", () => mlContext.MulticlassClassification.Trainers.FastFeedForward(options));
}

Candidate Moe(string name, int experts, int width, int k, Action<MixtureOfExpertsMulticlassTrainer.Options>? configure = null)
{
    var options = new MixtureOfExpertsMulticlassTrainer.Options { NumberOfExperts = experts, ExpertWidth = width, TopK = k, NumberOfEpochs = epochs, BatchSize = 64, LearningRate = 3e-3f, InputDropout = 0.2f };
    configure?.Invoke(options);
    return new(name, "", () => mlContext.MulticlassClassification.Trainers.MixtureOfExperts(options));
}

Candidate Dense(string name, int width, Action<Microsoft.ML.Fff.Dense.DenseFeedForwardMulticlassTrainer.Options>? configure = null)
{
    var options = new Microsoft.ML.Fff.Dense.DenseFeedForwardMulticlassTrainer.Options { HiddenLayerWidths = new[] { width }, NumberOfEpochs = epochs, BatchSize = 64, LearningRate = 3e-3f, InputDropout = 0.2f };
    configure?.Invoke(options);
    return new(name, "", () => mlContext.MulticlassClassification.Trainers.DenseFeedForward(options));
}

// A point's label in the plot: the row name without its note in parentheses or commas ("MoE 16 x 64, k=2" -> "MoE 16 x 64 k=2").
static string ShortLabel(string model) => (model.IndexOf(" (", StringComparison.Ordinal) is int note and > 0 ? model[..note] : model).Replace(",", "");

static FffMulticlassModelParameters? FindModel(ITransformer model) => model is IEnumerable<ITransformer> chain
    ? chain.Select(FindModel).LastOrDefault(m => m != null)
    : (model as MulticlassPredictionTransformer<FffMulticlassModelParameters>)?.Model;

// Per-row latency is timed two ways. "Row just written": the row's features are copied into the input buffer right
// before the call, as a service's deserializer leaves a request's features in cache. "Cold row": the input points at a
// test row last touched thousands of rows earlier, so its 3 KB are read from memory inside the timed call.
static (double JustWritten, double Cold) MedianLatencyMicroseconds(MLContext mlContext, ITransformer model, float[][] rows, bool keyLabel)
    => keyLabel ? MedianLatencyMicrosecondsOf<MnistPrediction>(mlContext, model, rows) : MedianLatencyMicrosecondsOf<MnistValuePrediction>(mlContext, model, rows);

// TPrediction: the model's PredictedLabel as a key (our pipelines) or as the label's own value (Train maps it back).
static (double JustWritten, double Cold) MedianLatencyMicrosecondsOf<TPrediction>(MLContext mlContext, ITransformer model, float[][] rows)
    where TPrediction : class, new()
{
    var engine = mlContext.Model.CreatePredictionEngine<MnistRow, TPrediction>(model);
    var input = new MnistRow { Features = new float[rows[0].Length] };
    double written = MedianMicroseconds(rows, input.Features, _ => engine.Predict(input));
    double cold = MedianMicroseconds(rows, null, row => { input.Features = row; engine.Predict(input); });
    return (written, cold);
}

static double MedianScoreBatchMicroseconds(FffMulticlassModelParameters model, float[][] rows)
{
    var scores = new float[model.OutputCount];
    return MedianMicroseconds(rows, new float[rows[0].Length], row => model.ScoreBatch(row, scores));
}

// Median of 2,000 timed calls, cycling through the rows with stride 7, after at least 3 s of warm-up calls: tiered
// compilation replaces the first, unoptimized code of ML.NET's and our per-row methods only after a delay, and 200 calls
// (this table's warm-up until 2026-11-27) measured that code - 5.0 instead of 2.2 us per PredictionEngine call for an
// FFF of depth 6. With writeInto the row is first copied there (outside the timed region) and the call gets writeInto;
// without it the call gets the row itself.
static double MedianMicroseconds(float[][] rows, float[]? writeInto, Action<float[]> call)
{
    var warmup = Stopwatch.StartNew();
    for (int i = 0; i < 200 || warmup.ElapsedMilliseconds < 3000; i++)
        call(rows[i % rows.Length]);
    var times = new double[2000];
    for (int i = 0; i < times.Length; i++)
    {
        float[] row = rows[(i * 7) % rows.Length];
        if (writeInto != null)
        {
            row.CopyTo(writeInto, 0);
            row = writeInto;
        }
        long start = Stopwatch.GetTimestamp();
        call(row);
        // Raw timestamps: a TimeSpan rounds to 100-ns ticks, which quantized a 2-us median by 5 %.
        times[i] = (Stopwatch.GetTimestamp() - start) * 1e6 / Stopwatch.Frequency;
    }
    Array.Sort(times);
    return times[times.Length / 2];
}

static double BatchRowsPerSecond(ITransformer model, IDataView data)
{
    double best = 0;
    for (int run = 0; run < 2; run++)
    {
        var clock = Stopwatch.StartNew();
        IDataView scored = model.Transform(data);
        DataViewSchema.Column score = scored.Schema["Score"];
        long rows = 0;
        using (DataViewRowCursor cursor = scored.GetRowCursor(new[] { score }))
        {
            ValueGetter<VBuffer<float>> get = cursor.GetGetter<VBuffer<float>>(score);
            VBuffer<float> value = default;
            while (cursor.MoveNext())
            {
                get(ref value);
                rows++;
            }
        }
        best = Math.Max(best, rows / clock.Elapsed.TotalSeconds);
    }
    return best;
}

internal sealed record Candidate(string Name, string Note, Func<IEstimator<ITransformer>> Create, bool MapsLabel = true);

internal sealed class MnistRow
{
    [VectorType(784)]
    public float[] Features { get; set; } = Array.Empty<float>();

    public float Label { get; set; }
}

internal sealed class MnistValuePrediction
{
    public float PredictedLabel { get; set; }

    public float[] Score { get; set; } = Array.Empty<float>();
}

internal sealed class MnistPrediction
{
    public uint PredictedLabel { get; set; }

    public float[] Score { get; set; } = Array.Empty<float>();
}
