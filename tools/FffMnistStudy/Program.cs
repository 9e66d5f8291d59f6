// One FFF training on MNIST (official 60k train / 10k test), settings from the command line. Usage:
//   dotnet tools/FffMnistStudy/bin/Release/net10.0/FffMnistStudy.dll [--epochs 10] [--batch 128] [--lr 3e-3] [--hw 1]
//     [--hsched linear|constant] [--ft 0.4] [--leak 0] [--wd 1e-4] [--depth 6] [--leaf 16] [--seed 0] [--threads 1]
//     [--train-rows N] [--valid N] [--no-test] [--master N] [--balance A] [--bfrac F] [--idrop P] [--shift PIXELS] [--smooth S]
//     [--nodes leaves|neurons] [--trees K] [--teacher W] [--dweight A] [--dtemp T] [--selfdistill A]
// Prints one line per epoch (metrics on a 2,048-row training sample, or on the validation rows with --valid), then the
// hard-descent test accuracy, the soft/hard comparison on the test set, and seconds per epoch.
using System;
using System.Diagnostics;
using System.Globalization;
using Microsoft.ML;
using Microsoft.ML.Fff;
using Microsoft.ML.Fff.FastFeedForward;

CultureInfo.DefaultThreadCurrentCulture = CultureInfo.InvariantCulture;
CultureInfo.CurrentCulture = CultureInfo.InvariantCulture;

var o = new FastFeedForwardMulticlassTrainer.Options
{
    Depth = 6, LeafWidth = 16, NumberOfEpochs = 10, BatchSize = 128, LearningRate = 3e-3f,
    HardeningWeight = 1f, HardeningSchedule = FffHardeningSchedule.Linear, HardFineTuneFraction = 0.4f,
    RegionLeak = 0f, WeightDecay = 1e-4f, NumberOfThreads = 1, Seed = 0,
};
int? trainRows = null;
int validRows = 0;
bool test = true;
for (int i = 0; i < args.Length; i++)
{
    string a = args[i];
    string V() => args[++i];
    float F() => float.Parse(V(), CultureInfo.InvariantCulture);
    int I() => int.Parse(V(), CultureInfo.InvariantCulture);
    switch (a)
    {
        case "--epochs": o.NumberOfEpochs = I(); break;
        case "--batch": o.BatchSize = I(); break;
        case "--lr": o.LearningRate = F(); break;
        case "--hw": o.HardeningWeight = F(); break;
        case "--hsched": o.HardeningSchedule = Enum.Parse<FffHardeningSchedule>(V(), ignoreCase: true); break;
        case "--ft": o.HardFineTuneFraction = F(); break;
        case "--leak": o.RegionLeak = F(); break;
        case "--wd": o.WeightDecay = F(); break;
        case "--depth": o.Depth = I(); break;
        case "--leaf": o.LeafWidth = I(); break;
        case "--seed": o.Seed = I(); break;
        case "--threads": o.NumberOfThreads = I(); break;
        case "--train-rows": trainRows = I(); break;
        case "--valid": validRows = I(); break;
        case "--no-test": test = false; break;
        case "--master": o.MasterLeafWidth = I(); break;
        case "--balance": o.LoadBalancingWeight = F(); break;
        case "--bfrac": o.LoadBalancingFraction = F(); break;
        case "--idrop": o.InputDropout = F(); break;
        case "--shift": o.ShiftAugmentation = I(); o.ImageHeight = 28; o.ImageWidth = 28; break;
        case "--smooth": o.LabelSmoothing = F(); break;
        case "--nodes": o.NodeKind = Enum.Parse<FffNodeKind>(V(), ignoreCase: true); break;
        case "--trees": o.NumberOfTrees = I(); break;
        case "--teacher": o.DistillationTeacherWidth = I(); break;
        case "--dweight": o.DistillationWeight = F(); break;
        case "--dtemp": o.DistillationTemperature = F(); break;
        case "--selfdistill": o.FineTuneSoftTargetWeight = F(); break;
        default: Console.Error.WriteLine($"Unknown argument '{a}'."); return 2;
    }
}

