using System;
using System.Collections.Generic;
using Microsoft.ML.Fff.Scoring;
using Microsoft.ML.Fff.Training;
using static TorchSharp.torch;

namespace Microsoft.ML.Fff.FastFeedForward;

/// <summary>
/// FFF with leaves for the training session: soft training (hardening, region leak, optional load balancing and master
/// leaf), then hard fine-tuning of everything but the routing nodes.
/// </summary>
internal sealed class FastFeedForwardArchitecture : NetworkArchitecture
{
    private readonly FastFeedForwardOptionsBase _options;

    private FastFeedForwardArchitecture(FastFeedForwardOptionsBase options) => _options = options;

    /// <summary>The architecture the options ask for: leaves (this class) or neuron nodes, behind a learned embedding table when <c>EmbeddingDimension</c> &gt; 0.</summary>
    public static NetworkArchitecture Create(FastFeedForwardOptionsBase options)
    {
        NetworkArchitecture head = options.NodeKind switch
        {
            FffNodeKind.Neurons => new NeuronTreeArchitecture(options),
            _ => new FastFeedForwardArchitecture(options),
        };
        NetworkArchitecture architecture = options.EmbeddingDimension > 0 ? new EmbeddingBagArchitecture(head, options.EmbeddingDimension) : head;
        architecture.Hooks = new FastFeedForwardTrainingHooks(options);
        return architecture;
    }

    public override string Name => "FFF";

    /// <summary>
    /// Reference initialization: node and hidden weights U(±1/√I), output weights U(±1/√width); master mix 0 (k = 1/2). With
    /// <c>EnsembleSize</c> K &gt; 1, K such trees drawn one after the other from <paramref name="random"/> (the first is the
    /// single tree's draw).
    /// </summary>
    public override FeedForwardNetwork CreateNetwork(int inputs, int outputs, Random random)
    {
        CheckSize(inputs, outputs);
        if (_options.EnsembleSize == 1)
            return CreateTree(inputs, outputs, random);
        var members = new FastFeedForwardNetwork[_options.EnsembleSize];
        for (int t = 0; t < members.Length; t++)
            members[t] = CreateTree(inputs, outputs, random);
        return new LeafTreeEnsembleNetwork(members);
    }

    private FastFeedForwardNetwork CreateTree(int inputs, int outputs, Random random)
    {
        var network = new FastFeedForwardNetwork(inputs, outputs, _options.Depth, _options.LeafWidth, _options.MasterLeafWidth);
        float inputBound = 1 / MathF.Sqrt(inputs);
        FillUniform(network.NodeWeights, inputBound, random);
        FillUniform(network.NodeBiases, inputBound, random);
        FillUniform(network.HiddenWeights, inputBound, random);
        FillUniform(network.HiddenBiases, inputBound, random);
        FillUniform(network.OutputWeights, 1 / MathF.Sqrt(network.LeafWidth), random);
        FillUniform(network.OutputBiases, 1 / MathF.Sqrt(network.LeafWidth), random);
        if (network.MasterWidth > 0)
        {
            FillUniform(network.MasterHiddenWeights, inputBound, random);
            FillUniform(network.MasterHiddenBiases, inputBound, random);
            FillUniform(network.MasterOutputWeights, 1 / MathF.Sqrt(network.MasterWidth), random);
            FillUniform(network.MasterOutputBiases, 1 / MathF.Sqrt(network.MasterWidth), random);
        }
        return network;
    }

    public override FeedForwardModule CreateModule(int inputs, int outputs, Device device)
    {
        CheckSize(inputs, outputs);
        return _options.EnsembleSize == 1
            ? new FastFeedForwardModule(inputs, outputs, _options, device)
            : new LeafTreeEnsembleModule(inputs, outputs, _options, _options.EnsembleSize, device);
    }

    /// <summary>
    /// Rejects, with the options named, a depth, leaf width and ensemble size whose weights would not load back (the saved format
    /// holds at most <see cref="int.MaxValue"/> weights in all), before anything is allocated.
    /// </summary>
    private void CheckSize(int inputs, int outputs)
    {
        long leaves = 1L << _options.Depth, units = leaves * _options.LeafWidth + _options.MasterLeafWidth;
        long weights = _options.EnsembleSize * ((leaves - 1) * (inputs + 1L) + units * (inputs + 1L + outputs) + (leaves + 1) * outputs + 1);
        if (weights > int.MaxValue)
        {
            string trees = _options.EnsembleSize > 1 ? $" and EnsembleSize {_options.EnsembleSize}" : "";
            throw new ArgumentOutOfRangeException(nameof(FastFeedForwardOptionsBase.Depth), _options.Depth,
                $"Options Depth {_options.Depth} and LeafWidth {_options.LeafWidth}{trees} give {_options.EnsembleSize * units:N0} neurons, which with {inputs:N0} features and "
                + $"{outputs:N0} outputs need {weights:N0} weights, more than one model can hold ({int.MaxValue:N0}); lower Depth or LeafWidth{(trees.Length > 0 ? " or EnsembleSize" : "")}.");
        }
    }

    /// <summary>Soft epochs, then <c>HardFineTuneFraction</c> of the epochs (at least one soft epoch stays) at half the learning rate.</summary>
    public override IReadOnlyList<PhasePlan> PlanPhases(int numberOfEpochs)
    {
        int fineTune = _options.Depth == 0 ? 0 : (int)Math.Round(numberOfEpochs * (double)_options.HardFineTuneFraction);
        fineTune = Math.Min(fineTune, numberOfEpochs - 1);
        return new[]
        {
            new PhasePlan(FffTrainingPhase.Soft, numberOfEpochs - fineTune),
            new PhasePlan(FffTrainingPhase.HardFineTune, fineTune, LearningRateFactor: 0.5),
        };
    }
}
