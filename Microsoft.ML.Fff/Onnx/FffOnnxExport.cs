using System;
using System.Linq;
using Microsoft.ML.Fff.Kinds;
using Microsoft.ML.Fff.Scoring;
using Microsoft.ML.Model.OnnxConverter;

namespace Microsoft.ML.Fff.Onnx;

/// <summary>
/// Writes a network and its task's score columns into ML.NET's ONNX export (<c>mlContext.Model.ConvertToOnnx</c>), with
/// standard ONNX operators only, so that ONNX Runtime computes the function of the C# scorers: hard descent (one gathered
/// node per level, the C# tie rule, index arithmetic), gathered leaf or expert weights, the same activations and
/// post-processing. The graph works on a batch of <c>N</c> dense rows (<c>[N, FeatureCount]</c>). docs/onnx.md shows each graph.
/// </summary>
internal static class FffOnnxExport
{
    /// <summary>
    /// The lowest opset the graphs need: TopK with the <c>largest</c>/<c>sorted</c> attributes (11). ReduceSum, Squeeze and
    /// Unsqueeze are written with their axes as attributes, as opsets up to 12 (ML.NET's converter's highest) define them.
    /// </summary>
    public const int MinimumOpSetVersion = 11;

    /// <summary>
    /// Adds the nodes for <paramref name="network"/> reading <paramref name="featureVariable"/> and writing the score
    /// columns that ML.NET's scorer asked for in <paramref name="outputNames"/>.
    /// </summary>
    /// <param name="ctx">The export in progress.</param>
    /// <param name="network">The network.</param>
    /// <param name="kind">The task: binary (Score, Probability), multiclass (PredictedLabel, Score) or regression (Score).</param>
    /// <param name="outputNames">As ML.NET's scorers pass them: binary <c>[PredictedLabel, Score, Probability]</c> (the
    /// binary scorer adds PredictedLabel itself, from Score), multiclass <c>[PredictedLabel, Score]</c>, regression <c>[Score]</c>.</param>
    /// <param name="featureVariable">The ONNX variable holding the feature vectors.</param>
    public static bool Save(OnnxContext ctx, FeedForwardNetwork network, PredictionKind kind, string[] outputNames, string featureVariable)
    {
        ArgumentNullException.ThrowIfNull(ctx);
        ArgumentNullException.ThrowIfNull(outputNames);
        ctx.CheckOpSetVersion(MinimumOpSetVersion, "Microsoft.ML.Fff " + network.Describe());
        var graph = new OnnxGraph(ctx);
        string raw = Emit(graph, network, featureVariable);
        switch (kind)
        {
            case PredictionKind.BinaryClassification:
                RequireOutputs(outputNames, 3, kind);
                // Score is the logit; Probability its sigmoid, as the C# mapper (no calibrator).
                graph.Identity(raw, outputNames[1]);
                graph.Sigmoid(raw, outputNames[2]);
                return true;
            case PredictionKind.MulticlassClassification:
                RequireOutputs(outputNames, 2, kind);
                // Score holds the class probabilities. PredictedLabel is the key (1-based) of the first largest score,
                // as ML.NET's multiclass scorer picks it, cast to the key's UInt32 like ML.NET's own multiclass exporters;
                // a row with NaN scores (a NaN feature) gets key 0, as ML.NET gives it, where ArgMax would say class 1.
                string scores = graph.Node("Softmax", new[] { raw }, outputNames[1], n => n.AddAttribute("axis", 1L));
                string best = graph.Node("ArgMax", new[] { scores }, attributes: n => { n.AddAttribute("axis", 1L); n.AddAttribute("keepdims", 1L); });
                string key = graph.Add(best, graph.Longs("KeyOffset", new[] { 1L }, 1));
                string nanCount = graph.ReduceSumKeep(graph.Cast(graph.Node("IsNaN", new[] { scores }), typeof(float)), 1);
                string hasNaN = graph.Node("Greater", new[] { nanCount, graph.Scalar("NoNaN", 0f) });
                key = graph.Node("Where", new[] { hasNaN, graph.Longs("MissingKey", new[] { 0L }, 1), key });
                graph.Cast(key, typeof(uint), outputNames[0]);
                return true;
            case PredictionKind.Regression:
                RequireOutputs(outputNames, 1, kind);
                graph.Identity(raw, outputNames[0]);
                return true;
            default:
                throw new NotSupportedException($"ONNX export of a {kind} model is not supported by Microsoft.ML.Fff.");
        }
    }

    private static void RequireOutputs(string[] outputNames, int count, PredictionKind kind)
    {
        if (outputNames.Length < count)
        {
            throw new InvalidOperationException(
                $"ML.NET asked a {kind} model for {outputNames.Length} ONNX outputs ({string.Join(", ", outputNames)}) where {count} were expected.");
        }
    }

    /// <summary>
    /// The network's raw outputs, <c>[N, OutputCount]</c>, from the features <c>[N, InputCount]</c>: written by the network's
    /// kind (<see cref="NetworkKindDescriptor.WriteOnnx"/>), so this room names no kind.
    /// </summary>
    internal static string Emit(OnnxGraph graph, FeedForwardNetwork network, string x) => NetworkKinds.Of(network).WriteOnnx(graph, network, x);
}
