using System;
using Microsoft.ML.Fff.Onnx;

namespace Microsoft.ML.Fff.InputStages;

/// <summary>
/// The ONNX graph of an input stage (docs/onnx.md): the affine and robust maps with elementwise operators, then the inner
/// network's own graph. Quantile maps and numeric embeddings are not exported yet and say so, naming the option.
/// </summary>
internal static class InputStageOnnx
{
    internal static string Write(OnnxGraph graph, InputStageNetwork stage, string x)
    {
        FeatureMap map = stage.Map;
        if (stage.Embedding is not null)
        {
            throw new NotSupportedException($"ONNX export of a model trained with NumericEmbedding = {stage.Embedding.Kind} is not supported yet; "
                + "train with NumericEmbedding = None to export it to ONNX.");
        }
        int inputs = stage.InputCount;
        string mapped = map.Kind switch
        {
            FeatureMapKind.Identity => x,
            FeatureMapKind.Standardize => graph.Mul(graph.Sub(x, graph.Floats("StageShift", map.First, inputs)), graph.Floats("StageScale", map.Second, inputs)),
            FeatureMapKind.RobustSmoothClip => SmoothClip(graph,
                graph.Mul(graph.Sub(x, graph.Floats("StageCentre", map.First, inputs)), graph.Floats("StageScale", map.Second, inputs))),
            _ => throw new NotSupportedException($"ONNX export of a model trained with FeatureScaling = QuantileNormal is not supported yet; "
                + "use FeatureScaling = RobustSmoothClip or Auto to export it to ONNX."),
        };
        return FffOnnxExport.Emit(graph, stage.Inner, mapped);
    }

    /// <summary><c>z / sqrt(1 + (z/3)^2)</c>, in the order the C# map computes it (which also clamps <c>|z/3| &gt; 1e18</c> to ±3).</summary>
    private static string SmoothClip(OnnxGraph graph, string z)
    {
        string third = graph.Mul(z, graph.Scalar("StageThird", 1f / 3));
        string square = graph.Mul(third, third);
        string root = graph.Node("Sqrt", new[] { graph.Add(square, graph.Scalar("StageOne", 1f)) });
        return graph.Node("Div", new[] { z, root });
    }
}
