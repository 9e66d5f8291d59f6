using System;
using System.Collections.Generic;
using System.Threading.Tasks;
using Microsoft.ML.Runtime;
using TorchSharp;
using static TorchSharp.torch;

namespace Microsoft.ML.Fff.Training;

// A training step of an ensemble whose trees run side by side, and the checks and values every step shares.
internal sealed partial class FeedForwardTrainingSession
{
    /// <summary>A step's loss (prediction loss plus penalties), prediction loss, and the mean node entropy and balance loss when measured.</summary>
    private readonly record struct StepValues(double Loss, double Prediction, double? Entropy, double? Balance);

    private void CheckLoss(double loss, int epoch)
    {
        if (!double.IsFinite(loss))
        {
            throw _ch.Except($"Training diverged in epoch {epoch}: the loss became {loss}. " +
                $"Lower LearningRate (now {_options.LearningRate}) or check the features' scale (FeatureScaling = {_options.FeatureScaling}).");
        }
    }

    /// <summary>
    /// Forward and backward of every tree of an ensemble (<paramref name="members"/>), up to one per core. The ensemble trains on the mean of
    /// the trees' losses (<see cref="StepLoss"/>), so tree <c>k</c>'s gradients are those of its own loss divided by the tree
    /// count: each tree's pass is a graph of its own, run on its own thread, and accumulates into its own parameters' gradients.
    /// The sums below are taken in tree order, so the step does not depend on which thread finished first.
    /// </summary>
    private StepValues MemberSteps(IReadOnlyList<FeedForwardModule> members, Tensor x, Tensor y, Tensor w, ReadOnlySpan<int> batch, Device device, StepContext context)
    {
        int count = members.Count;
        var results = new StepValues[count];
        int[]? rows = _teacher is null ? null : batch.ToArray();
        using Scalar share = (1.0 / count).ToScalar();
        try
        {
            Parallel.For(0, count, new ParallelOptions { MaxDegreeOfParallelism = Environment.ProcessorCount }, k =>
            {
                // OpenMP's thread count belongs to each thread: a pool thread would otherwise split this tree's work again.
                int previous = torch.get_num_threads();
                torch.set_num_threads(1);
                try
                {
                    using var scope = NewDisposeScope();
                    StepOutput own = members[k].TrainingForward(x, context);
                    Tensor prediction = StepLoss(new StepOutput(own.Output), y, w, rows, device);
                    Tensor loss = own.Penalty is null ? prediction : prediction.add(own.Penalty, AliveScalars.One);
                    loss.mul(share).backward();
                    results[k] = new StepValues(loss.item<float>(), prediction.item<float>(), own.Entropy?.item<float>(), own.Balance?.item<float>());
                }
                finally
                {
                    if (previous != 1)
                        torch.set_num_threads(previous);
                }
            });
        }
        catch (AggregateException e) when (e.InnerExceptions.Count > 0)
        {
            // The first failure as itself, as a step on one thread would have thrown it.
            System.Runtime.ExceptionServices.ExceptionDispatchInfo.Capture(e.InnerExceptions[0]).Throw();
            throw;
        }
        double total = 0, predicted = 0, entropy = 0, balance = 0;
        foreach (StepValues r in results)
        {
            total += r.Loss;
            predicted += r.Prediction;
            entropy += r.Entropy ?? 0;
            balance += r.Balance ?? 0;
        }
        return new StepValues(total / count, predicted / count, results[0].Entropy is null ? null : entropy / count,
            results[0].Balance is null ? null : balance / count);
    }
}
