using System;
using System.Collections.Generic;
using Microsoft.ML.Fff.Scoring;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Microsoft.ML.Fff.Training;

/// <summary>One stage of a training run: its epochs, learning-rate factor and what it trains.</summary>
/// <param name="Phase">Reported in the progress.</param>
/// <param name="Epochs">Epochs in this stage (stages with 0 epochs are skipped).</param>
/// <param name="LearningRateFactor">Peak learning rate of the stage, relative to the option.</param>
internal sealed record PhasePlan(FffTrainingPhase Phase, int Epochs, double LearningRateFactor = 1);

/// <summary>What a training step asks of the module besides the input.</summary>
/// <param name="Phase">The stage being trained.</param>
/// <param name="EpochInPhase">0-based epoch within the stage.</param>
/// <param name="PhaseEpochs">Epochs of the stage.</param>
/// <param name="Generator">Seeded generator for training-time randomness (noise, dropout, region leak).</param>
internal sealed record StepContext(PhasePlan Phase, int EpochInPhase, int PhaseEpochs, Generator Generator);

/// <summary>The training forward's result.</summary>
/// <param name="Output">Raw outputs <c>[B, O]</c> (logits or standardized values).</param>
/// <param name="Penalty">Weighted regularization added to the prediction loss, or null.</param>
/// <param name="Entropy">Routing entropy to report (not weighted), or null.</param>
/// <param name="Balance">Load-balancing loss to report (not weighted), or null.</param>
/// <param name="Members">
/// For an ensemble, its members' raw outputs <c>[B, K, O]</c> (<paramref name="Output"/> is their mean): the prediction loss is
/// then the mean of the members' losses, so each member learns to predict on its own; null otherwise.
/// </param>
internal readonly record struct StepOutput(Tensor Output, Tensor? Penalty = null, Tensor? Entropy = null, Tensor? Balance = null, Tensor? Members = null);

/// <summary>A module parameter and the network array holding the same weights.</summary>
/// <param name="Parameter">The torch parameter.</param>
/// <param name="Array">The network's array, row-major in the network's layout.</param>
/// <param name="InputMajor">
/// True when the parameter is input-major (<c>[I, units]</c>, so one matrix product serves dense and sparse batches) while
/// the array is unit-major (<c>units x I</c>): the two are transposes.
/// </param>
internal readonly record struct WeightBinding(Parameter Parameter, float[] Array, bool InputMajor = false);

/// <summary>
/// The trainable TorchSharp side of an architecture. Internal: the user never sees a tensor or a module, and nothing
/// native outlives training (weights are copied into a <see cref="FeedForwardNetwork"/>).
/// </summary>
internal abstract class FeedForwardModule : nn.Module<Tensor, Tensor>
{
    protected FeedForwardModule(string name) : base(name)
    {
    }

    /// <summary>The training-time forward of one batch (with noise, dropout, region leak as the architecture has them).</summary>
    public abstract StepOutput TrainingForward(Tensor input, StepContext context);

    /// <summary>Parameters the optimizer updates in <paramref name="phase"/>; all by default.</summary>
    public virtual IEnumerable<Parameter> ParametersFor(PhasePlan phase) => parameters();

    /// <summary>
    /// Modules that train on the mean of their own losses and share nothing within a step (an ensemble's trees), which a step may
    /// run side by side; <c>null</c> when the module is one graph.
    /// </summary>
    public virtual IReadOnlyList<FeedForwardModule>? IndependentMembers => null;

    /// <summary>
    /// The module's parameters paired with the arrays of <paramref name="network"/> (same architecture and shape) that
    /// hold the same weights, in any order; what <see cref="Import"/> and <see cref="Export"/> copy. Training-only
    /// parameters (e.g. gate noise) are left out.
    /// </summary>
    private protected abstract IEnumerable<WeightBinding> Bindings(FeedForwardNetwork network);

