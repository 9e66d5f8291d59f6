using System;
using System.Linq;
using Microsoft.ML.Fff.Dense;
using Microsoft.ML.Fff.FastFeedForward;
using Microsoft.ML.Fff.MixtureOfExperts;
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

    /// <summary>The network's raw outputs, <c>[N, OutputCount]</c>, from the features <c>[N, InputCount]</c>.</summary>
    internal static string Emit(OnnxGraph graph, FeedForwardNetwork network, string x) => network switch
    {
        FffNetwork fff => EmitLeafTree(graph, fff, x),
        NeuronTreeNetwork trees => EmitNeuronTrees(graph, trees, x),
        // The bag is a matrix product with the table (zero slots add nothing, as the C# scorer skips them); the head then
        // descends on the summed embedding.
        EmbeddingBagNetwork bag => Emit(graph, bag.Head, graph.MatMul(x, graph.Floats("Embeddings", bag.Embeddings, bag.InputCount, bag.Dimension))),
        MoeNetwork moe => EmitMixture(graph, moe, x),
        DenseNetwork dense => EmitDense(graph, dense, x),
        _ => throw new NotSupportedException($"ONNX export of a {network.Describe()} network is not supported."),
    };

    /// <summary>
    /// FFF with leaves: <c>Depth</c> levels of hard descent, then the reached leaf's neurons, then the master-leaf mix.
    /// </summary>
    private static string EmitLeafTree(OnnxGraph graph, FffNetwork fff, string x)
    {
        int inputs = fff.InputCount, outputs = fff.OutputCount, width = fff.LeafWidth;
        string leafOutput;
        if (fff.Depth == 0)
        {
            // A single leaf: every row's, so plain layers.
            string hidden = graph.Relu(graph.Linear(x, graph.Floats("HiddenWeights", fff.HiddenWeights, width, inputs), graph.Floats("HiddenBiases", fff.HiddenBiases, width)));
            leafOutput = graph.Affine(hidden, graph.Floats("OutputWeights", fff.OutputWeights, width, outputs), graph.Floats("OutputBiases", fff.OutputBiases, outputs));
        }
        else
        {
            string leaf = graph.Sub(Descend(graph, fff, x), graph.Longs("NodeCount", new[] { (long)fff.NodeCount }, 1));
            string hiddenWeights = graph.Floats("HiddenWeights", fff.HiddenWeights, fff.LeafCount, width, inputs);
            string hiddenBiases = graph.Floats("HiddenBiases", fff.HiddenBiases, fff.LeafCount, width);
            string outputWeights = graph.Floats("OutputWeights", fff.OutputWeights, fff.LeafCount, width, outputs);
            string outputBiases = graph.Floats("OutputBiases", fff.OutputBiases, fff.LeafCount, outputs);
            // Each row's leaf: [N, L, I] x [N, I, 1] -> [N, L] pre-activations, ReLU, then [N, 1, L] x [N, L, O] -> [N, O].
            string column = graph.Unsqueeze(x, 2);
            string hidden = graph.Squeeze(graph.MatMul(graph.Gather(hiddenWeights, leaf), column), 2);
            hidden = graph.Relu(graph.Add(hidden, graph.Gather(hiddenBiases, leaf)));
            string output = graph.Squeeze(graph.MatMul(graph.Unsqueeze(hidden, 1), graph.Gather(outputWeights, leaf)), 1);
            leafOutput = graph.Add(output, graph.Gather(outputBiases, leaf));
        }
        if (fff.MasterWidth == 0)
            return leafOutput;

        // output = k * leaf + (1 - k) * master, k = sigmoid(kappa) computed here exactly as the C# scorer computes it.
        int master = fff.MasterWidth;
        string masterHidden = graph.Relu(graph.Linear(x, graph.Floats("MasterHiddenWeights", fff.MasterHiddenWeights, master, inputs),
            graph.Floats("MasterHiddenBiases", fff.MasterHiddenBiases, master)));
        string masterOutput = graph.Affine(masterHidden, graph.Floats("MasterOutputWeights", fff.MasterOutputWeights, master, outputs),
            graph.Floats("MasterOutputBiases", fff.MasterOutputBiases, outputs));
        float k = fff.LeafShare;
        return graph.Add(graph.Mul(leafOutput, graph.Scalar("LeafShare", k)), graph.Mul(masterOutput, graph.Scalar("MasterShare", 1 - k)));
    }

    /// <summary>
    /// Hard descent of every row through the node tree: returns the final heap index (int64, <c>[N]</c>) in
    /// <c>[NodeCount, 2 * NodeCount]</c>. Per level the row's node weights are gathered, <c>z = x . w + b</c>, and the row goes
    /// to <c>2n + 1 + [z &gt;= 0]</c>: right at exactly 0, as <see cref="FffNetwork.FindLeaf(ReadOnlySpan{float})"/>.
    /// </summary>
    private static string Descend(OnnxGraph graph, FffNetwork fff, string x)
    {
        int inputs = fff.InputCount;
        string zero = graph.Scalar("Zero", 0f);
        string one = graph.Longs("One", new[] { 1L }, 1), two = graph.Longs("Two", new[] { 2L }, 1);
        // Level 0: every row is at the root, so its value is one plain product ([N, 1]).
        string root = graph.Linear(x, graph.Floats("RootWeights", fff.NodeWeights.AsSpan(0, inputs).ToArray(), 1, inputs),
            graph.Floats("RootBias", new[] { fff.NodeBiases[0] }, 1));
        string node = graph.Add(graph.Squeeze(graph.AtLeastZero(root, zero), 1), one);
        if (fff.Depth == 1)
            return node;
        string nodeWeights = graph.Floats("NodeWeights", fff.NodeWeights, fff.NodeCount, inputs);
        string nodeBiases = graph.Floats("NodeBiases", fff.NodeBiases, fff.NodeCount);
        for (int level = 1; level < fff.Depth; level++)
        {
            string z = graph.Add(graph.ReduceSum(graph.Mul(x, graph.Gather(nodeWeights, node)), 1), graph.Gather(nodeBiases, node));
            node = graph.Add(graph.Mul(node, two), graph.Add(graph.AtLeastZero(z, zero), one));
        }
        return node;
    }

    /// <summary>
    /// FFF with neuron nodes: <c>K</c> trees descended together (<c>[N, K]</c> unit indices); at each of the <c>D + 1</c>
    /// levels every tree's node adds <c>GELU(z) v</c>, and the row goes to <c>2n + 1 + [z &gt; 0]</c> (strictly positive,
    /// as <see cref="NeuronTreeNetwork"/>).
    /// </summary>
    private static string EmitNeuronTrees(OnnxGraph graph, NeuronTreeNetwork trees, string x)
    {
        int inputs = trees.InputCount, outputs = trees.OutputCount, count = trees.TreeCount, nodes = trees.NodesPerTree;
        int[] roots = Enumerable.Range(0, count).Select(t => t * nodes).ToArray();
        float[] rootWeights = roots.SelectMany(u => trees.NodeWeights.AsSpan(u * inputs, inputs).ToArray()).ToArray();
        float[] rootBiases = roots.Select(u => trees.NodeBiases[u]).ToArray();
        float[] rootOutputs = roots.SelectMany(u => trees.OutputWeights.AsSpan(u * outputs, outputs).ToArray()).ToArray();
        // Level 0: every row is at each tree's root: [N, K] values, and their output is one product with the biases.
        string z = graph.Linear(x, graph.Floats("RootWeights", rootWeights, count, inputs), graph.Floats("RootBiases", rootBiases, count));
        string result = graph.Affine(graph.Gelu(z), graph.Floats("RootOutputs", rootOutputs, count, outputs), graph.Floats("OutputBiases", trees.OutputBiases, outputs));
        if (trees.Depth == 0)
            return result;

        string zero = graph.Scalar("Zero", 0f);
        string one = graph.Longs("One", new[] { 1L }, 1), two = graph.Longs("Two", new[] { 2L }, 1);
        // Global unit of tree t's node n is t * N + n; the next one is t * N + 2n + 1 + bit = 2u - t * N + 1 + bit.
        string offsets = graph.Longs("TreeOffsets", roots.Select(r => (long)r).ToArray(), count);
        string unit = graph.Add(offsets, graph.Add(graph.AboveZero(z, zero), one));
        string nodeWeights = graph.Floats("NodeWeights", trees.NodeWeights, trees.TotalNodes, inputs);
        string nodeBiases = graph.Floats("NodeBiases", trees.NodeBiases, trees.TotalNodes);
        string nodeOutputs = graph.Floats("NodeOutputs", trees.OutputWeights, trees.TotalNodes, outputs);
        string column = graph.Unsqueeze(x, 2);
        for (int level = 1; level <= trees.Depth; level++)
        {
            // [N, K, I] x [N, I, 1] -> [N, K] node values; [N, 1, K] x [N, K, O] -> [N, O] added outputs.
            z = graph.Add(graph.Squeeze(graph.MatMul(graph.Gather(nodeWeights, unit), column), 2), graph.Gather(nodeBiases, unit));
            string added = graph.Squeeze(graph.MatMul(graph.Unsqueeze(graph.Gelu(z), 1), graph.Gather(nodeOutputs, unit)), 1);
            result = graph.Add(result, added);
            if (level < trees.Depth)
                unit = graph.Add(graph.Sub(graph.Mul(unit, two), offsets), graph.Add(graph.AboveZero(z, zero), one));
        }
        return result;
    }

    /// <summary>
    /// Mixture of experts: gate logits, TopK (ties to the lower expert index, as the C# top-k), softmax over the kept logits
    /// or their sigmoids, then the chosen experts' gathered weights (<c>[N, k, G, I]</c>) and their weighted outputs summed.
    /// </summary>
    private static string EmitMixture(OnnxGraph graph, MoeNetwork moe, string x)
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

    /// <summary>Dense: one Gemm per layer with its activation, then the linear output layer.</summary>
    private static string EmitDense(OnnxGraph graph, DenseNetwork dense, string x)
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
