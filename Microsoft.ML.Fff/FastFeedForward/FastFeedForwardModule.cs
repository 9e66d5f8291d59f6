using System;
using System.Collections.Generic;
using System.Linq;
using Microsoft.ML.Fff.Scoring;
using Microsoft.ML.Fff.Training;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Microsoft.ML.Fff.FastFeedForward;

/// <summary>
/// The trainable FFF layer on TorchSharp. Internal: the user never sees a tensor or a module, and nothing native
/// outlives training (weights are copied into an <see cref="FastFeedForwardNetwork"/>).
/// </summary>
/// <remarks>
/// Node and hidden weights are stored input-major (<c>[I, N]</c>, <c>[I, L*l]</c>) so one matrix product serves dense and
/// sparse (COO) batches alike. Node and leaf parameters are separate so hard fine-tuning can optimize the leaves alone.
/// </remarks>
internal sealed class FastFeedForwardModule : FeedForwardModule
{
    private readonly int _depth;
    private readonly int _leafWidth;
    private readonly int _leafCount;
    private readonly int _nodeCount;
    private readonly int _outputs;

    // Every scalar passed to libtorch is kept alive explicitly (see AliveScalars): no operator + or - on tensors here.

    // Hard routing as one product (see HardLeaves): node n's turn on leaf j's path (+1 right, -1 left, 0 off the path) and
    // each leaf's offset. Made after RegisterComponents, so they are constants, not buffers of the module.
    private readonly Tensor? _pathTurns;
    private readonly Tensor? _pathOffsets;
    // Soft routing as one product: [2 * nodes, leaves], 1 where leaf j's path goes right at node n (rows 0..nodes-1) or left
    // (rows nodes..2*nodes-1). Log path probabilities are [log p_right, log p_left] times it.
    private readonly Tensor? _pathSides;

    private readonly Parameter? node_weight;
    private readonly Parameter? node_bias;
    private readonly Parameter hidden_weight;
    private readonly Parameter hidden_bias;
    private readonly Parameter output_weight;
    private readonly Parameter output_bias;
    private readonly Parameter? master_hidden_weight;
    private readonly Parameter? master_hidden_bias;
    private readonly Parameter? master_output_weight;
    private readonly Parameter? master_output_bias;
    private readonly Parameter? master_mix;
    private readonly FastFeedForwardOptionsBase _options;

    public FastFeedForwardModule(int inputs, int outputs, FastFeedForwardOptionsBase options, Device device) : base("FastFeedForward")
    {
        _options = options;
        int depth = options.Depth, leafWidth = options.LeafWidth, master = options.MasterLeafWidth;
        _depth = depth;
        _leafWidth = leafWidth;
        _leafCount = 1 << depth;
        _nodeCount = _leafCount - 1;
        _outputs = outputs;
        if (_nodeCount > 0)
        {
            node_weight = nn.Parameter(zeros(inputs, _nodeCount, device: device));
            node_bias = nn.Parameter(zeros(_nodeCount, device: device));
        }
        hidden_weight = nn.Parameter(zeros(inputs, _leafCount * leafWidth, device: device));
        hidden_bias = nn.Parameter(zeros(_leafCount * leafWidth, device: device));
        output_weight = nn.Parameter(zeros(_leafCount, leafWidth, outputs, device: device));
        output_bias = nn.Parameter(zeros(_leafCount, outputs, device: device));
        if (master > 0)
        {
            master_hidden_weight = nn.Parameter(zeros(inputs, master, device: device));
            master_hidden_bias = nn.Parameter(zeros(master, device: device));
            master_output_weight = nn.Parameter(zeros(master, outputs, device: device));
            master_output_bias = nn.Parameter(zeros(outputs, device: device));
            master_mix = nn.Parameter(zeros(1, device: device));
        }
        RegisterComponents();
        if (_nodeCount > 0)
        {
            (_pathTurns, _pathOffsets) = PathTensors(device);
            using Tensor right = _pathTurns.gt(AliveScalars.Zero), left = _pathTurns.lt(AliveScalars.Zero);
            _pathSides = cat(new[] { right, left }, 0).to(ScalarType.Float32);
        }
    }

