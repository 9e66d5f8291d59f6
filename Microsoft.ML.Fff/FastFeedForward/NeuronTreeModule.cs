using System.Collections.Generic;
using Microsoft.ML.Fff.Scoring;
using Microsoft.ML.Fff.Training;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Microsoft.ML.Fff.FastFeedForward;

/// <summary>
/// The trainable neuron-tree FFF layer on TorchSharp: the masked dense computation of UltraFastBERT. Every node's value
/// and GELU activation is computed for the batch, multiplied by a 0/1 mask of the nodes each row's hard descent visits
/// (no gradient through the mask), then projected by the node output vectors. This equals the C# hard-descent scorer, so
/// training and evaluation compute one function.
/// </summary>
/// <remarks>
/// Node weights are stored input-major (<c>[I, K*N]</c>) so one matrix product serves dense and sparse (COO) batches
/// alike; column <c>t*N + n</c> is node <c>n</c> of tree <c>t</c>, as in <see cref="NeuronTreeNetwork"/>.
/// </remarks>
internal sealed class NeuronTreeModule : FeedForwardModule
{
    private readonly int _trees;
    private readonly int _depth;
    private readonly int _nodes;

    private readonly Parameter node_weight;
    private readonly Parameter node_bias;
    private readonly Parameter output_weight;
    private readonly Parameter output_bias;

    public NeuronTreeModule(int inputs, int outputs, int trees, int depth, Device device) : base("FastFeedForwardNeuronTrees")
    {
        _trees = trees;
        _depth = depth;
        _nodes = (2 << depth) - 1;
        int total = trees * _nodes;
        node_weight = nn.Parameter(zeros(inputs, total, device: device));
        node_bias = nn.Parameter(zeros(total, device: device));
        output_weight = nn.Parameter(zeros(total, outputs, device: device));
        output_bias = nn.Parameter(zeros(outputs, device: device));
        RegisterComponents();
    }

    /// <summary>The masked dense forward (evaluation and training are the same function).</summary>
    public override Tensor forward(Tensor input)
    {
        using var scope = NewDisposeScope();
        return Forward(input).MoveToOuterDisposeScope();
    }

    /// <summary>One stage, no penalties: the trained function is the scored function.</summary>
    public override StepOutput TrainingForward(Tensor input, StepContext context) => new(Forward(input));

    private Tensor Forward(Tensor input)
    {
        long rows = input.shape[0];
        Tensor logits = NarrowProducts.Multiply(input, node_weight).add(node_bias, AliveScalars.One);          // [B, K*N]
        Tensor mask = PathMask(logits).view(rows, _trees * _nodes);                     // [B, K*N], no gradient
        Tensor active = nn.functional.gelu(logits, GELU.Approximate.tanh).mul(mask);
        return NarrowProducts.Multiply(active, output_weight).add(output_bias, AliveScalars.One);            // [B, O]
    }

    /// <summary>
    /// The 0/1 mask <c>[B, K, N]</c> of the nodes each row's descent visits in each tree: from node 0, right child
    /// (<c>2n + 2</c>) when the node value is strictly positive, else left (<c>2n + 1</c>), over <c>D + 1</c> levels.
    /// </summary>
    private Tensor PathMask(Tensor logits)
    {
        using var noGrad = no_grad();
        long rows = logits.shape[0];
        Tensor perTree = logits.detach().view(rows, _trees, _nodes);
        Tensor node = zeros(rows, _trees, 1, dtype: ScalarType.Int64, device: logits.device);
        Tensor mask = zeros(rows, _trees, _nodes, dtype: ScalarType.Float32, device: logits.device);
        Tensor one = ones(rows, _trees, 1, dtype: ScalarType.Float32, device: logits.device);
        for (int level = 0; level <= _depth; level++)
        {
            mask = mask.scatter(2, node, one);
            if (level == _depth)
                break;
            Tensor value = perTree.gather(2, node);
            node = node.mul(AliveScalars.TwoLong).add(AliveScalars.OneLong, AliveScalars.OneLong)
                .add(value.gt(AliveScalars.Zero).to(ScalarType.Int64), AliveScalars.OneLong);
        }
        return mask;
    }

    /// <summary>The node each row visits at each level of each tree, <c>[B, K, D+1]</c> (indices within the tree). For tests.</summary>
    public Tensor Paths(Tensor input)
    {
        using var noGrad = no_grad();
        using var scope = NewDisposeScope();
        long rows = input.shape[0];
        Tensor perTree = NarrowProducts.Multiply(input, node_weight).add(node_bias, AliveScalars.One).view(rows, _trees, _nodes);
        Tensor node = zeros(rows, _trees, 1, dtype: ScalarType.Int64, device: input.device);
        var levels = new Tensor[_depth + 1];
        for (int level = 0; level <= _depth; level++)
        {
            levels[level] = node;
            if (level == _depth)
                break;
            Tensor value = perTree.gather(2, node);
            node = node.mul(AliveScalars.TwoLong).add(AliveScalars.OneLong, AliveScalars.OneLong)
                .add(value.gt(AliveScalars.Zero).to(ScalarType.Int64), AliveScalars.OneLong);
        }
        return cat(levels, 2).MoveToOuterDisposeScope();
    }

    private protected override IEnumerable<WeightBinding> Bindings(FeedForwardNetwork network)
    {
        var trees = (NeuronTreeNetwork)network;
        yield return new(node_weight, trees.NodeWeights, InputMajor: true);
        yield return new(node_bias, trees.NodeBiases);
        yield return new(output_weight, trees.OutputWeights);
        yield return new(output_bias, trees.OutputBiases);
    }
}
