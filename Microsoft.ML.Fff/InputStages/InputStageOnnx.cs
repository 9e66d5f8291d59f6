using System;
using System.Linq;
using Microsoft.ML.Fff.Onnx;

namespace Microsoft.ML.Fff.InputStages;

/// <summary>
/// The ONNX graph of an input stage (docs/onnx.md), with standard operators of opset 11: the map elementwise (the quantile
/// map as a sum of clipped ramps), the numeric embedding as one batched product per feature, then the inner network's own
/// graph on the result.
/// </summary>
internal static class InputStageOnnx
{
    internal static string Write(OnnxGraph graph, InputStageNetwork stage, string x)
    {
        FeatureMap map = stage.Map;
        int inputs = stage.InputCount;
        string mapped = map.Kind switch
        {
            FeatureMapKind.Identity => x,
            FeatureMapKind.Standardize => graph.Mul(graph.Sub(x, graph.Floats("StageShift", map.First, inputs)), graph.Floats("StageScale", map.Second, inputs)),
            FeatureMapKind.Clamp => graph.Node("Min", new[] { graph.Node("Max", new[] { x, graph.Floats("StageLower", map.First, inputs) }),
                graph.Floats("StageUpper", map.Second, inputs) }),
            FeatureMapKind.RobustSmoothClip => SmoothClip(graph,
                graph.Mul(graph.Sub(x, graph.Floats("StageCentre", map.First, inputs)), graph.Floats("StageScale", map.Second, inputs))),
            _ => Quantile(graph, map, x),
        };
        string innerInput = stage.Embedding is null ? mapped : Embedding(graph, stage.Embedding, mapped);
        return FffOnnxExport.Emit(graph, stage.Inner, innerInput);
    }

    /// <summary><c>z / sqrt(1 + (z/3)^2)</c>, in the order the C# map computes it (which also clamps <c>|z/3| &gt; 1e18</c> to ±3).</summary>
    private static string SmoothClip(OnnxGraph graph, string z)
    {
        string third = graph.Mul(z, graph.Scalar("StageThird", 1f / 3));
        string square = graph.Mul(third, third);
        string root = graph.Node("Sqrt", new[] { graph.Add(square, graph.Scalar("StageOne", 1f)) });
        return graph.Node("Div", new[] { z, root });
    }

    /// <summary><c>clamp((v - lower) / width, 0, 1)</c> elementwise (Clip's bounds are inputs only from opset 11 on, so Min and Max).</summary>
    private static string Ramp(OnnxGraph graph, string v, string lower, string width)
    {
        string t = graph.Node("Div", new[] { graph.Sub(v, lower), width });
        return graph.Node("Max", new[] { graph.Node("Min", new[] { t, graph.Scalar("StageRampOne", 1f) }), graph.Scalar("StageRampZero", 0f) });
    }

    /// <summary>
    /// The quantile map as <c>y_0 + sum_k (y_k - y_(k-1)) ramp_k(v)</c> over each feature's segments (padded to the most
    /// segments of any feature with zero rises): the piecewise-linear interpolation, clamped at both ends.
    /// </summary>
    private static string Quantile(OnnxGraph graph, FeatureMap map, string x)
    {
        int inputs = map.InputCount;
        int segments = Math.Max(1, Enumerable.Range(0, inputs).Max(j => map.KnotCount(j)) - 1);
        var first = new float[inputs];
        var lower = new float[inputs * segments];
        var width = new float[inputs * segments];
        var rise = new float[inputs * segments];
        for (int j = 0; j < inputs; j++)
        {
            int from = map.KnotStart[j], count = map.KnotCount(j);
            first[j] = map.Second[from];
            for (int k = 0; k < segments; k++)
            {
                bool real = k + 1 < count;
                lower[j * segments + k] = real ? map.First[from + k] : 0;
                width[j * segments + k] = real ? map.First[from + k + 1] - map.First[from + k] : 1;
                rise[j * segments + k] = real ? map.Second[from + k + 1] - map.Second[from + k] : 0;
            }
        }
        string ramps = Ramp(graph, graph.Unsqueeze(x, 2), graph.Floats("StageKnotLower", lower, inputs, segments),
            graph.Floats("StageKnotWidth", width, inputs, segments));
        string sum = graph.ReduceSum(graph.Mul(ramps, graph.Floats("StageKnotRise", rise, inputs, segments)), 2);
        return graph.Add(sum, graph.Floats("StageKnotFirst", first, inputs));
    }

