using System;
using System.Threading;
using Microsoft.ML.Fff.Scoring;

namespace Microsoft.ML.Fff.FastFeedForward;

// Hard descent on narrow rows (tables): the weights copied input-major at first use, scored by NarrowKernels.
internal sealed partial class FastFeedForwardNetwork
{
    /// <summary>The widest row scored by the narrow kernels; wider rows (images, text) keep the neuron-major ones.</summary>
    internal const int MaxNarrowInputs = 64;

    /// <summary>The deepest tree scored by the narrow kernels: all its nodes (at most 15) are one or two vectors.</summary>
    internal const int MaxNarrowDepth = 4;

    /// <summary>The widest leaf scored by the narrow kernels (its padded hidden units live on the stack).</summary>
    internal const int MaxNarrowLeafWidth = 256;

    /// <summary>Up to this many outputs a leaf's output is one dot product per output over the units; more use <see cref="DescentKernels.AddActivated"/>.</summary>
    private const int MaxNarrowDotOutputs = 8;

    // Built on first use from the stored arrays; dropped when they change (WeightsChanged). A race builds it twice, alike.
    private NarrowLayout? _narrow;

    /// <summary>
    /// Whether hard descent runs on the narrow kernels: at most <see cref="MaxNarrowInputs"/> inputs, depth
    /// <see cref="MaxNarrowDepth"/>, leaf width <see cref="MaxNarrowLeafWidth"/>, and no master leaf. Such a row costs
    /// about half of the neuron-major kernels' time (docs/tabular.md, "Narrow kernels"): one vector computes all the
    /// routing nodes, and eight hidden units come from each broadcast input with no lane sums per unit. The narrow kernels
    /// add in another order than the neuron-major ones, so a network read from a file older than
    /// <see cref="Persistence.ModelFormat.NarrowKernelsVersion"/> keeps the neuron-major kernels and its saved scores.
    /// </summary>
    internal bool UsesNarrowKernels => !_legacyKernels && InputCount <= MaxNarrowInputs && Depth <= MaxNarrowDepth && LeafWidth <= MaxNarrowLeafWidth && MasterWidth == 0;

    // Set for networks read from files older than ModelFormat.NarrowKernelsVersion: they score as when they were saved.
    private bool _legacyKernels;

    internal override bool HasLegacyKernels => _legacyKernels;

    internal override void KeepLegacyKernels() => _legacyKernels = true;

    public override void WeightsChanged() => Volatile.Write(ref _narrow, null);

    private NarrowLayout Narrow
    {
        get
        {
            NarrowLayout? layout = Volatile.Read(ref _narrow);
            if (layout is null)
            {
                layout = new NarrowLayout(this);
                Volatile.Write(ref _narrow, layout);
            }
            return layout;
        }
    }

    /// <summary>The narrow form of <see cref="FindLeaf(ReadOnlySpan{float})"/>: every node's value in one pass, then the path.</summary>
    private int FindLeafNarrow(NarrowLayout layout, ReadOnlySpan<float> x)
    {
        if (Depth == 0)
            return 0;
        Span<float> nodes = stackalloc float[layout.NodeStride];
        NarrowKernels.Affine(x, layout.Nodes, layout.NodeBiases, nodes);
        int node = 0;
        for (int level = 0; level < Depth; level++)
        {
            float z = nodes[node];
            if (float.IsNaN(z))
                return -1;
            node = 2 * node + (z >= 0 ? 2 : 1);
        }
        return node - NodeCount;
    }

    /// <summary>The narrow form of <see cref="Score(ReadOnlySpan{float}, Span{float})"/>.</summary>
    private void ScoreNarrow(ReadOnlySpan<float> x, Span<float> result)
    {
        NarrowLayout layout = Narrow;
        int leaf = FindLeafNarrow(layout, x);
        if (leaf < 0)
        {
            result.Fill(float.NaN);
            return;
        }
        int stride = layout.UnitStride, inputs = InputCount, outputs = OutputCount;
        Span<float> hidden = stackalloc float[stride];
        NarrowKernels.Affine(x, layout.Units.AsSpan(leaf * inputs * stride, inputs * stride), layout.UnitBiases.AsSpan(leaf * stride, stride), hidden);
        if (outputs > MaxNarrowDotOutputs)
        {
            LeafOutput(leaf, hidden, result);
            return;
        }
        ReadOnlySpan<float> weights = layout.Outputs.AsSpan(leaf * outputs * stride, outputs * stride);
        for (int o = 0; o < outputs; o++)
            result[o] = OutputBiases[leaf * outputs + o] + NarrowKernels.ActivatedDot(hidden, weights.Slice(o * stride, stride));
    }

