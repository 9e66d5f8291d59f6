// The measurements behind Train's image recipe (docs/decisions.md, "`Train` recognizes images"). Two modes:
//   dotnet run --project tools/FffImageRecipeStudy -c Release -- parts (mnist N | digits) VARIANT[,VARIANT...]
//     the multiclass FFF trainer with Train's settings for the data (MNIST: batch 256, learning rate 5e-3, 10 % holdout, patience
//     20, at most 60 epochs; digits: batch 64, learning rate 3e-3, 60 epochs, no holdout), one libtorch thread, seed 0, depth 3 x
//     leaf 32, plus the parts each letter of VARIANT names: S depth 4 x leaf 16; R master leaf 8, load balancing 0.1, two-phase
//     hardening 3, fine-tune soft targets 0.7; A one-pixel shift augmentation; d input dropout 0.2; b batch 64, learning rate 3e-3;
//     e 40 epochs without holdout; E two trees; T / U a dense teacher of 256 / 1,024 (distillation); X nothing.
//   dotnet run --project tools/FffImageRecipeStudy -c Release -- train (mnist N | fashion N | digits SPLITSEED) VARIANT[,VARIANT...]
//     Fff().Train with Task = MulticlassClassification and: D its defaults (images); T ImageHeight = ImageWidth = 0 (a table);
//     e NumberOfEpochs = 40; 2 EnsembleSize = 2. Variants run in order on one MLContext, so each draws its seed after the ones
//     before it (docs/decisions.md lists the order used). Prints test accuracy and training seconds.
// MNIST: the first N official training rows and the 10,000 test rows (scripts/fetch-mnist.sh); digits: a seeded 80/20 split.
using System;
using System.Diagnostics;
using Microsoft.ML;
using Microsoft.ML.Fff;
using Microsoft.ML.Fff.FastFeedForward;

if (args.Length < 3 || (args[0] != "parts" && args[0] != "train"))
{
    Console.Error.WriteLine("Usage: (parts | train) (mnist N | fashion N | digits [SPLITSEED]) VARIANT[,VARIANT...]  (see the comment at the top of Program.cs)");
    return 2;
}
var ml = new MLContext(seed: 0);
bool digits = args[1] == "digits";
IDataView train, test;
if (digits)
{
    int splitSeed = args[0] == "train" && args.Length > 3 ? int.Parse(args[2]) : 0;
    var split = ml.Data.TrainTestSplit(ml.Fff().SampleData.Digits(), 0.2, seed: splitSeed);
    (train, test) = (ml.Data.Cache(split.TrainSet), ml.Data.Cache(split.TestSet));
}
else if (args[1] == "fashion")
{
    // Fashion-MNIST (scripts/fetch-fashion-mnist.sh): the held-out image set, to check a change there over several seeds.
    train = ml.Data.Cache(ml.Fff().SampleData.FashionMnist(test: false, maxRows: int.Parse(args[2])));
    test = ml.Data.Cache(ml.Fff().SampleData.FashionMnist(test: true));
}
else
{
    train = ml.Data.Cache(ml.Fff().SampleData.Mnist(test: false, maxRows: int.Parse(args[2])));
    test = ml.Data.Cache(ml.Fff().SampleData.Mnist(test: true));
}
int side = digits ? 8 : 28;
string variants = args[^1];
foreach (string variant in variants.Split(','))
{
    var clock = Stopwatch.StartNew();
    ITransformer model = args[0] == "parts"
        ? ml.Transforms.Conversion.MapValueToKey("Label").Append(ml.MulticlassClassification.Trainers.FastFeedForward(Parts(variant))).Fit(train)
        : ml.Fff().CreatePipeline(train, "Label", TrainOptions(variant)).Fit(train);
    double seconds = clock.Elapsed.TotalSeconds;
    double accuracy = ml.MulticlassClassification.Evaluate(model.Transform(test)).MicroAccuracy;
    Console.WriteLine($"{args[0]} {string.Join(' ', args[1..^1])} {variant}: test accuracy {accuracy:P2}, training {seconds:F0} s");
}
return 0;

FastFeedForwardMulticlassTrainer.Options Parts(string variant)
{
    var o = new FastFeedForwardMulticlassTrainer.Options
    {
        Depth = 3, LeafWidth = 32, NumberOfEpochs = 60, BatchSize = 256, LearningRate = 5e-3f, HoldoutFraction = 0.1, EarlyStoppingPatience = 20,
        Seed = 0, NumberOfThreads = 1,
    };
    if (digits)
        (o.BatchSize, o.LearningRate, o.HoldoutFraction, o.EarlyStoppingPatience) = (64, 3e-3f, 0, 0);
    foreach (char part in variant)
    {
        switch (part)
        {
            case 'S': (o.Depth, o.LeafWidth) = (4, 16); break;
            case 'R':
                o.MasterLeafWidth = 8; o.LoadBalancingWeight = 0.1f; o.HardeningSchedule = FffHardeningSchedule.TwoPhase; o.HardeningWeight = 3;
                o.FineTuneSoftTargetWeight = 0.7f;
                break;
            case 'A': (o.ShiftAugmentation, o.ImageHeight, o.ImageWidth) = (1, side, side); break;
            case 'b': (o.BatchSize, o.LearningRate) = (64, 3e-3f); break;
            case 'd': o.InputDropout = 0.2f; break;
            case 'e': (o.NumberOfEpochs, o.HoldoutFraction, o.EarlyStoppingPatience) = (40, 0, 0); break;
            case 'E': o.EnsembleSize = 2; break;
            case 'T': o.DistillationTeacherWidth = 256; break;
            case 'U': o.DistillationTeacherWidth = 1024; break;
            case 'X': break;
            default: throw new ArgumentException($"Unknown recipe part '{part}' in '{variant}'.");
        }
    }
    return o;
}

FffAutoTrainOptions TrainOptions(string variant)
{
    var o = new FffAutoTrainOptions { Task = FffTask.MulticlassClassification };
    if (variant.Contains('T'))
        (o.ImageHeight, o.ImageWidth) = (0, 0);
    if (variant.Contains('e'))
        o.NumberOfEpochs = 40;
    if (variant.Contains('2'))
        o.EnsembleSize = 2;
    return o;
}
