using System;
using Microsoft.ML.Fff.Scoring;
using Microsoft.ML.Fff.Training;
using static TorchSharp.torch;

namespace Microsoft.ML.Fff.FastFeedForward;

/// <summary>
/// FFF with neuron nodes (UltraFastBERT) for the training session: <c>NumberOfTrees</c> trees of depth <c>Depth</c>,
/// trained in one stage by the masked dense computation, which is exactly the function hard descent scores (no soft/hard
/// gap, so no hardening and no hard fine-tuning). <c>LeafWidth</c> and the leaf-only options are ignored.
/// </summary>
internal sealed class NeuronTreeArchitecture : NetworkArchitecture
{
    private readonly FastFeedForwardOptionsBase _options;

    public NeuronTreeArchitecture(FastFeedForwardOptionsBase options) => _options = options;

    public override string Name => "FFF";

    /// <summary>
    /// Node weights and biases U(±1/√I); output vectors U(±1/√(K(D+1))), the fan-in of the output (neurons a row sums);
    /// output bias 0. Throws when the shape needs more weights than one array holds.
    /// </summary>
    public override FeedForwardNetwork CreateNetwork(int inputs, int outputs, Random random)
    {
        CheckSize(inputs, outputs);
        var network = new NeuronTreeNetwork(inputs, outputs, _options.NumberOfTrees, _options.Depth);
        float inputBound = 1 / MathF.Sqrt(inputs);
        FillUniform(network.NodeWeights, inputBound, random);
        FillUniform(network.NodeBiases, inputBound, random);
        FillUniform(network.OutputWeights, 1 / MathF.Sqrt(network.NeuronsPerRow), random);
        return network;
    }

    public override FeedForwardModule CreateModule(int inputs, int outputs, Device device)
    {
        CheckSize(inputs, outputs);
        return new NeuronTreeModule(inputs, outputs, _options.NumberOfTrees, _options.Depth, device);
    }

    /// <summary>Rejects, with the options named, a tree count and depth whose weights do not fit one array for this data.</summary>
    private void CheckSize(int inputs, int outputs)
    {
        int trees = _options.NumberOfTrees, depth = _options.Depth;
        if (NeuronTreeNetwork.WeightCount(inputs, outputs, trees, depth) < 0)
        {
            long neurons = trees * ((2L << depth) - 1);
            throw new ArgumentOutOfRangeException(nameof(FastFeedForwardOptionsBase.Depth), depth,
                $"Options NumberOfTrees {trees} and Depth {depth} give {neurons:N0} neurons, which with {inputs:N0} features and {outputs:N0} outputs "
                + $"need {neurons * (inputs + 1L + outputs) + outputs:N0} weights, more than one array can hold ({int.MaxValue:N0}); lower Depth or NumberOfTrees.");
        }
    }
}
