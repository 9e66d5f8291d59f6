using System;
using System.Collections.Generic;
using System.Numerics.Tensors;
using Microsoft.ML.Fff.Scoring;

namespace Microsoft.ML.Fff.FastFeedForward;

/// <summary>
/// The weights of an FFF layer with neuron nodes (UltraFastBERT, "Exponentially Faster Language Modelling", 2023) in
/// plain arrays, and the pure-C# scorer: <c>K</c> parallel trees of depth <c>D</c> whose every node is a GELU neuron with
/// an output vector; there are no leaves. No torch type appears here.
/// </summary>
/// <remarks>
/// <para>
/// Forward pass of one row, per tree: start at node 0; at each of the <c>D + 1</c> levels compute
/// <c>z = x . w_n + b_n</c>, add <c>GELU(z) * v_n</c> to the output, and (above the last level) go to
/// <c>2n + 1 + [z &gt; 0]</c>: right only when <c>z</c> is strictly positive (as in UltraFastBERT; the leaf FFF goes
/// right at <c>z &gt;= 0</c>). The output is the sum over the trees plus the output bias. GELU is the tanh approximation
/// <c>0.5 z (1 + tanh(sqrt(2/pi) (z + 0.044715 z^3)))</c>, the same formula the TorchSharp module trains with.
/// </para>
/// <para>
/// Layout (row-major, every vector the scorer dots with is contiguous), with <c>N = 2^(D+1) - 1</c> nodes per tree in
/// level order (children <c>2n+1</c> left and <c>2n+2</c> right): node <c>n</c> of tree <c>t</c> is neuron
/// <c>u = t*N + n</c>, with input weights <c>NodeWeights[u*I .. u*I+I)</c>, bias <c>NodeBiases[u]</c> and output vector
/// <c>OutputWeights[u*O .. u*O+O)</c>; <c>OutputBiases</c> holds the <c>O</c> global output biases.
/// </para>
/// </remarks>
internal sealed partial class NeuronTreeNetwork : FeedForwardNetwork
{
    /// <summary>Largest depth a stored model may declare (2^25 - 1 nodes per tree); the array-size check applies as well.</summary>
    public const int MaxStoredDepth = 24;

    /// <summary>Largest number of trees a stored model may declare.</summary>
    public const int MaxStoredTrees = 1 << 16;

    /// <summary>sqrt(2 / pi), the GELU tanh-approximation constant.</summary>
    private const float GeluScale = 0.7978845608028654f;

    /// <summary>Cubic coefficient of the GELU tanh approximation.</summary>
    private const float GeluCubic = 0.044715f;

    public NeuronTreeNetwork(int inputCount, int outputCount, int treeCount, int depth)
        : base(inputCount, outputCount)
    {
        CheckShape(inputCount, outputCount, treeCount, depth);
        TreeCount = treeCount;
        Depth = depth;
        NodeWeights = new float[checked(TotalNodes * inputCount)];
        NodeBiases = new float[TotalNodes];
        OutputWeights = new float[checked(TotalNodes * outputCount)];
        OutputBiases = new float[outputCount];
    }

    /// <summary>Number of parallel trees <c>K</c>.</summary>
    public int TreeCount { get; }

    /// <summary>Depth <c>D</c>: every tree has <c>D + 1</c> levels, and a row passes through <c>D + 1</c> neurons in each.</summary>
    public int Depth { get; }

    /// <summary>Nodes per tree, <c>2^(D+1) - 1</c>.</summary>
    public int NodesPerTree => (2 << Depth) - 1;

    /// <summary>Neurons in all trees, <c>K * (2^(D+1) - 1)</c>.</summary>
    public int TotalNodes => TreeCount * NodesPerTree;

    public override int TrainingWidth => TotalNodes;

    public override int NeuronsPerRow => TreeCount * (Depth + 1);

    public override string Describe() => $"FFF neuron trees {TreeCount} x depth {Depth}";

    /// <summary>Node input weights, <c>[K*N, I]</c> row-major.</summary>
    public float[] NodeWeights { get; }

    /// <summary>Node biases, <c>[K*N]</c>.</summary>
    public float[] NodeBiases { get; }

    /// <summary>Node output vectors, <c>[K*N, O]</c> row-major.</summary>
    public float[] OutputWeights { get; }

    /// <summary>Global output bias, <c>[O]</c>.</summary>
    public float[] OutputBiases { get; }

    /// <summary>The tanh approximation of GELU, as torch computes it for <c>approximate = "tanh"</c>.</summary>
    internal static float Gelu(float z)
    {
        float inner = GeluScale * (z + GeluCubic * z * z * z);
        return 0.5f * z * (1f + MathF.Tanh(inner));
    }

    /// <summary>
    /// Writes the node each tree's descent visits at each level: <c>path[t * (D+1) + level]</c> is the index within tree
    /// <c>t</c>. Returns false when a node value is NaN (the row cannot be routed). For tests and diagnostics.
    /// </summary>
    public bool FindPath(ReadOnlySpan<float> features, Span<int> path)
    {
        int inputs = InputCount, nodes = NodesPerTree;
        for (int tree = 0; tree < TreeCount; tree++)
        {
            int node = 0;
            for (int level = 0; level <= Depth; level++)
            {
                path[tree * (Depth + 1) + level] = node;
                int unit = tree * nodes + node;
                float z = TensorPrimitives.Dot(features, NodeWeights.AsSpan(unit * inputs, inputs)) + NodeBiases[unit];
                if (float.IsNaN(z))
                    return false;
                node = 2 * node + (z > 0 ? 2 : 1);
            }
        }
        return true;
    }

