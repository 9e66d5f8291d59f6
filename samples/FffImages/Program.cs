// Image classification from a folder of image files, one sub-folder per label, with ML.NET's image transforms feeding a
// fast feedforward network: LoadImages -> ResizeImages -> ExtractPixels -> FastFeedForward. Uses the MNIST PNG folders
// written by scripts/fetch-mnist-png.sh (~/.cache/mlnetfff/mnist-png/{train,test}/<digit>/<index>.png).
//
// It trains, evaluates, saves, reloads and scores single images with a PredictionEngine, splitting the per-row latency
// into image decode/resize/pixel extraction and the network. Then it trains the same model (same options and seed) from
// the idx arrays (mlContext.Fff().SampleData.Mnist) and compares the two test accuracies: the image pipeline loses nothing
// when both see the same pixel values in the same row order.
//
//   dotnet run --project samples/FffImages -c Release -- [--max-train N] [--max-test N] [--epochs N] [--png DIR] [--idx DIR] [--no-idx]
// FFF_SAMPLE_MAX_ROWS=N caps both splits (the sample tests use it). Exits non-zero on any error.
using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.IO;
using System.Linq;
using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Fff;
using Microsoft.ML.Fff.FastFeedForward;
using Microsoft.ML.Fff.Samples;
using Microsoft.ML.Transforms;
using Microsoft.ML.Transforms.Image;

string cache = Path.GetDirectoryName(FffSampleData.DefaultMnistDirectory)!;
string pngRoot = Option("--png") ?? Path.Combine(cache, "mnist-png");
string idxRoot = Option("--idx") ?? FffSampleData.DefaultMnistDirectory;
int? cap = int.TryParse(Environment.GetEnvironmentVariable("FFF_SAMPLE_MAX_ROWS"), out int c) ? c : null;
int? maxTrain = Option("--max-train") is string t ? int.Parse(t) : cap;
int? maxTest = Option("--max-test") is string v ? int.Parse(v) : cap;
int epochs = Option("--epochs") is string e ? int.Parse(e) : 8;
bool compareWithIdx = !args.Contains("--no-idx");
const int Side = 28;

string trainFolder = Path.Combine(pngRoot, "train"), testFolder = Path.Combine(pngRoot, "test");
List<ImageFile> trainFiles = ImageFolder.List(trainFolder, maxTrain);
List<ImageFile> testFiles = ImageFolder.List(testFolder, maxTest);
Console.WriteLine($"Images: {trainFiles.Count} training files in {trainFolder}, {testFiles.Count} test files in {testFolder}");

var mlContext = new MLContext(seed: 0);
FastFeedForwardMulticlassTrainer.Options TrainerOptions() => new()
{
    Depth = 4,
    LeafWidth = 16,
    NumberOfEpochs = epochs,
    Seed = 1,
    NumberOfThreads = 2,
};

// Pixels as MNIST stores them: one channel (the PNGs are grayscale, decoded as R = G = B), 0..255, row by row, unscaled
// (ExtractPixels' defaults: scale 1, offset 0) - exactly what SampleData.Mnist gives. The trainer standardizes them itself.
// Keys by value ("0" < "1" < ... and 0 < 1 < ...), so the image and idx models number their classes alike.
var imagePipeline = mlContext.Transforms.Conversion.MapValueToKey("Label", keyOrdinality: ValueToKeyMappingEstimator.KeyOrdinality.ByValue)
    .Append(mlContext.Transforms.LoadImages("Image", trainFolder, nameof(ImageFile.ImagePath)))
    .Append(mlContext.Transforms.ResizeImages("Image", Side, Side, "Image", ImageResizingEstimator.ResizingKind.Fill))
    .Append(mlContext.Transforms.ExtractPixels("Features", "Image", ImagePixelExtractingEstimator.ColorBits.Red))
    .Append(mlContext.MulticlassClassification.Trainers.FastFeedForward(TrainerOptions()))
    .Append(mlContext.Transforms.Conversion.MapKeyToValue("PredictedLabel"));