    /// <summary>
    /// <c>[nodes, leaves]</c> turns (+1 where leaf <c>j</c>'s path goes right at node <c>n</c>, -1 left, 0 off its path) and per
    /// leaf <c>-(right turns - left turns) / 2</c>. With <c>r</c> the row's decisions (1 where the node value is &gt;= 0, else
    /// 0), <c>r . turns_j + offset_j</c> is +1/2 for each level where leaf <c>j</c>'s path agrees with the row and -1/2 where
    /// it does not: exactly <c>depth / 2</c> for the leaf the row reaches, at most <c>depth / 2 - 1</c> for any other.
    /// </summary>
    private (Tensor Turns, Tensor Offsets) PathTensors(Device device)
    {
        var turns = new float[_nodeCount * _leafCount];
        var offsets = new float[_leafCount];
        for (int leaf = 0; leaf < _leafCount; leaf++)
        {
            int node = 0;
            for (int level = 0; level < _depth; level++)
            {
                // Level-order numbering: the leaf's bits, most significant first, are its path's turns (1 = right).
                bool right = ((leaf >> (_depth - 1 - level)) & 1) == 1;
                turns[node * _leafCount + leaf] = right ? 1 : -1;
                offsets[leaf] += right ? -0.5f : 0.5f;
                node = 2 * node + (right ? 2 : 1);
            }
        }
        return (tensor(turns, new long[] { _nodeCount, _leafCount }, device: device), tensor(offsets, new long[] { _leafCount }, device: device));
    }

    /// <summary>Hard fine-tuning trains everything but the routing nodes.</summary>
    public override IEnumerable<Parameter> ParametersFor(PhasePlan phase) => phase.Phase == FffTrainingPhase.HardFineTune
        ? parameters().Where(p => !ReferenceEquals(p, node_weight) && !ReferenceEquals(p, node_bias))
        : parameters();

    /// <summary>Soft forward without region leak (evaluation of the training-time function).</summary>
    public override Tensor forward(Tensor input)
    {
        using var scope = NewDisposeScope();
        Tensor mixture = _nodeCount == 0 ? ones(input.shape[0], 1, device: input.device) : SoftMixture(NodeLogits(input));
        return WithMaster(input, MixedLeaves(input, mixture)).MoveToOuterDisposeScope();
    }

    /// <summary>Whether a training step draws from the step's random generator (region leak).</summary>
    public bool DrawsRandomNumbers => _options.RegionLeak > 0;

    /// <summary>Soft phase: soft forward with region leak, hardening and load-balancing penalties; fine-tune phase: hard forward.</summary>
    public override StepOutput TrainingForward(Tensor input, StepContext context)
    {
        if (context.Phase.Phase == FffTrainingPhase.HardFineTune)
            return new StepOutput(HardForward(input));
        (double hardening, double balancing) = PenaltyWeights(context);
        if (_nodeCount == 0)
            return new StepOutput(WithMaster(input, MixedLeaves(input, ones(input.shape[0], 1, device: input.device))));
        Tensor logits = NodeLogits(input);
        Tensor? leak = null;
        if (_options.RegionLeak > 0)
        {
            using Scalar threshold = ((double)_options.RegionLeak).ToScalar();
            leak = rand(logits.shape, device: logits.device, generator: context.Generator).lt(threshold);
        }
        Tensor logRight = nn.functional.logsigmoid(logits), logLeft = nn.functional.logsigmoid(logits.neg());
        Tensor mixture = SoftMixture(logRight, logLeft, leak);
        // Bernoulli entropy -(p ln p + (1-p) ln(1-p)) with p = sigmoid(z), written with log-sigmoids: exact and stable
        // at any z, so no clamping is needed.
        Tensor entropy = logRight.exp().mul(logRight).add(logLeft.exp().mul(logLeft), AliveScalars.One).mean().neg();
        Tensor? penalty = null;
        if (hardening > 0)
        {
            using Scalar weight = hardening.ToScalar();
            penalty = entropy.mul(weight);
        }
        Tensor? balance = null;
        if (balancing > 0)
        {
            // Switch-style: N * sum_j f_j P_j with f_j the batch fraction hard-routed to leaf j (no gradient) and P_j the mean soft probability.
            Tensor routed = LeafIndicators(logits).mean(new long[] { 0 });
            using Scalar leaves = ((double)_leafCount).ToScalar();
            balance = routed.mul(mixture.mean(new long[] { 0 })).sum().mul(leaves);
            using Scalar weight = balancing.ToScalar();
            penalty = penalty is null ? balance.mul(weight) : penalty.add(balance, weight);
        }
        return new StepOutput(WithMaster(input, MixedLeaves(input, mixture)), penalty, entropy, balance);
    }

    /// <summary>Hardening and load-balancing weights for this epoch: the hardening schedule over the soft stage, balancing in its first part.</summary>
    private (double Hardening, double Balancing) PenaltyWeights(StepContext context)
    {
        double h = _options.HardeningWeight;
        bool firstPart = context.EpochInPhase < Math.Round(context.PhaseEpochs * (double)_options.LoadBalancingFraction);
        double hardening = _options.HardeningSchedule switch
        {
            FffHardeningSchedule.Constant => h,
            FffHardeningSchedule.Linear => h * (context.EpochInPhase + 1) / context.PhaseEpochs,
            _ => firstPart ? h / 3 : h,
        };
        return (hardening, firstPart ? _options.LoadBalancingWeight : 0);
    }

