using System;
using System.Linq;
using Microsoft.ML.Fff.Onnx;

namespace Microsoft.ML.Fff.MixtureOfExperts;

/// <summary>The ONNX graph of a mixture of experts (docs/onnx.md).</summary>
internal static class MoeOnnx
{
    /// <summary>
    /// Mixture of experts: gate logits, TopK (ties to the lower expert index, as the C# top-k), softmax over the kept logits
    /// or their sigmoids, then the chosen experts' gathered weights (<c>[N, k, G, I]</c>) and their weighted outputs summed.
    /// </summary>
    internal static string Write(OnnxGraph graph, MoeNetwork moe, string x)
    {
        int inputs = moe.InputCount, outputs = moe.OutputCount, experts = moe.ExpertCount, width = moe.ExpertWidth;
        string logits = graph.Linear(x, graph.Floats("GateWeights", moe.GateWeights, experts, inputs), graph.Floats("GateBiases", moe.GateBiases, experts));
        string[] top = graph.Node("TopK", new[] { logits, graph.Longs("TopK", new[] { (long)moe.TopK }, 1) }, 2,
            n => { n.AddAttribute("axis", 1L); n.AddAttribute("largest", 1L); n.AddAttribute("sorted", 1L); });
        string kept = top[0], chosen = top[1];
        string weights = moe.Gating == MoeGating.Sigma
            ? graph.Sigmoid(kept)
            : graph.Node("Softmax", new[] { kept }, attributes: n => n.AddAttribute("axis", 1L));
        string hiddenWeights = graph.Floats("ExpertHiddenWeights", moe.HiddenWeights, experts, width, inputs);
        string hiddenBiases = graph.Floats("ExpertHiddenBiases", moe.HiddenBiases, experts, width);
        string outputWeights = graph.Floats("ExpertOutputWeights", moe.OutputWeights, experts, width, outputs);
        // [N, k, G, I] x [N, 1, I, 1] -> [N, k, G] pre-activations of the chosen experts.
        string hidden = graph.Squeeze(graph.MatMul(graph.Gather(hiddenWeights, chosen), graph.Unsqueeze(x, 1, 3)), 3);
        hidden = graph.Relu(graph.Add(hidden, graph.Gather(hiddenBiases, chosen)));
        hidden = graph.Mul(hidden, graph.Unsqueeze(weights, 2));
        // [N, k, 1, G] x [N, k, G, O] -> [N, k, 1, O], summed over the experts.
        string perExpert = graph.MatMul(graph.Unsqueeze(hidden, 2), graph.Gather(outputWeights, chosen));
        return graph.Add(graph.ReduceSum(perExpert, 1, 2), graph.Floats("OutputBias", moe.OutputBias, outputs));
    }
}