IDataView trainImages = mlContext.Data.LoadFromEnumerable(trainFiles);
IDataView testImages = mlContext.Data.LoadFromEnumerable(testFiles);
var clock = Stopwatch.StartNew();
ITransformer model = imagePipeline.Fit(trainImages);
Console.WriteLine($"Trained FFF depth 4 x leaf width 16, {epochs} epochs, from image files in {clock.Elapsed.TotalSeconds:F1} s");

// The fitted LoadImages stage reads from the training folder; score the test folder through the same stages pointed at it.
ITransformer testModel = WithImageFolder(model, testFolder);
clock.Restart();
MulticlassClassificationMetrics imageMetrics = mlContext.MulticlassClassification.Evaluate(testModel.Transform(testImages));
Console.WriteLine($"Image pipeline: hard-descent test accuracy {imageMetrics.MicroAccuracy:P2} ({testFiles.Count} images, {clock.Elapsed.TotalSeconds:F1} s)");

// Save, reload on a fresh context, and score single images.
Directory.CreateDirectory("artifacts");
string modelPath = Path.Combine("artifacts", "mnist-images-fff.zip");
mlContext.Model.Save(testModel, trainImages.Schema, modelPath);
var loadContext = new MLContext(seed: 0);
ITransformer loaded = loadContext.Model.Load(modelPath, out _);
var engine = loadContext.Model.CreatePredictionEngine<ImageFile, DigitPrediction>(loaded);
int agree = 0, checkRows = Math.Min(testFiles.Count, 200);
foreach (ImageFile file in testFiles.Take(checkRows))
    agree += engine.Predict(new ImageFile { ImagePath = file.ImagePath }).PredictedLabel == file.Label ? 1 : 0;
Console.WriteLine($"Reloaded {modelPath}: PredictionEngine got {agree} of the first {checkRows} test images right");

// Latency split: the whole pipeline from a file name; the image stages alone (decode, resize, extract); the network alone
// (the trainer's transformer fed the pixel vector); and decoding alone (MLImage.CreateFromFile).
var stages = ((IEnumerable<ITransformer>)loaded).ToArray();
int trainerAt = Array.FindIndex(stages, s => s is MulticlassPredictionTransformer<FffMulticlassModelParameters>);
var imageOnly = new TransformerChain<ITransformer>(stages[1..trainerAt]);
var networkOnly = new TransformerChain<ITransformer>(stages[trainerAt..]);
var pixelEngine = loadContext.Model.CreatePredictionEngine<ImageFile, PixelRow>(imageOnly);
var networkEngine = loadContext.Model.CreatePredictionEngine<PixelRow, DigitPrediction>(networkOnly);
ImageFile[] probes = testFiles.Take(Math.Min(testFiles.Count, 500)).Select(f => new ImageFile { ImagePath = f.ImagePath }).ToArray();
PixelRow[] pixels = probes.Select(p => { var row = pixelEngine.Predict(p); return new PixelRow { Features = row.Features.ToArray() }; }).ToArray();
var reuse = new DigitPrediction();
var pixelReuse = new PixelRow();
double full = Median(i => engine.Predict(probes[i % probes.Length], ref reuse));
double image = Median(i => pixelEngine.Predict(probes[i % probes.Length], ref pixelReuse));
double network = Median(i => networkEngine.Predict(pixels[i % pixels.Length], ref reuse));
double decode = Median(i => { using var img = MLImage.CreateFromFile(Path.Combine(testFolder, probes[i % probes.Length].ImagePath)); });
Console.WriteLine($"Median per-row PredictionEngine latency: whole pipeline {full:F1} us = image stages {image:F1} us " +
                  $"(of which decoding the PNG {decode:F1} us) + network {network:F1} us (+ overhead); the network is {network / (image + network):P0} of image stages + network");

