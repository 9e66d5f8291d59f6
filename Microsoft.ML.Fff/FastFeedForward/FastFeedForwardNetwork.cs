using System;
using System.Collections.Generic;
using System.Numerics.Tensors;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Microsoft.ML.Fff.Scoring;

namespace Microsoft.ML.Fff.FastFeedForward;

/// <summary>
/// The weights of one fast feedforward layer (Belcak &amp; Wattenhofer, 2023) in plain arrays, laid out for hard
/// descent, and the pure-C# scorer. No torch type appears here: this is all that production scoring needs.
/// </summary>
/// <remarks>
/// Layout (row-major, every vector the scorer dots with is contiguous):
/// <list type="bullet">
/// <item>node <c>n</c> (level order, children <c>2n+1</c> left and <c>2n+2</c> right): <c>NodeWeights[n*I .. n*I+I)</c>, <c>NodeBiases[n]</c>;</item>
/// <item>leaf <c>j</c>, hidden unit <c>k</c>: input weights <c>HiddenWeights[(j*L+k)*I ..)</c>, bias <c>HiddenBiases[j*L+k]</c>,
/// output weights <c>OutputWeights[(j*L+k)*O ..)</c>; leaf output bias <c>OutputBiases[j*O ..)</c>.</item>
/// </list>
/// </remarks>
internal sealed partial class FastFeedForwardNetwork : GroupedBatchNetwork
{
    /// <summary>Largest depth a stored model may declare; training allows less (see the trainer's options).</summary>
    public const int MaxStoredDepth = 24;

    /// <summary>Largest master-leaf width a stored model may declare.</summary>
    public const int MaxMasterWidth = 1 << 16;

    // Per-row hidden scratch up to this many floats lives on the stack; wider leaves use ThreadScratch.
    private const int StackFloats = 256;

    // Batches: rows per blocked multiply (the hidden scratch is BlockRows x width), the fewest rows worth grouping, and the
    // fewest rows per thread worth a parallel split (a row costs about a microsecond).
    private const int BlockRows = 32;
    private const int MinGroupedRows = 16;
    internal const int MinRowsPerThread = 256;

    public FastFeedForwardNetwork(int inputCount, int outputCount, int depth, int leafWidth, int masterWidth = 0)
        : base(inputCount, outputCount, MinRowsPerThread, MinGroupedRows, maxGroupRows: int.MaxValue)
    {
        CheckShape(inputCount, outputCount, depth, leafWidth);
        if (masterWidth < 0 || masterWidth > MaxMasterWidth)
            throw new ArgumentOutOfRangeException(nameof(masterWidth), masterWidth, $"Master leaf width must be between 0 and {MaxMasterWidth}.");
        Depth = depth;
        LeafWidth = leafWidth;
        MasterWidth = masterWidth;
        NodeWeights = new float[checked(NodeCount * inputCount)];
        NodeBiases = new float[NodeCount];
        HiddenWeights = new float[checked(LeafCount * leafWidth * inputCount)];
        HiddenBiases = new float[checked(LeafCount * leafWidth)];
        OutputWeights = new float[checked(LeafCount * leafWidth * outputCount)];
        OutputBiases = new float[checked(LeafCount * outputCount)];
        MasterHiddenWeights = new float[checked(masterWidth * inputCount)];
        MasterHiddenBiases = new float[masterWidth];
        MasterOutputWeights = new float[checked(masterWidth * outputCount)];
        MasterOutputBiases = new float[masterWidth > 0 ? outputCount : 0];
        MasterMix = new float[masterWidth > 0 ? 1 : 0];
    }

    public int Depth { get; }
    public int LeafWidth { get; }
    public int NodeCount => (1 << Depth) - 1;
    public int LeafCount => 1 << Depth;

    /// <summary>Width of the always-on master leaf (0: none).</summary>
    public int MasterWidth { get; }

