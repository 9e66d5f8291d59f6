using System;
using System.Linq;
using Microsoft.ML.Fff.Onnx;

namespace Microsoft.ML.Fff.FastFeedForward;

/// <summary>The ONNX graphs of the fast feedforward kinds (docs/onnx.md): hard descent with standard operators, as the C# scorers descend.</summary>
internal static class FastFeedForwardOnnx
{
    /// <summary>
    /// FFF with leaves: <c>Depth</c> levels of hard descent, then the reached leaf's neurons, then the master-leaf mix.
    /// </summary>
    internal static string LeafTree(OnnxGraph graph, FastFeedForwardNetwork fff, string x)
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
    /// Leaf-tree ensemble: every member's graph on the same features, summed in member order and multiplied by <c>1/K</c>, as
    /// <see cref="LeafTreeEnsembleNetwork"/> computes the mean.
    /// </summary>
    internal static string LeafTreeEnsemble(OnnxGraph graph, LeafTreeEnsembleNetwork ensemble, string x)
    {
        string sum = LeafTree(graph, ensemble.Members[0], x);
        for (int t = 1; t < ensemble.TreeCount; t++)
            sum = graph.Add(sum, LeafTree(graph, ensemble.Members[t], x));
        return graph.Mul(sum, graph.Scalar("InverseTreeCount", 1f / ensemble.TreeCount));
    }

    /// <summary>
    /// Hard descent of every row through the node tree: returns the final heap index (int64, <c>[N]</c>) in
    /// <c>[NodeCount, 2 * NodeCount]</c>. Per level the row's node weights are gathered, <c>z = x . w + b</c>, and the row goes
    /// to <c>2n + 1 + [z &gt;= 0]</c>: right at exactly 0, as <see cref="FastFeedForwardNetwork.FindLeaf(ReadOnlySpan{float})"/>.
    /// </summary>
    private static string Descend(OnnxGraph graph, FastFeedForwardNetwork fff, string x)
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
    internal static string NeuronTrees(OnnxGraph graph, NeuronTreeNetwork trees, string x)
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
    /// Embedding bag: a matrix product with the table (zero slots add nothing, as the C# scorer skips them); the head then
    /// descends on the summed embedding, written by the head's own kind.
    /// </summary>
    internal static string EmbeddingBag(OnnxGraph graph, EmbeddingBagNetwork bag, string x)
        => FffOnnxExport.Emit(graph, bag.Head, graph.MatMul(x, graph.Floats("Embeddings", bag.Embeddings, bag.InputCount, bag.Dimension)));
}