    /// <summary>Mixes in the master leaf: <c>k * fff + (1 - k) * master(x)</c>, <c>k = sigmoid(kappa)</c>; the FFF output alone without one.</summary>
    private Tensor WithMaster(Tensor input, Tensor fff)
    {
        if (master_mix is null)
            return fff;
        Tensor hidden = nn.functional.relu(NarrowProducts.Multiply(input, master_hidden_weight!).add(master_hidden_bias!, AliveScalars.One));
        Tensor master = NarrowProducts.Multiply(hidden, master_output_weight!).add(master_output_bias!, AliveScalars.One);
        Tensor k = sigmoid(master_mix);
        Tensor oneMinusK = sigmoid(master_mix.neg());
        return fff.mul(k).add(master.mul(oneMinusK), AliveScalars.One);
    }

    /// <summary>
    /// Batches whose hidden layer would hold at least this many values (rows x leaves x leaf width) compute each leaf on its own
    /// rows in hard fine-tuning (<see cref="LeafByLeaf"/>); smaller ones take the one-hot mixture, whose fewer libtorch calls
    /// cost less there. One libtorch thread, hard steps, mixture against leaf by leaf: batch 512 x 22 inputs, 4 leaves of 128
    /// (diamonds' shape) 2.5-3.3 ms against 1.2-1.4 ms; 1,024 x 12, 4 x 32 (fertility's) 0.80-0.83 against 0.60-0.95 ms; 512 x 16,
    /// 4 x 32 0.56-0.63 against 0.50-0.85 ms (docs/tabular.md, "Hard fine-tuning leaf by leaf").
    /// </summary>
    internal const long LeafByLeafMinHiddenValues = 131_072;

    /// <summary>Hard-descent forward: each row uses only the leaf it reaches (gradients reach that leaf and the master leaf only).</summary>
    public Tensor HardForward(Tensor input)
        => HardForward(input, leafByLeaf: _nodeCount > 0 && !input.is_sparse && input.shape[0] * _leafCount * _leafWidth >= LeafByLeafMinHiddenValues);

    /// <summary>Hard-descent forward, leaf by leaf or as the one-hot mixture (the same function; tests compare the two).</summary>
    internal Tensor HardForward(Tensor input, bool leafByLeaf)
    {
        if (leafByLeaf && _nodeCount > 0)
            return WithMaster(input, LeafByLeaf(input));
        // A one-hot mixture: the other leaves' hidden units are multiplied by zero, so they get no gradient, as with a gather.
        Tensor mixture = _nodeCount == 0 ? ones(input.shape[0], 1, device: input.device) : LeafIndicators(NodeLogits(input));
        return WithMaster(input, MixedLeaves(input, mixture));
    }

    /// <summary>
    /// The FFF output of hard descent computed leaf by leaf: the rows sorted by the leaf they reach (a stable sort, so the same
    /// batch always gives the same order), each leaf's rows through that leaf alone, and the outputs put back in row order. A
    /// row costs one leaf's units instead of every leaf's (a quarter at depth 2), in a few more libtorch calls. Dense rows only.
    /// </summary>
    private Tensor LeafByLeaf(Tensor input)
    {
        long rows = input.shape[0];
        Tensor leaves = HardLeaves(input);
        (_, Tensor order) = leaves.sort(stable: true);
        long[] counts = leaves.bincount(null, _leafCount).cpu().data<long>().ToArray();
        Tensor sorted = input.index_select(0, order);
        var outputs = new List<Tensor>(_leafCount);
        long start = 0;
        for (int leaf = 0; leaf < _leafCount; leaf++)
        {
            long count = counts[leaf];
            if (count == 0)
                continue;
            long first = (long)leaf * _leafWidth;
            Tensor hidden = nn.functional.relu(NarrowProducts.AddProduct(hidden_bias.narrow(0, first, _leafWidth), sorted.narrow(0, start, count), hidden_weight.narrow(1, first, _leafWidth)));
            outputs.Add(NarrowProducts.AddProduct(output_bias.select(0, leaf), hidden, output_weight.select(0, leaf)));
            start += count;
        }
        return zeros(rows, _outputs, device: input.device).index_copy(0, order, cat(outputs, 0));
    }

    /// <summary>The leaf index each row reaches by hard descent (go right when the node value is &gt;= 0).</summary>
    public Tensor HardLeaves(Tensor input)
    {
        using var noGrad = no_grad();
        if (_nodeCount == 0)
            return zeros(input.shape[0], dtype: ScalarType.Int64, device: input.device);
        return PathScores(NodeLogits(input)).argmax(1);
    }