    public override int TrainingWidth => LeafCount * LeafWidth + MasterWidth;

    public override int NeuronsPerRow => Depth + LeafWidth + MasterWidth;

    public override string Describe() => $"FFF depth {Depth} x leaf {LeafWidth}" + (MasterWidth > 0 ? $" + master leaf {MasterWidth}" : "");

    public float[] NodeWeights { get; }
    public float[] NodeBiases { get; }
    public float[] HiddenWeights { get; }
    public float[] HiddenBiases { get; }
    public float[] OutputWeights { get; }
    public float[] OutputBiases { get; }

    /// <summary>Master leaf: hidden weights (<c>MasterWidth x I</c>), biases, output weights (<c>MasterWidth x O</c>) and output biases.</summary>
    public float[] MasterHiddenWeights { get; }
    public float[] MasterHiddenBiases { get; }
    public float[] MasterOutputWeights { get; }
    public float[] MasterOutputBiases { get; }

    /// <summary>The mixing logit <c>kappa</c> (one value when there is a master leaf): output = <c>k * leaf + (1 - k) * master</c>, <c>k = sigmoid(kappa)</c>.</summary>
    public float[] MasterMix { get; }

    /// <summary>The weight <c>k</c> of the FFF leaves against the master leaf (1 without a master leaf).</summary>
    public float LeafShare => MasterWidth > 0 ? Kernels.Sigmoid(MasterMix[0]) : 1f;

    /// <summary>Routes a dense row to its leaf: <c>Depth</c> dot products. Returns -1 when a node value is NaN.</summary>
    public int FindLeaf(ReadOnlySpan<float> features)
    {
        int inputs = InputCount;
        if (UsesNarrowKernels)
            return FindLeafNarrow(Narrow, features.Slice(0, inputs));
        ref float x = ref MemoryMarshal.GetReference(features.Slice(0, inputs));
        ref float weights = ref MemoryMarshal.GetArrayDataReference(NodeWeights);
        int node = 0;
        for (int level = 0; level < Depth; level++)
        {
            float z = DescentKernels.Dot(ref x, ref Unsafe.Add(ref weights, (nint)node * inputs), inputs) + NodeBiases[node];
            if (float.IsNaN(z))
                return -1;
            node = 2 * node + (z >= 0 ? 2 : 1);
        }
        return node - NodeCount;
    }

    /// <summary>Routes a sparse row (indices already validated) to its leaf. Returns -1 when a node value is NaN.</summary>
    public int FindLeaf(ReadOnlySpan<int> indices, ReadOnlySpan<float> values)
    {
        if (UsesNarrowKernels)
        {
            Span<float> x = stackalloc float[InputCount];
            Scatter(indices, values, x);
            return FindLeafNarrow(Narrow, x);
        }
        var row = new SparseRow(indices, values);
        int node = 0;
        int inputs = InputCount;
        for (int level = 0; level < Depth; level++)
        {
            float z = row.Dot(NodeWeights.AsSpan(node * inputs, inputs)) + NodeBiases[node];
            if (float.IsNaN(z))
                return -1;
            node = 2 * node + (z >= 0 ? 2 : 1);
        }
        return node - NodeCount;
    }