    /// <summary>Copies the weights of <paramref name="network"/> (same architecture and shape) into the module.</summary>
    public virtual void Import(FeedForwardNetwork network)
    {
        using var noGrad = no_grad();
        using var scope = NewDisposeScope();
        foreach ((Parameter parameter, float[] array, bool inputMajor) in Bindings(network))
        {
            long[] shape = parameter.shape;
            parameter.copy_(inputMajor ? tensor(array, new[] { shape[1], shape[0] }).t() : tensor(array, shape));
        }
    }

    /// <summary>Copies the module's weights into <paramref name="network"/> (same architecture and shape).</summary>
    public virtual void Export(FeedForwardNetwork network)
    {
        using var noGrad = no_grad();
        using var scope = NewDisposeScope();
        foreach ((Parameter parameter, float[] array, bool inputMajor) in Bindings(network))
            CopyOut(inputMajor ? parameter.t() : parameter, array);
        network.WeightsChanged();
    }

    /// <summary>Copies a tensor's values into an array of the same element count.</summary>
    protected static void CopyOut(Tensor source, float[] destination)
    {
        using Tensor contiguous = source.detach().cpu().contiguous();
        contiguous.data<float>().CopyTo(destination, 0);
    }
}

/// <summary>
/// What the shared training session needs from an architecture (FFF, dense, mixture of experts): the C# network with its
/// initialization, the TorchSharp module, and the stages of training. Built from the trainer's options, which it only reads.
/// </summary>
internal abstract class NetworkArchitecture
{
    /// <summary>Short name for log messages ("FFF", "Dense", "MoE").</summary>
    public abstract string Name { get; }

    /// <summary>A new network with initialized weights (training space: scaled features, standardized regression label).</summary>
    public abstract FeedForwardNetwork CreateNetwork(int inputs, int outputs, Random random);

    /// <summary>A module of the same shape as <see cref="CreateNetwork"/>'s network.</summary>
    public abstract FeedForwardModule CreateModule(int inputs, int outputs, Device device);

    /// <summary>Kind-specific training behaviour (teachers, self-distillation); none by default.</summary>
    public TrainingHooks Hooks { get; set; } = TrainingHooks.None;

    /// <summary>Whether <c>FffFeatureScaling.Auto</c> divides sparse features by their largest absolute value (true unless the architecture learns its own input scale).</summary>
    public virtual bool ScalesSparseFeatures => true;

    /// <summary>
    /// True when the architecture puts an input stage in front of its network: the session applies <see cref="MapInputRow"/> to
    /// every raw batch row (dense rows only), and scales the result unless <see cref="StageScalesFeatures"/>.
    /// </summary>
    public virtual bool HasInputStage => false;

    /// <summary>
    /// True when the input stage's map gives the network its input scale itself (standardize, quantile, robust, embeddings), so
    /// the session neither scales nor folds; false for a stage that only clamps raw features, behind which the session scales
    /// and folds as without a stage.
    /// </summary>
    public virtual bool StageScalesFeatures => false;

    /// <summary>The stage's fixed per-feature map of one raw row, in place, before any scaling (nothing without an input stage).</summary>
    public virtual void MapInputRow(Span<float> row)
    {
    }

    /// <summary>The stages of training for <paramref name="numberOfEpochs"/> epochs in all; by default one stage.</summary>
    public virtual IReadOnlyList<PhasePlan> PlanPhases(int numberOfEpochs) => new[] { new PhasePlan(FffTrainingPhase.Training, numberOfEpochs) };

    /// <summary>Fills <paramref name="values"/> with U(±bound) draws from <paramref name="random"/>.</summary>
    protected static void FillUniform(float[] values, float bound, Random random)
    {
        for (int i = 0; i < values.Length; i++)
            values[i] = (float)((random.NextDouble() * 2 - 1) * bound);
    }

    /// <summary>Fills <paramref name="values"/> with N(0, std²) draws from <paramref name="random"/> (Box–Muller).</summary>
    protected static void FillNormal(float[] values, float std, Random random)
    {
        for (int i = 0; i < values.Length; i++)
        {
            double u1 = 1 - random.NextDouble(), u2 = random.NextDouble();
            values[i] = (float)(std * Math.Sqrt(-2 * Math.Log(u1)) * Math.Cos(2 * Math.PI * u2));
        }
    }
}