// The same model (same options, seed and row order) trained from the idx arrays.
if (compareWithIdx)
{
    if (!File.Exists(Path.Combine(idxRoot, "train-images-idx3-ubyte")))
        throw new FileNotFoundException($"MNIST idx files are not in {idxRoot} (run scripts/fetch-mnist.sh, or pass --no-idx).");
    IDataView trainIdx = mlContext.Fff().SampleData.Mnist(idxRoot, test: false, maxRows: trainFiles.Count);
    IDataView testIdx = mlContext.Fff().SampleData.Mnist(idxRoot, test: true, maxRows: testFiles.Count);
    CheckSamePixels(testModel, testImages, testIdx);
    var idxPipeline = mlContext.Transforms.Conversion.MapValueToKey("Label", keyOrdinality: ValueToKeyMappingEstimator.KeyOrdinality.ByValue)
        .Append(mlContext.MulticlassClassification.Trainers.FastFeedForward(TrainerOptions()));
    clock.Restart();
    ITransformer idxModel = idxPipeline.Fit(trainIdx);
    MulticlassClassificationMetrics idxMetrics = mlContext.MulticlassClassification.Evaluate(idxModel.Transform(testIdx));
    double difference = (imageMetrics.MicroAccuracy - idxMetrics.MicroAccuracy) * 100;
    Console.WriteLine($"Idx arrays: hard-descent test accuracy {idxMetrics.MicroAccuracy:P2} (trained in {clock.Elapsed.TotalSeconds:F1} s); " +
                      $"image pipeline minus idx arrays: {difference:+0.00;-0.00;0.00} pt");
    if (Math.Abs(difference) > 0.2)
        throw new InvalidOperationException($"The image pipeline's accuracy differs from the idx arrays' by {difference:F2} pt (more than 0.2).");
}
return 0;

// Image rows and idx rows must carry the same pixel values in the same order for the comparison to mean anything.
void CheckSamePixels(ITransformer imageModel, IDataView images, IDataView idx)
{
    float[][] fromImages = mlContext.Data.CreateEnumerable<PixelRow>(imageModel.Transform(images), reuseRowObject: false).Select(r => r.Features).ToArray();
    float[][] fromIdx = mlContext.Data.CreateEnumerable<IdxRow>(idx, reuseRowObject: false).Select(r => r.Features).ToArray();
    for (int r = 0; r < fromIdx.Length; r++)
    {
        if (!fromImages[r].AsSpan().SequenceEqual(fromIdx[r]))
            throw new InvalidOperationException($"Test row {r}: the pixels from {testFiles[r].ImagePath} differ from the idx file's.");
    }
    Console.WriteLine($"Pixels from the PNG files equal the idx arrays' exactly ({fromIdx.Length} test rows x {Side * Side})");
}

string? Option(string name)
{
    int at = Array.IndexOf(args, name);
    return at >= 0 && at + 1 < args.Length ? args[at + 1] : null;
}

static double Median(Action<int> call) => MlNetFff.Samples.Timing.MedianMicroseconds(call, warmup: 200, count: 2000);

ITransformer WithImageFolder(ITransformer fitted, string folder)
{
    // LoadImages keeps its folder in the fitted transformer; refit just that (data-independent) stage for another folder.
    var parts = ((IEnumerable<ITransformer>)fitted).ToArray();
    int at = Array.FindIndex(parts, p => p is ImageLoadingTransformer);
    parts[at] = mlContext.Transforms.LoadImages("Image", folder, nameof(ImageFile.ImagePath)).Fit(testImages);
    return new TransformerChain<ITransformer>(parts);
}

internal sealed class DigitPrediction
{
    public string PredictedLabel { get; set; } = "";

    public float[] Score { get; set; } = Array.Empty<float>();
}

// ExtractPixels gives a [channels, height, width] vector; the trainer reads it as its 784 values.
internal sealed class PixelRow
{
    [VectorType(1, 28, 28)]
    public float[] Features { get; set; } = Array.Empty<float>();
}

internal sealed class IdxRow
{
    [VectorType(28 * 28)]
    public float[] Features { get; set; } = Array.Empty<float>();
}