    /// <summary>
    /// Hard-descent forward pass for a dense row: <c>Depth</c> node dot products, one leaf's <c>LeafWidth</c> neurons and
    /// the master leaf. Uses the kernels of <see cref="GroupedBatchNetwork.ScoreBatch"/>, so both give bit-identical results.
    /// </summary>
    public override void Score(ReadOnlySpan<float> features, Span<float> output)
    {
        Span<float> result = output.Slice(0, OutputCount);
        ReadOnlySpan<float> x = features.Slice(0, InputCount);
        if (UsesNarrowKernels)
        {
            ScoreNarrow(x, result);
            return;
        }
        int leaf = FindLeaf(x);
        if (leaf < 0)
        {
            result.Fill(float.NaN);
            return;
        }
        int width = Math.Max(LeafWidth, MasterWidth);
        Span<float> hidden = width <= StackFloats ? stackalloc float[StackFloats] : ThreadScratch.Floats(width);
        ref float row = ref MemoryMarshal.GetReference(x);
        DescentKernels.Units(ref row, ref LeafHiddenWeights(leaf), HiddenBiases.AsSpan(leaf * LeafWidth, LeafWidth), InputCount, hidden);
        LeafOutput(leaf, hidden, result);
        if (MasterWidth > 0)
        {
            DescentKernels.Units(ref row, ref MemoryMarshal.GetArrayDataReference(MasterHiddenWeights), MasterHiddenBiases, InputCount, hidden);
            MixMaster(hidden, result);
        }
    }

    /// <summary>Hard-descent forward pass for a sparse row given as (indices, values); indices must be validated.</summary>
    public override void Score(ReadOnlySpan<int> indices, ReadOnlySpan<float> values, Span<float> output)
    {
        Span<float> result = output.Slice(0, OutputCount);
        if (UsesNarrowKernels)
        {
            ScoreNarrow(indices, values, result);
            return;
        }
        var row = new SparseRow(indices, values);
        int leaf = FindLeaf(indices, values);
        if (leaf < 0)
        {
            result.Fill(float.NaN);
            return;
        }
        int outputs = OutputCount;
        OutputBiases.AsSpan(leaf * outputs, outputs).CopyTo(result);
        AddReluUnits(row, HiddenWeights, HiddenBiases, OutputWeights, leaf * LeafWidth, LeafWidth, 1f, result);
        if (MasterWidth > 0)
            MixMaster(row, result);
    }