    /// <summary>A sparse row of a narrow network, scattered into a dense one so that both forms of a row score alike.</summary>
    private void ScoreNarrow(ReadOnlySpan<int> indices, ReadOnlySpan<float> values, Span<float> result)
    {
        Span<float> x = stackalloc float[InputCount];
        Scatter(indices, values, x);
        ScoreNarrow(x, result);
    }

    private static void Scatter(ReadOnlySpan<int> indices, ReadOnlySpan<float> values, Span<float> x)
    {
        x.Clear();
        for (int k = 0; k < indices.Length; k++)
            x[indices[k]] = values[k];
    }

    /// <summary>The stored weights copied input-major and padded to whole vectors (zero weights and biases in the padding).</summary>
    private sealed class NarrowLayout
    {
        public NarrowLayout(FastFeedForwardNetwork network)
        {
            int inputs = network.InputCount, outputs = network.OutputCount, width = network.LeafWidth;
            NodeStride = NarrowKernels.Padded(network.NodeCount);
            UnitStride = NarrowKernels.Padded(width);
            Nodes = InputMajor(network.NodeWeights, 0, network.NodeCount, inputs, NodeStride);
            NodeBiases = new float[NodeStride];
            network.NodeBiases.CopyTo(NodeBiases, 0);
            int leaves = network.LeafCount;
            Units = new float[leaves * inputs * UnitStride];
            UnitBiases = new float[leaves * UnitStride];
            Outputs = new float[outputs <= MaxNarrowDotOutputs ? leaves * outputs * UnitStride : 0];
            for (int leaf = 0; leaf < leaves; leaf++)
            {
                InputMajor(network.HiddenWeights, leaf * width, width, inputs, UnitStride).CopyTo(Units, leaf * inputs * UnitStride);
                Array.Copy(network.HiddenBiases, leaf * width, UnitBiases, leaf * UnitStride, width);
                if (Outputs.Length == 0)
                    continue;
                // Output o's weights over the units, contiguous: OutputWeights is unit-major (unit k's outputs together).
                for (int o = 0; o < outputs; o++)
                {
                    for (int k = 0; k < width; k++)
                        Outputs[(leaf * outputs + o) * UnitStride + k] = network.OutputWeights[(leaf * width + k) * outputs + o];
                }
            }
        }

        /// <summary>Node count padded to whole vectors (0 for depth 0).</summary>
        public int NodeStride { get; }

        /// <summary>Leaf width padded to whole vectors.</summary>
        public int UnitStride { get; }

        /// <summary><c>inputs x NodeStride</c>.</summary>
        public float[] Nodes { get; }

        public float[] NodeBiases { get; }

        /// <summary>Per leaf, <c>inputs x UnitStride</c>.</summary>
        public float[] Units { get; }

        /// <summary>Per leaf, <c>UnitStride</c>.</summary>
        public float[] UnitBiases { get; }

        /// <summary>Per leaf and output, <c>UnitStride</c> weights (empty above <see cref="MaxNarrowDotOutputs"/> outputs).</summary>
        public float[] Outputs { get; }

        /// <summary>Neurons <c>[first, first + count)</c> of a neuron-major matrix, transposed to <c>inputs x stride</c>.</summary>
        private static float[] InputMajor(float[] neuronMajor, int first, int count, int inputs, int stride)
        {
            var result = new float[inputs * stride];
            for (int k = 0; k < count; k++)
            {
                for (int i = 0; i < inputs; i++)
                    result[i * stride + k] = neuronMajor[(first + k) * inputs + i];
            }
            return result;
        }
    }
}
