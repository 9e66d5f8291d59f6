using System;
using System.Linq;
using Microsoft.ML.Fff.Onnx;

namespace Microsoft.ML.Fff.Dense;

/// <summary>The ONNX graph of a dense network (docs/onnx.md).</summary>
internal static class DenseOnnx
{
    /// <summary>Dense: one Gemm per layer with its activation, then the linear output layer.</summary>
    internal static string Write(OnnxGraph graph, DenseNetwork dense, string x)
    {
        string current = x;
        int fanIn = dense.InputCount;
        for (int l = 0; l < dense.HiddenWidths.Count; l++)
        {
            int width = dense.HiddenWidths[l];
            string z = graph.Linear(current, graph.Floats("HiddenWeights" + l, dense.HiddenWeights[l], width, fanIn), graph.Floats("HiddenBiases" + l, dense.HiddenBiases[l], width));
            current = dense.Activation switch
            {
                DenseActivation.ReLU => graph.Relu(z),
                DenseActivation.Tanh => graph.Tanh(z),
                DenseActivation.Gelu => graph.Gelu(z),
                _ => throw new NotSupportedException($"ONNX export of the dense activation {dense.Activation} is not supported."),
            };
            fanIn = width;
        }
        return graph.Linear(current, graph.Floats("OutputWeights", dense.OutputWeights, dense.OutputCount, fanIn), graph.Floats("OutputBiases", dense.OutputBiases, dense.OutputCount));
    }
}