    /// <summary>The first hidden weight of leaf <paramref name="leaf"/>: its <c>LeafWidth x InputCount</c> matrix is contiguous from here.</summary>
    private ref float LeafHiddenWeights(int leaf)
        => ref Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(HiddenWeights), (nint)leaf * LeafWidth * InputCount);

    /// <summary>A leaf's output from its hidden pre-activations: <c>b_leaf + sum_k ReLU(h_k) v_k</c> into <paramref name="result"/>.</summary>
    private void LeafOutput(int leaf, ReadOnlySpan<float> hidden, Span<float> result)
    {
        int outputs = OutputCount, width = LeafWidth;
        OutputBiases.AsSpan(leaf * outputs, outputs).CopyTo(result);
        DescentKernels.AddActivated(hidden.Slice(0, width), OutputWeights.AsSpan(leaf * width * outputs, width * outputs), 1f, result);
    }

    /// <summary>Mixes the master leaf into a leaf's output: <c>k * result + (1 - k) * (b_master + sum_k ReLU(h_k) v_k)</c>.</summary>
    private void MixMaster(ReadOnlySpan<float> masterHidden, Span<float> result)
        => DescentKernels.AddActivated(masterHidden.Slice(0, MasterWidth), MasterOutputWeights, StartMasterMix(result), result);

    /// <summary>The same mix for a row whose master hidden units are computed here (sparse rows, the soft pass).</summary>
    private void MixMaster<TRow>(TRow row, Span<float> result) where TRow : IFeatureRow, allows ref struct
        => AddReluUnits(row, MasterHiddenWeights, MasterHiddenBiases, MasterOutputWeights, 0, MasterWidth, StartMasterMix(result), result);

    /// <summary>
    /// The start of every master-leaf mix, written once: <c>result = k * result + (1 - k) * b_master</c>. Returns <c>1 - k</c>,
    /// the factor of the master leaf's hidden units still to be added.
    /// </summary>
    private float StartMasterMix(Span<float> result)
    {
        float k = LeafShare;
        TensorPrimitives.Multiply(result, k, result);
        TensorPrimitives.MultiplyAdd(MasterOutputBiases, 1 - k, result, result);
        return 1 - k;
    }

    /// <summary>
    /// Batched hard descent with conditional execution (the batch of <see cref="GroupedBatchNetwork.ScoreBatch"/>, every
    /// row equal to <see cref="Score(ReadOnlySpan{float}, Span{float})"/> bit for bit): each row of the range descends on
    /// its own (its features stay in L1 for the <c>Depth</c> node dot products, and the upper nodes stay in cache across
    /// rows), the rows are then grouped by leaf, and each leaf's group is one blocked multiply
    /// (<see cref="DescentKernels.UnitsBlock"/>), so a leaf's weights are read from memory once per group instead of once
    /// per row. Then the master leaf over the range.
    /// </summary>
    /// <remarks>
    /// Routing level by level over the whole chunk was tried first: it re-reads every row's features from memory at each
    /// level (10,000 MNIST rows are 31 MB), which made the batch slower than scoring row by row.
    /// </remarks>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private protected override void ScoreGrouped(ReadOnlySpan<float> features, int first, int count, Span<float> outputs)
    {
        int inputs = InputCount, outs = OutputCount;
        if (UsesNarrowKernels)
        {
            // A narrow network's weights sit in L1 whatever the order of the rows: grouping would only add the sort.
            for (int row = first; row < first + count; row++)
                ScoreNarrow(features.Slice(row * inputs, inputs), outputs.Slice(row * outs, outs));
            return;
        }
        int leaves = LeafCount;
        // Counting sort when the leaves are not many more than the rows; a comparison sort otherwise (deep trees, few rows).
        bool counting = leaves <= 4 * count;
        Span<int> ints = ThreadScratch.Ints(3 * count + (counting ? leaves + 1 : 0));
        Span<int> leafOf = ints.Slice(0, count);
        Span<int> routedRows = ints.Slice(count, count);
        Span<int> grouped = ints.Slice(2 * count, count);
        Span<float> hidden = ThreadScratch.Floats(BlockRows * Math.Max(LeafWidth, MasterWidth));

        int routed = 0;
        for (int t = 0; t < count; t++)
        {
            int row = first + t;
            int leaf = FindLeaf(features.Slice(row * inputs, inputs));
            leafOf[t] = leaf;
            if (leaf < 0)
                outputs.Slice(row * outs, outs).Fill(float.NaN);
            else
                routedRows[routed++] = row;
        }
        routedRows = routedRows.Slice(0, routed);
        grouped = grouped.Slice(0, routed);
        if (counting)
        {
            // Positions in the chunk grouped by leaf (unrouted rows, leaf -1, left out), then made row numbers.
            Grouping.CountingSort(leafOf.Slice(0, count), ints.Slice(3 * count, leaves + 1), grouped);
            for (int i = 0; i < routed; i++)
                grouped[i] += first;
        }
        else
        {
            // Sort the routed rows by leaf: keys (the leaves) go into routedRows' place, the rows into grouped.
            routedRows.CopyTo(grouped);
            for (int i = 0; i < routed; i++)
                routedRows[i] = leafOf[grouped[i] - first];
            routedRows.Sort(grouped);
        }

        for (int start = 0; start < routed;)
        {
            int leaf = leafOf[grouped[start] - first];
            int end = start + 1;
            while (end < routed && leafOf[grouped[end] - first] == leaf)
                end++;
            ScoreLeafGroup(features, grouped.Slice(start, end - start), leaf, hidden, outputs);
            start = end;
        }
        if (MasterWidth > 0)
            MixMasterBlocks(features, first, count, leafOf, ints.Slice(count, Math.Min(count, BlockRows)), hidden, outputs);
    }

    /// <summary>
    /// Scores rows <c>[first, first + count)</c> of a batch on the calling thread, grouped as in a batch (for an ensemble that
    /// sums its members' batches; bit-identical to <see cref="Score(ReadOnlySpan{float}, Span{float})"/> per row).
    /// </summary>
    internal void ScoreRows(ReadOnlySpan<float> features, int first, int count, Span<float> outputs) => ScoreRange(features, first, count, outputs);

    /// <summary>Scores the rows that reached <paramref name="leaf"/>, <see cref="BlockRows"/> at a time: one blocked multiply, then each row's output.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void ScoreLeafGroup(ReadOnlySpan<float> features, ReadOnlySpan<int> rows, int leaf, Span<float> hidden, Span<float> outputs)
    {
        int width = LeafWidth, outs = OutputCount;
        ReadOnlySpan<float> biases = HiddenBiases.AsSpan(leaf * width, width);
        for (int start = 0; start < rows.Length; start += BlockRows)
        {
            ReadOnlySpan<int> block = rows.Slice(start, Math.Min(BlockRows, rows.Length - start));
            DescentKernels.UnitsBlock(features, block, ref LeafHiddenWeights(leaf), biases, InputCount, hidden);
            for (int t = 0; t < block.Length; t++)
                LeafOutput(leaf, hidden.Slice(t * width, width), outputs.Slice(block[t] * outs, outs));
        }
    }

    /// <summary>Adds the master leaf to every routed row of the chunk, <see cref="BlockRows"/> rows per blocked multiply.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void MixMasterBlocks(ReadOnlySpan<float> features, int first, int count, ReadOnlySpan<int> leafOf, Span<int> block,
        Span<float> hidden, Span<float> outputs)
    {
        int width = MasterWidth, outs = OutputCount;
        ref float weights = ref MemoryMarshal.GetArrayDataReference(MasterHiddenWeights);
        for (int start = 0; start < count; start += BlockRows)
        {
            int rows = 0;
            for (int t = start; t < Math.Min(count, start + BlockRows); t++)
            {
                if (leafOf[t] >= 0)
                    block[rows++] = first + t;
            }
            ReadOnlySpan<int> these = block.Slice(0, rows);
            DescentKernels.UnitsBlock(features, these, ref weights, MasterHiddenBiases, InputCount, hidden);
            for (int t = 0; t < rows; t++)
                MixMaster(hidden.Slice(t * width, width), outputs.Slice(these[t] * outs, outs));
        }
    }

    /// <summary>
    /// The soft (training-time) forward pass in C#: every leaf weighted by its path probability, plus the master leaf. It
    /// touches every neuron, so it is for diagnostics (the soft/hard gap), not for serving. <paramref name="scratch"/> needs
    /// <c>2 * LeafCount</c> floats.
    /// </summary>
    public void ScoreSoft(ReadOnlySpan<float> features, Span<float> output, Span<float> scratch)
    {
        int inputs = InputCount, outputs = OutputCount, width = LeafWidth;
        Span<float> mixture = scratch.Slice(0, LeafCount);
        Span<float> next = scratch.Slice(LeafCount, LeafCount);
        mixture[0] = 1;
        for (int level = 0; level < Depth; level++)
        {
            int first = (1 << level) - 1;
            for (int j = 0; j < 1 << level; j++)
            {
                int node = first + j;
                float p = Kernels.Sigmoid(TensorPrimitives.Dot(features, NodeWeights.AsSpan(node * inputs, inputs)) + NodeBiases[node]);
                next[2 * j] = mixture[j] * (1 - p);
                next[2 * j + 1] = mixture[j] * p;
            }
            next.Slice(0, 2 << level).CopyTo(mixture);
        }
        Span<float> result = output.Slice(0, outputs);
        result.Clear();
        var row = new DenseRow(features);
        for (int leaf = 0; leaf < LeafCount; leaf++)
        {
            float m = mixture[leaf];
            TensorPrimitives.MultiplyAdd(OutputBiases.AsSpan(leaf * outputs, outputs), m, result, result);
            AddReluUnits(row, HiddenWeights, HiddenBiases, OutputWeights, leaf * width, width, m, result);
        }
        if (MasterWidth > 0)
            MixMaster(row, result);
    }

    protected override IEnumerable<(float[] Weights, float[] Biases)> InputLayers =>
        new[] { (NodeWeights, NodeBiases), (HiddenWeights, HiddenBiases), (MasterHiddenWeights, MasterHiddenBiases) };

    // Each row's output is k * (its leaf's output) + (1 - k) * (master output): the shift goes into both output biases.
    protected override IEnumerable<float[]> OutputWeightArrays => new[] { OutputWeights, MasterOutputWeights };

    protected override IEnumerable<float[]> OutputBiasArrays => new[] { OutputBiases, MasterOutputBiases };

    public override IEnumerable<float[]> Arrays => MasterWidth > 0
        ? new[] { NodeWeights, NodeBiases, HiddenWeights, HiddenBiases, OutputWeights, OutputBiases,
                  MasterHiddenWeights, MasterHiddenBiases, MasterOutputWeights, MasterOutputBiases, MasterMix }
        : new[] { NodeWeights, NodeBiases, HiddenWeights, HiddenBiases, OutputWeights, OutputBiases };

    /// <summary>
    /// An upper bound, over all inputs with every |x_i| ≤ 1, on the magnitude of every node value, hidden
    /// pre-activation and output (L1 norms of the weight rows plus the biases, chained through each leaf).
    /// Infinite when a weight is not finite or a row's norm overflows float.
    /// </summary>
    public override double UnitBoxBound()
    {
        int inputs = InputCount;
        double bound = 0;
        for (int node = 0; node < NodeCount; node++)
            bound = Math.Max(bound, RowBound(NodeWeights.AsSpan(node * inputs, inputs), NodeBiases[node]));
        for (int leaf = 0; leaf < LeafCount; leaf++)
            bound = Math.Max(bound, LayerBound(HiddenWeights, HiddenBiases, OutputWeights, OutputBiases.AsSpan(leaf * OutputCount, OutputCount), leaf * LeafWidth, LeafWidth));
        if (MasterWidth > 0)
            bound = Math.Max(bound, LayerBound(MasterHiddenWeights, MasterHiddenBiases, MasterOutputWeights, MasterOutputBiases, 0, MasterWidth));
        // The output mixes a leaf and the master leaf with weights in [0, 1] that sum to 1: no larger than either bound.
        return double.IsNaN(bound) ? double.PositiveInfinity : bound;
    }

    /// <summary>Bound of the hidden units <c>[first, first + count)</c> and of the output they produce with <paramref name="outputBiases"/>.</summary>
    internal double LayerBound(float[] hiddenWeights, float[] hiddenBiases, float[] outputWeights, ReadOnlySpan<float> outputBiases, int first, int count)
    {
        int outputs = OutputCount;
        Span<double> output = outputs <= 256 ? stackalloc double[outputs] : new double[outputs];
        for (int o = 0; o < outputs; o++)
            output[o] = Math.Abs((double)outputBiases[o]);
        double bound = AddUnitBounds(hiddenWeights, hiddenBiases, outputWeights, first, count, output);
        foreach (double value in output)
            bound = Math.Max(bound, value);
        return bound;
    }

    internal static void CheckShape(int inputCount, int outputCount, int depth, int leafWidth)
    {
        if (inputCount < 1)
            throw new ArgumentOutOfRangeException(nameof(inputCount), inputCount, "The feature vector must have at least one slot.");
        if (outputCount < 1)
            throw new ArgumentOutOfRangeException(nameof(outputCount), outputCount, "The network must have at least one output.");
        if (depth < 0 || depth > MaxStoredDepth)
            throw new ArgumentOutOfRangeException(nameof(depth), depth, $"Depth must be between 0 and {MaxStoredDepth}.");
        if (leafWidth < 1)
            throw new ArgumentOutOfRangeException(nameof(leafWidth), leafWidth, "Leaf width must be at least 1.");
    }
}