    /// <summary>Hard-descent forward pass of a dense row: <c>K * (D + 1)</c> neurons.</summary>
    public override void Score(ReadOnlySpan<float> features, Span<float> output) => Score(new DenseRow(features), output);

    /// <summary>Hard-descent forward pass of a sparse row given as (indices, values); indices must be validated.</summary>
    public override void Score(ReadOnlySpan<int> indices, ReadOnlySpan<float> values, Span<float> output) => Score(new SparseRow(indices, values), output);

    // One descent for dense and sparse rows: TRow is a struct, so the JIT compiles a copy per row kind with the dot inlined.
    private void Score<TRow>(TRow row, Span<float> output) where TRow : IFeatureRow, allows ref struct
    {
        int inputs = InputCount, outputs = OutputCount, nodes = NodesPerTree;
        Span<float> result = output.Slice(0, outputs);
        OutputBiases.AsSpan().CopyTo(result);
        for (int tree = 0; tree < TreeCount; tree++)
        {
            int first = tree * nodes;
            int node = 0;
            for (int level = 0; level <= Depth; level++)
            {
                int unit = first + node;
                float z = row.Dot(NodeWeights.AsSpan(unit * inputs, inputs)) + NodeBiases[unit];
                if (float.IsNaN(z))
                {
                    result.Fill(float.NaN);
                    return;
                }
                float a = Gelu(z);
                if (a != 0)
                    TensorPrimitives.MultiplyAdd(OutputWeights.AsSpan(unit * outputs, outputs), a, result, result);
                node = 2 * node + (z > 0 ? 2 : 1);
            }
        }
    }

    protected override IEnumerable<(float[] Weights, float[] Biases)> InputLayers => new[] { (NodeWeights, NodeBiases) };

    // The output is b_out + sum of act * v_n over the path nodes: v scales, b_out scales and shifts.
    protected override IEnumerable<float[]> OutputWeightArrays => new[] { OutputWeights };

    protected override IEnumerable<float[]> OutputBiasArrays => new[] { OutputBiases };

    public override IEnumerable<float[]> Arrays => new[] { NodeWeights, NodeBiases, OutputWeights, OutputBiases };

    /// <summary>
    /// An upper bound, over all inputs with every |x_i| ≤ 1, on the magnitude of every node value and every partial or
    /// final output: node values are bounded by <c>h_n = |w_n|_1 + |b_n|</c>, and |GELU(z)| ≤ |z|; per output, each tree adds
    /// at most the largest sum of <c>h_n |v_n[o]|</c> along one root-to-bottom path (found bottom-up), and the bias adds
    /// <c>|b_out[o]|</c>. Infinite when a weight is not finite or a sum overflows.
    /// </summary>
    public override double UnitBoxBound()
    {
        int inputs = InputCount, outputs = OutputCount, nodes = NodesPerTree, firstBottom = nodes >> 1;
        var nodeBound = new double[TotalNodes];
        double bound = 0;
        for (int unit = 0; unit < TotalNodes; unit++)
        {
            nodeBound[unit] = RowBound(NodeWeights.AsSpan(unit * inputs, inputs), NodeBiases[unit]);
            bound = Math.Max(bound, nodeBound[unit]);
        }
        var best = new double[nodes];
        for (int o = 0; o < outputs; o++)
        {
            double total = Math.Abs((double)OutputBiases[o]);
            for (int tree = 0; tree < TreeCount; tree++)
            {
                int first = tree * nodes;
                for (int node = nodes - 1; node >= 0; node--)
                {
                    double own = nodeBound[first + node] * Math.Abs((double)OutputWeights[(long)(first + node) * outputs + o]);
                    best[node] = node >= firstBottom ? own : own + Math.Max(best[2 * node + 1], best[2 * node + 2]);
                }
                total += best[0];
            }
            bound = Math.Max(bound, total);
        }
        return double.IsNaN(bound) ? double.PositiveInfinity : bound;
    }

    internal static void CheckShape(int inputCount, int outputCount, int treeCount, int depth)
    {
        if (inputCount < 1)
            throw new ArgumentOutOfRangeException(nameof(inputCount), inputCount, "The feature vector must have at least one slot.");
        if (outputCount < 1)
            throw new ArgumentOutOfRangeException(nameof(outputCount), outputCount, "The network must have at least one output.");
        if (treeCount < 1 || treeCount > MaxStoredTrees)
            throw new ArgumentOutOfRangeException(nameof(treeCount), treeCount, $"The number of trees must be between 1 and {MaxStoredTrees}.");
        if (depth < 0 || depth > MaxStoredDepth)
            throw new ArgumentOutOfRangeException(nameof(depth), depth, $"Depth must be between 0 and {MaxStoredDepth}.");
        if (WeightCount(inputCount, outputCount, treeCount, depth) < 0)
        {
            long neurons = (long)treeCount * ((2L << depth) - 1);
            throw new ArgumentOutOfRangeException(nameof(depth), depth,
                $"{treeCount} neuron trees of depth {depth} ({neurons:N0} neurons) with {inputCount:N0} inputs and {outputCount:N0} outputs need "
                + $"{neurons * (inputCount + 1L + outputCount) + outputCount:N0} weights, more than one array can hold ({int.MaxValue:N0}); "
                + "lower Depth or NumberOfTrees.");
        }
    }
}