    /// <summary>1 at the leaf each row reaches by hard descent, 0 elsewhere: <c>[B, L]</c>, no gradient.</summary>
    private Tensor LeafIndicators(Tensor logits)
    {
        using var noGrad = no_grad();
        Tensor scores = PathScores(logits);
        // The reached leaf scores exactly depth / 2 and every other leaf at most depth / 2 - 1 (PathTensors), so a
        // comparison with the midpoint picks it: one leaf per row, as argmax would.
        using Scalar midpoint = ((_depth - 1) / 2.0).ToScalar();
        return scores.gt(midpoint).to(ScalarType.Float32);
    }

    /// <summary>
    /// Every node's decision at once times the path turns (PathTensors): five libtorch calls instead of eight per level,
    /// and the same leaf (a NaN node value goes left, as before: NaN &gt;= 0 is false).
    /// </summary>
    private Tensor PathScores(Tensor logits) => logits.detach().ge(AliveScalars.Zero).to(ScalarType.Float32)
        .mm(_pathTurns!).add(_pathOffsets!, AliveScalars.One);

    private Tensor NodeLogits(Tensor input) => NarrowProducts.AddProduct(node_bias!, input, node_weight!);

    /// <summary>
    /// The leaves' outputs weighted by <paramref name="mixture"/> (<c>[B, L]</c>), summed: <c>[B, O]</c>. Scaling each leaf's
    /// hidden units by its weight first turns the mixture into one matrix product over all leaves' units (no per-leaf
    /// outputs, no transposed copies): about half the time per training step of computing every leaf's output and
    /// mixing those (docs/tabular.md "Training steps: freed memory and one product").
    /// </summary>
    private Tensor MixedLeaves(Tensor input, Tensor mixture)
    {
        long rows = input.shape[0];
        Tensor hidden = nn.functional.relu(NarrowProducts.AddProduct(hidden_bias, input, hidden_weight));
        Tensor weighted = hidden.view(rows, _leafCount, _leafWidth).mul(mixture.unsqueeze(2)).view(rows, (long)_leafCount * _leafWidth);
        return NarrowProducts.AddProduct(mixture.mm(output_bias), weighted, output_weight.view((long)_leafCount * _leafWidth, _outputs));
    }

    /// <summary>Path probabilities of every leaf (<c>[B, L]</c>) from the node values, without region leak.</summary>
    private Tensor SoftMixture(Tensor logits) => SoftMixture(nn.functional.logsigmoid(logits), nn.functional.logsigmoid(logits.neg()), leak: null);

    /// <summary>
    /// Path probabilities of every leaf: a node's right child gets <c>p = sigmoid(z)</c>, its left child <c>1 - p = sigmoid(-z)</c>,
    /// and a leaf the product along its path, computed as the exponential of the sum of log-sigmoids that one product with the
    /// constant path sides gives (six libtorch calls for any depth, where multiplying level by level took six per level).
    /// Region leak swaps a node's two children for the rows it marks.
    /// </summary>
    private Tensor SoftMixture(Tensor logRight, Tensor logLeft, Tensor? leak)
    {
        if (leak is not null)
            (logRight, logLeft) = (where(leak, logLeft, logRight), where(leak, logRight, logLeft));
        return cat(new[] { logRight, logLeft }, 1).mm(_pathSides!).exp();
    }

    /// <summary>Releases the routing constants with the parameters.</summary>
    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            _pathTurns?.Dispose();
            _pathOffsets?.Dispose();
            _pathSides?.Dispose();
        }
        base.Dispose(disposing);
    }

    private protected override IEnumerable<WeightBinding> Bindings(FeedForwardNetwork network)
    {
        var fff = (FastFeedForwardNetwork)network;
        if (_nodeCount > 0)
        {
            yield return new(node_weight!, fff.NodeWeights, InputMajor: true);
            yield return new(node_bias!, fff.NodeBiases);
        }
        yield return new(hidden_weight, fff.HiddenWeights, InputMajor: true);
        yield return new(hidden_bias, fff.HiddenBiases);
        yield return new(output_weight, fff.OutputWeights);
        yield return new(output_bias, fff.OutputBiases);
        if (master_mix is not null)
        {
            yield return new(master_hidden_weight!, fff.MasterHiddenWeights, InputMajor: true);
            yield return new(master_hidden_bias!, fff.MasterHiddenBiases);
            yield return new(master_output_weight!, fff.MasterOutputWeights);
            yield return new(master_output_bias!, fff.MasterOutputBiases);
            yield return new(master_mix, fff.MasterMix);
        }
    }
}