    /// <summary>
    /// The embedded features' encodings <c>[N, E, T']</c> (ramps over the bins, or sines and cosines), one product per feature
    /// (<c>[E, N, T'] x [E, T', d]</c>), bias and ReLU, flattened to <c>[N, E*d]</c>, then the passed-through features.
    /// </summary>
    private static string Embedding(OnnxGraph graph, NumericEmbeddingLayer layer, string mapped)
    {
        int e = layer.Embedded.Length, t = layer.Size, d = layer.Width;
        string values = graph.Unsqueeze(Columns(graph, mapped, layer.Embedded, "StageEmbedded"), 2);
        string encoded;
        int rows;
        if (layer.Kind == FffNumericEmbedding.PiecewiseLinear)
        {
            rows = t;
            var lower = new float[e * t];
            var width = new float[e * t];
            var mask = new float[e * t];
            for (int f = 0; f < e; f++)
            {
                for (int k = 0; k < t; k++)
                {
                    bool real = k < layer.BinCounts[f];
                    lower[f * t + k] = layer.First[f * (t + 1) + k];
                    width[f * t + k] = real ? layer.First[f * (t + 1) + k + 1] - layer.First[f * (t + 1) + k] : 1;
                    mask[f * t + k] = real ? 1 : 0;
                }
            }
            encoded = graph.Mul(Ramp(graph, values, graph.Floats("StageBinLower", lower, e, t), graph.Floats("StageBinWidth", width, e, t)),
                graph.Floats("StageBinMask", mask, e, t));
        }
        else
        {
            rows = 2 * t;
            // (2π v) c, in the C# order.
            string angles = graph.Mul(graph.Mul(values, graph.Scalar("StageTwoPi", 2 * MathF.PI)), graph.Floats("StageFrequencies", layer.First, e, t));
            encoded = graph.Node("Concat", new[] { graph.Node("Sin", new[] { angles }), graph.Node("Cos", new[] { angles }) },
                attributes: n => n.AddAttribute("axis", 2L));
        }
        string perFeature = graph.MatMul(Transpose(graph, encoded), graph.Floats("StageEmbeddingWeights", layer.Weights, e, rows, d));
        string activated = graph.Relu(graph.Add(perFeature, graph.Floats("StageEmbeddingBiases", layer.Biases, e, 1, d)));
        string flat = graph.Node("Reshape", new[] { Transpose(graph, activated), graph.Longs("StageEmbeddedShape", new[] { -1L, (long)e * d }, 2) });
        if (layer.Passed.Length == 0)
            return flat;
        return graph.Node("Concat", new[] { flat, Columns(graph, mapped, layer.Passed, "StagePassed") }, attributes: n => n.AddAttribute("axis", 1L));
    }

    /// <summary>The columns <paramref name="indices"/> of <c>[N, I]</c>: Gather on axis 1.</summary>
    private static string Columns(OnnxGraph graph, string x, int[] indices, string name)
        => graph.Node("Gather", new[] { x, graph.Longs(name, indices.Select(i => (long)i).ToArray(), indices.Length) }, attributes: n => n.AddAttribute("axis", 1L));

    /// <summary>Swaps the first two axes of a rank-3 tensor.</summary>
    private static string Transpose(OnnxGraph graph, string x) => graph.Node("Transpose", new[] { x }, attributes: n => n.AddAttribute("perm", new long[] { 1, 0, 2 }));
}
