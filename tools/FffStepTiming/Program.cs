// Usage: dotnet run --project tools/FffStepTiming -c Release -- [--batch 1024] [--features 12] [--outputs 1] [--depth 3] [--leaf 32]
//            [--malloc default|tuned] [--leaf-by-leaf auto|on|off] [--products]
// Times FFF training steps on random data (by default the default FFF shape, depth 3 x leaf 32) in this process: the minimum over 30
// blocks of 40 steps of each part's mean, so a block disturbed by the rest of the machine does not count. "release" is the
// step's dispose scope freeing its tensors. --leaf-by-leaf on/off makes the hard fine-tune steps compute each leaf on its own rows or
// take the one-hot mixture whatever the batch (auto: as training does, by FastFeedForwardModule.LeafByLeafMinHiddenValues).
// --products times only two products of the soft stage, forward and backward: the output product (batch x leaves*leaf times
// leaves*leaf x outputs) and the routing nodes' (batch x features times features x nodes), each as the plain libtorch product and
// as NarrowProducts computes it (over a multiple of 16 columns on large batches).
using System;
using System.Diagnostics;
using System.Globalization;
using Microsoft.ML.Fff;
using Microsoft.ML.Fff.FastFeedForward;
using Microsoft.ML.Fff.Training;
using TorchSharp;
using static TorchSharp.torch;

int batch = 1024, features = 12, outputs = 1, depth = FffDefaults.Depth, leafWidth = FffDefaults.LeafWidth;
bool tuned = true;
bool? leafByLeaf = null;
bool products = false;
for (int i = 0; i < args.Length; i++)
{
    string Next() => i + 1 < args.Length ? args[++i] : throw new ArgumentException($"{args[i]} needs a value.");
    switch (args[i])
    {
        case "--batch": batch = int.Parse(Next(), CultureInfo.InvariantCulture); break;
        case "--features": features = int.Parse(Next(), CultureInfo.InvariantCulture); break;
        case "--outputs": outputs = int.Parse(Next(), CultureInfo.InvariantCulture); break;
        case "--depth": depth = int.Parse(Next(), CultureInfo.InvariantCulture); break;
        case "--leaf": leafWidth = int.Parse(Next(), CultureInfo.InvariantCulture); break;
        case "--malloc":
            string policy = Next();
            tuned = policy switch
            {
                "tuned" => true,
                "default" => false,
                _ => throw new ArgumentException($"--malloc takes default or tuned, got '{policy}'."),
            };
            break;
        case "--leaf-by-leaf":
            string mode = Next();
            leafByLeaf = mode switch
            {
                "auto" => null,
                "on" => true,
                "off" => false,
                _ => throw new ArgumentException($"--leaf-by-leaf takes auto, on or off, got '{mode}'."),
            };
            break;
        case "--products": products = true; break;
        default: throw new ArgumentException($"Unknown argument '{args[i]}'. Usage: [--batch N] [--features N] [--outputs N] [--depth N] [--leaf N] [--malloc default|tuned] [--leaf-by-leaf auto|on|off] [--products]");
    }
}

// What training does first (TorchRuntime.Initialize); "default" leaves glibc as it is.
if (tuned)
    TorchRuntime.KeepFreedMemoryForReuse();
torch.manual_seed(1);
if (products)
{
    TimeProducts("output product", batch, (1L << depth) * leafWidth, outputs);
    if (depth > 0)
        TimeProducts("routing nodes' product", batch, features, (1L << depth) - 1);
    return;
}
var options = new FastFeedForwardBinaryTrainer.Options { Depth = depth, LeafWidth = leafWidth };
using var module = new FastFeedForwardModule(features, outputs, options, CPU);
using var generator = new Generator(1);
using Tensor x = randn(batch, features);
using Tensor y = randn(batch, outputs);
Console.WriteLine($"FFF depth {options.Depth} x leaf {options.LeafWidth}, batch {batch} x {features} features, {outputs} output(s), " +
                  $"malloc {(tuned ? "tuned" : "default")}, hard steps leaf by leaf: {(leafByLeaf is bool forced ? (forced ? "on" : "off") : "auto")}, {torch.get_num_threads()} libtorch threads, {Environment.ProcessorCount} logical cores");
