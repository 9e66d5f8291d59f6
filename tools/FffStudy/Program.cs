// Prints Markdown tables of test metrics for the embedded data sets (80/20 split, split seed 0) over a few
// MLContext seeds, for one option varied at a time. Usage:
//   dotnet run --project tools/FffStudy -c Release -- [fine-tune|hardening|shape|recipe|baseline]
using System;
using System.Collections.Generic;
using System.Linq;
using Microsoft.ML;
using Microsoft.ML.Fff;
using Microsoft.ML.Fff.FastFeedForward;

string study = args.Length > 0 ? args[0] : "baseline";
int[] seeds = { 0, 1, 2 };
var variants = study switch
{
    "fine-tune" => new[] { 0f, 0.25f, 0.4f, 0.5f }.Select(f => ($"HardFineTuneFraction {f}", (Action<FastFeedForwardOptionsBase>)(o => o.HardFineTuneFraction = f))).ToArray(),
    "hardening" => new (string, Action<FastFeedForwardOptionsBase>)[]
    {
        ("Linear ramp to h=1 (default)", o => { }),
        ("Constant h=1", o => o.HardeningSchedule = FffHardeningSchedule.Constant),
        ("Linear ramp to h=3", o => o.HardeningWeight = 3),
        ("No hardening (h=0)", o => o.HardeningWeight = 0),
    },
    "shape" => new (string, Action<FastFeedForwardOptionsBase>)[]
    {
        ("depth 0 x leaf 32 (plain MLP)", o => { o.Depth = 0; o.LeafWidth = 32; }),
        ("depth 1 x leaf 16", o => { o.Depth = 1; o.LeafWidth = 16; }),
        ("depth 2 x leaf 16", o => { o.Depth = 2; o.LeafWidth = 16; }),
        ("depth 3 x leaf 32 (default)", o => { o.Depth = 3; o.LeafWidth = 32; }),
        ("depth 4 x leaf 16", o => { o.Depth = 4; o.LeafWidth = 16; }),
    },
    "recipe" => new (string, Action<FastFeedForwardOptionsBase>)[]
    {
        ("defaults", o => { }),
        ("master leaf 8", o => o.MasterLeafWidth = 8),
        ("load balancing 0.1, two-phase hardening to 3", o => { o.LoadBalancingWeight = 0.1f; o.HardeningSchedule = FffHardeningSchedule.TwoPhase; o.HardeningWeight = 3; }),
        ("input dropout 0.2", o => o.InputDropout = 0.2f),
        ("label smoothing 0.1", o => o.LabelSmoothing = 0.1f),
        ("distillation, dense teacher 256", o => o.DistillationTeacherWidth = 256),
    },
    _ => new (string, Action<FastFeedForwardOptionsBase>)[] { ("defaults", o => { }) },
};

Console.WriteLine($"Study '{study}': test metric per MLContext seed {string.Join(", ", seeds)} (80/20 split, split seed 0).");
Console.WriteLine();
Console.WriteLine("| variant | digits hard accuracy | digits soft-hard gap | breast cancer AUC | diabetes R² |");
Console.WriteLine("| --- | --- | --- | --- | --- |");
foreach ((string name, Action<FastFeedForwardOptionsBase> set) in variants)
{
    var digits = new List<double>();
    var gaps = new List<double>();
    var auc = new List<double>();
    var r2 = new List<double>();
    foreach (int seed in seeds)
    {
        var ml = new MLContext(seed: seed);
        var digitsSplit = ml.Data.TrainTestSplit(ml.Fff().SampleData.Digits(), 0.2, seed: 0);
        var multiclass = new FastFeedForwardMulticlassTrainer.Options();
        set(multiclass);
        var digitsModel = ml.Transforms.Conversion.MapValueToKey("Label").Append(ml.MulticlassClassification.Trainers.FastFeedForward(multiclass)).Fit(digitsSplit.TrainSet);
        digits.Add(ml.MulticlassClassification.Evaluate(digitsModel.Transform(digitsSplit.TestSet)).MicroAccuracy);
        gaps.Add(ml.Fff().EvaluateSoftHardGap(digitsModel, digitsSplit.TestSet).Gap);

        ml = new MLContext(seed: seed);
        var cancerSplit = ml.Data.TrainTestSplit(ml.Fff().SampleData.BreastCancer(), 0.2, seed: 0);
        var binary = new FastFeedForwardBinaryTrainer.Options();
        set(binary);
        auc.Add(ml.BinaryClassification.Evaluate(ml.BinaryClassification.Trainers.FastFeedForward(binary).Fit(cancerSplit.TrainSet).Transform(cancerSplit.TestSet)).AreaUnderRocCurve);

        ml = new MLContext(seed: seed);
        var diabetesSplit = ml.Data.TrainTestSplit(ml.Fff().SampleData.Diabetes(), 0.2, seed: 0);
        var regression = new FastFeedForwardRegressionTrainer.Options();
        set(regression);
        r2.Add(ml.Regression.Evaluate(ml.Regression.Trainers.FastFeedForward(regression).Fit(diabetesSplit.TrainSet).Transform(diabetesSplit.TestSet)).RSquared);
    }
    Console.WriteLine($"| {name} | {Cells(digits, "F4")} | {Cells(gaps, "+0.0000;-0.0000;0.0000")} | {Cells(auc, "F4")} | {Cells(r2, "F3")} |");
}

static string Cells(List<double> values, string format) => $"{string.Join(" / ", values.Select(v => v.ToString(format)))} (mean {values.Average().ToString(format)})";
