using System;
using Microsoft.ML.Fff.Scoring;
using Microsoft.ML.Fff.Training;
using static TorchSharp.torch;

namespace Microsoft.ML.Fff.Dense;

/// <summary>A dense MLP for the training session: one stage that trains the function it scores.</summary>
internal sealed class DenseArchitecture : NetworkArchitecture
{
    private readonly int[] _widths;
    private readonly DenseActivation _activation;
    private readonly float _dropoutRate;

    /// <summary>Reads the (validated) options once; the widths are copied, so later changes to the options do not reach training.</summary>
    public DenseArchitecture(DenseFeedForwardOptionsBase options)
    {
        _widths = (int[])options.HiddenLayerWidths.Clone();
        _activation = options.Activation;
        _dropoutRate = options.DropoutRate;
    }

    public override string Name => "Dense";

    /// <summary>PyTorch's <c>nn.Linear</c> initialization: every layer's weights and biases U(±1/√fanIn).</summary>
    public override FeedForwardNetwork CreateNetwork(int inputs, int outputs, Random random)
    {
        CheckSize(inputs, outputs);
        var network = new DenseNetwork(inputs, outputs, _widths, _activation);
        int fanIn = inputs;
        for (int l = 0; l < _widths.Length; l++)
        {
            float bound = 1 / MathF.Sqrt(fanIn);
            FillUniform(network.HiddenWeights[l], bound, random);
            FillUniform(network.HiddenBiases[l], bound, random);
            fanIn = _widths[l];
        }
        FillUniform(network.OutputWeights, 1 / MathF.Sqrt(fanIn), random);
        FillUniform(network.OutputBiases, 1 / MathF.Sqrt(fanIn), random);
        return network;
    }

    public override FeedForwardModule CreateModule(int inputs, int outputs, Device device)
    {
        CheckSize(inputs, outputs);
        return new DenseModule(inputs, outputs, _widths, _activation, _dropoutRate, device);
    }

    /// <summary>
    /// Rejects, with the option named, hidden widths whose weights would not load back (the saved format holds at most
    /// <see cref="int.MaxValue"/> weights in all), before anything is allocated.
    /// </summary>
    private void CheckSize(int inputs, int outputs)
    {
        long weights = 0, fanIn = inputs;
        foreach (int width in _widths)
        {
            weights += (fanIn + 1) * width;
            fanIn = width;
        }
        weights += (fanIn + 1) * outputs;
        if (weights > int.MaxValue)
        {
            throw new ArgumentOutOfRangeException(nameof(DenseFeedForwardOptionsBase.HiddenLayerWidths), string.Join(", ", _widths),
                $"Option HiddenLayerWidths ({string.Join(", ", _widths)}) with {inputs:N0} features and {outputs:N0} outputs needs {weights:N0} "
                + $"weights, more than one model can hold ({int.MaxValue:N0}); use narrower layers.");
        }
    }
}