foreach (FffTrainingPhase phase in new[] { FffTrainingPhase.Soft, FffTrainingPhase.HardFineTune })
{
    var plan = new PhasePlan(phase, 10);
    var context = new StepContext(plan, 0, 10, generator);
    using var optimizer = new AdamOptimizer(module.ParametersFor(plan), options.Optimizer, options.WeightDecay) { LearningRate = 1e-3 };
    double forward = double.MaxValue, backward = double.MaxValue, step = double.MaxValue, release = double.MaxValue;
    for (int block = 0; block < 31; block++)
    {
        long f = 0, b = 0, s = 0, r = 0;
        const int steps = 40;
        for (int i = 0; i < steps; i++)
        {
            var scope = NewDisposeScope();
            long t0 = Stopwatch.GetTimestamp();
            StepOutput output = phase == FffTrainingPhase.HardFineTune && leafByLeaf is bool byLeaf
                ? new StepOutput(module.HardForward(x, byLeaf))
                : module.TrainingForward(x, context);
            Tensor loss = output.Output.add(y, AliveScalars.MinusOne).square().mean();
            if (output.Penalty is not null)
                loss = loss.add(output.Penalty, AliveScalars.One);
            loss.item<float>();
            long t1 = Stopwatch.GetTimestamp();
            optimizer.ZeroGrad();
            loss.backward();
            long t2 = Stopwatch.GetTimestamp();
            optimizer.Step();
            long t3 = Stopwatch.GetTimestamp();
            scope.Dispose();
            long t4 = Stopwatch.GetTimestamp();
            f += t1 - t0; b += t2 - t1; s += t3 - t2; r += t4 - t3;
        }
        if (block == 0)
            continue;   // warm-up
        double microseconds = 1e6 / Stopwatch.Frequency / steps;
        forward = Math.Min(forward, f * microseconds);
        backward = Math.Min(backward, b * microseconds);
        step = Math.Min(step, s * microseconds);
        release = Math.Min(release, r * microseconds);
    }
    Console.WriteLine($"{phase,-12} forward {forward,6:F0} µs, backward {backward,6:F0} µs, optimizer {step,5:F0} µs, release {release,4:F0} µs, sum {forward + backward + step + release,6:F0} µs per step");
}

// A product of the soft stage, forward and backward (the gradients of both factors), plain and as NarrowProducts takes it.
static void TimeProducts(string name, long rows, long inner, long columns)
{
    using Tensor left = randn(rows, inner).requires_grad_(true);
    using Tensor right = randn(inner, columns).requires_grad_(true);
    using Tensor weights = randn(rows, columns);
    double Time(Func<Tensor, Tensor, Tensor> product)
    {
        double best = double.MaxValue;
        for (int block = 0; block < 31; block++)
        {
            const int steps = 20;
            long t0 = Stopwatch.GetTimestamp();
            for (int i = 0; i < steps; i++)
            {
                using var scope = NewDisposeScope();
                product(left, right).mul(weights).sum().backward();
                left.grad!.zero_();
                right.grad!.zero_();
            }
            if (block > 0)
                best = Math.Min(best, (Stopwatch.GetTimestamp() - t0) * 1e6 / Stopwatch.Frequency / steps);
        }
        return best;
    }
    long? padded;
    using (var scope = NewDisposeScope())
        padded = NarrowProducts.PaddedColumns(left, right);
    Console.WriteLine($"{name} [{rows} x {inner}] x [{inner} x {columns}], forward and backward, {torch.get_num_threads()} libtorch threads: " +
                      $"plain {Time((a, b) => a.mm(b)),6:F0} µs, NarrowProducts {Time(NarrowProducts.Multiply),6:F0} µs " +
                      $"({(padded is long p ? $"over {p} columns" : "the plain product")})");
}
