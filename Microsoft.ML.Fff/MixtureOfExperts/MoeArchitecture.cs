using System;
using Microsoft.ML.Fff.Scoring;
using Microsoft.ML.Fff.Training;
using static TorchSharp.torch;

namespace Microsoft.ML.Fff.MixtureOfExperts;

/// <summary>Mixture of experts for the training session: one stage that trains the function the model scores.</summary>
internal sealed class MoeArchitecture : NetworkArchitecture
{
    private readonly MixtureOfExpertsOptionsBase _options;

    public MoeArchitecture(MixtureOfExpertsOptionsBase options) => _options = options;

    public override string Name => "MoE";

    /// <summary>
    /// Top-k softmax: experts like <c>nn.Linear</c> (hidden U(±1/√I), output U(±1/√G)), a small gate U(±0.1/√I).
    /// Sigma (Csordás et al.): keys N(0, 1/I), values N(0, 1/(E G)), selector rows N(0, 1/I) renormalised to their mean norm.
    /// Biases start at 0 except the softmax experts' hidden biases (U(±1/√I)).
    /// </summary>
    public override FeedForwardNetwork CreateNetwork(int inputs, int outputs, Random random)
    {
        int experts = _options.NumberOfExperts, width = _options.ExpertWidth;
        if ((long)experts * width * Math.Max(inputs, outputs) > int.MaxValue)
        {
            throw new ArgumentOutOfRangeException(nameof(MixtureOfExpertsOptionsBase.ExpertWidth), width,
                $"NumberOfExperts x ExpertWidth x max(features {inputs}, outputs {outputs}) exceeds the {int.MaxValue} weights one array can hold.");
        }
        var network = new MoeNetwork(inputs, outputs, experts, width, _options.TopK, _options.Gating);
        float inputBound = 1 / MathF.Sqrt(inputs);
        if (_options.Gating == MoeGating.Sigma)
        {
            FillNormal(network.HiddenWeights, inputBound, random);
            FillNormal(network.OutputWeights, 1 / MathF.Sqrt(experts * (float)width), random);
            FillNormal(network.GateWeights, inputBound, random);
            double meanNorm = 0;
            var norms = new double[experts];
            for (int e = 0; e < experts; e++)
            {
                double sum = 0;
                foreach (float w in network.GateWeights.AsSpan(e * inputs, inputs))
                    sum += (double)w * w;
                norms[e] = Math.Sqrt(sum);
                meanNorm += norms[e] / experts;
            }
            for (int e = 0; e < experts; e++)
            {
                if (norms[e] == 0)
                    continue;
                Span<float> row = network.GateWeights.AsSpan(e * inputs, inputs);
                float factor = (float)(meanNorm / norms[e]);
                for (int i = 0; i < row.Length; i++)
                    row[i] *= factor;
            }
        }
        else
        {
            FillUniform(network.GateWeights, 0.1f * inputBound, random);
            FillUniform(network.HiddenWeights, inputBound, random);
            FillUniform(network.HiddenBiases, inputBound, random);
            FillUniform(network.OutputWeights, 1 / MathF.Sqrt(width), random);
        }
        return network;
    }

    public override FeedForwardModule CreateModule(int inputs, int outputs, Device device) => new MoeModule(inputs, outputs, _options, device);
}