Console.WriteLine($"settings: depth {o.Depth} leaf {o.LeafWidth} epochs {o.NumberOfEpochs} batch {o.BatchSize} lr {o.LearningRate} hw {o.HardeningWeight} ({o.HardeningSchedule}) " +
                  $"ft {o.HardFineTuneFraction} leak {o.RegionLeak} wd {o.WeightDecay} master {o.MasterLeafWidth} balance {o.LoadBalancingWeight}/{o.LoadBalancingFraction} " +
                  $"idrop {o.InputDropout} shift {o.ShiftAugmentation} smooth {o.LabelSmoothing} nodes {o.NodeKind} trees {o.NumberOfTrees} teacher {o.DistillationTeacherWidth} a {o.DistillationWeight} T {o.DistillationTemperature} self {o.FineTuneSoftTargetWeight} seed {o.Seed} threads {o.NumberOfThreads} trainRows {trainRows?.ToString() ?? "all"} valid {validRows}");
var ml = new MLContext(seed: 0);
IDataView train = ml.Fff().SampleData.Mnist(directory: null, test: false, maxRows: trainRows);
IDataView testData = ml.Fff().SampleData.Mnist(directory: null, test: true, maxRows: null);

double lastEpochEnd = 0;
double softPhaseSeconds = 0, hardPhaseSeconds = 0;
int softEpochs = 0, hardEpochs = 0;
FffTrainingProgress? lastSoft = null;
o.Progress = new SyncProgress(p =>
{
    double now = p.Elapsed.TotalSeconds, epochSeconds = now - lastEpochEnd;
    lastEpochEnd = now;
    if (p.Phase == FffTrainingPhase.Soft) { softPhaseSeconds += epochSeconds; softEpochs++; lastSoft = p; }
    else { hardPhaseSeconds += epochSeconds; hardEpochs++; }
    Console.WriteLine($"epoch {p.Epoch,3}/{p.NumberOfEpochs} {(p.Phase == FffTrainingPhase.Soft ? "soft" : "hard"),4}  loss {p.PredictionLoss:F4}  entropy {p.NodeEntropy:F4}  " +
                      $"{(p.OnValidationSet ? "valid" : "train-sample")} soft {p.SoftMetric:F4} hard {p.HardMetric:F4} gap {p.SoftHardGap:F4}  lr {p.LearningRate:G3}  {epochSeconds:F1}s (total {now:F1}s)");
});

var mapKey = ml.Transforms.Conversion.MapValueToKey("Label").Fit(train);
IDataView trainKeyed = mapKey.Transform(train);
var trainer = ml.MulticlassClassification.Trainers.FastFeedForward(o);
var clock = Stopwatch.StartNew();
ITransformer model;
if (validRows > 0)
{
    var split = ml.Data.TrainTestSplit(trainKeyed, testFraction: validRows / 60000.0, seed: 0);
    model = trainer.Fit(split.TrainSet, split.TestSet);
}
else
{
    model = trainer.Fit(trainKeyed);
}
double seconds = clock.Elapsed.TotalSeconds;
int epochs = softEpochs + hardEpochs;
Console.WriteLine($"train: {seconds:F1}s total (incl. data scan), {epochs} epochs, {(lastEpochEnd / Math.Max(1, epochs)):F1} s/epoch " +
                  $"(soft {softPhaseSeconds / Math.Max(1, softEpochs):F1} s/epoch x {softEpochs}, hard {hardPhaseSeconds / Math.Max(1, hardEpochs):F1} s/epoch x {hardEpochs})");
if (lastSoft != null)
    Console.WriteLine($"end of soft phase (epoch {lastSoft.Epoch}): entropy {lastSoft.NodeEntropy:F4}, soft {lastSoft.SoftMetric:F4}, hard {lastSoft.HardMetric:F4}");
if (test)
{
    ITransformer full = mapKey.Append(model);
    double hardAcc = ml.MulticlassClassification.Evaluate(full.Transform(testData)).MicroAccuracy;
    FffSoftHardGap gap = ml.Fff().EvaluateSoftHardGap(full, testData);
    Console.WriteLine($"RESULT test hard {hardAcc:F4} soft {gap.SoftMetric:F4} gapHard {gap.HardMetric:F4} gap {gap.Gap * 100:F2}pts agreement {gap.Agreement:F4} " +
                      $"| {lastEpochEnd / Math.Max(1, epochs):F1} s/epoch x {epochs} = {seconds:F0}s");
}
return 0;

sealed class SyncProgress : IProgress<FffTrainingProgress>
{
    private readonly Action<FffTrainingProgress> _report;
    public SyncProgress(Action<FffTrainingProgress> report) => _report = report;
    public void Report(FffTrainingProgress value) => _report(value);
}
