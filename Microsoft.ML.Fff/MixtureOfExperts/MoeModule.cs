using System.Collections.Generic;
using Microsoft.ML.Fff.Scoring;
using Microsoft.ML.Fff.Training;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Microsoft.ML.Fff.MixtureOfExperts;

/// <summary>
/// The trainable mixture of experts on TorchSharp. Every expert is computed densely for every row (fine at the sizes this
/// library trains) and masked by the top-k gate weights, which gives exactly the function the C# scorer computes from the
/// k chosen experts only.
/// </summary>
/// <remarks>
/// Gate and hidden weights are input-major (<c>[I, E]</c>, <c>[I, E*G]</c>) so one matrix product serves dense and sparse
/// (COO) batches alike. The noise weights of noisy top-k softmax gating are training-only: they are not part of the
/// exported network. Ties in <c>topk</c> are not ordered by torch; the C# scorer breaks them by the lower expert index.
/// </remarks>
internal sealed class MoeModule : FeedForwardModule
{
    private readonly int _experts;
    private readonly int _width;
    private readonly int _topK;
    private readonly int _outputs;
    private readonly MixtureOfExpertsOptionsBase _options;

    // Every scalar passed to libtorch is kept alive explicitly (see AliveScalars): no operator + or - on tensors here.
    private readonly Scalar _expertCount;
    private readonly Scalar _inverseTopK;
    private readonly Scalar _dropout;
    private readonly Scalar _minusInfinity;
    private readonly Scalar _tiny;
    private readonly Scalar _balanceWeight;
    private readonly Scalar _entropyWeight;

    private readonly Parameter gate_weight;
    private readonly Parameter gate_bias;
    private readonly Parameter? noise_weight;
    private readonly Parameter hidden_weight;
    private readonly Parameter hidden_bias;
    private readonly Parameter output_weight;
    private readonly Parameter output_bias;

    public MoeModule(int inputs, int outputs, MixtureOfExpertsOptionsBase options, Device device) : base("MixtureOfExperts")
    {
        _options = options;
        _experts = options.NumberOfExperts;
        _width = options.ExpertWidth;
        _topK = options.TopK;
        _outputs = outputs;
        _expertCount = ((double)_experts).ToScalar();
        _inverseTopK = (1.0 / _topK).ToScalar();
        _dropout = ((double)options.ExpertDropout).ToScalar();
        _minusInfinity = float.NegativeInfinity.ToScalar();
        _tiny = 1e-12f.ToScalar();
        _balanceWeight = ((double)options.BalanceWeight).ToScalar();
        _entropyWeight = ((double)options.SelectionEntropyWeight).ToScalar();
        gate_weight = nn.Parameter(zeros(inputs, _experts, device: device));
        gate_bias = nn.Parameter(zeros(_experts, device: device));
        // Zero noise weights start the noise at softplus(0) = ln 2 (Shazeer et al.); the same every run, no randomness needed.
        if (options.Gating == MoeGating.SoftmaxTopK && options.NoisyGating)
            noise_weight = nn.Parameter(zeros(inputs, _experts, device: device));
        hidden_weight = nn.Parameter(zeros(inputs, _experts * _width, device: device));
        hidden_bias = nn.Parameter(zeros(_experts * _width, device: device));
        output_weight = nn.Parameter(zeros(_experts * _width, outputs, device: device));
        output_bias = nn.Parameter(zeros(outputs, device: device));
        RegisterComponents();
    }

    /// <summary>The scoring function: clean gate logits, top-k, weights, the chosen experts (no noise, no dropout).</summary>
    public override Tensor forward(Tensor input)
    {
        using var scope = NewDisposeScope();
        Tensor logits = GateLogits(input);
        (Tensor values, Tensor indices) = logits.topk(_topK, 1);
        return Combine(input, Gates(logits, values, indices)).MoveToOuterDisposeScope();
    }

    /// <summary>Noisy gating and the balance loss (top-k softmax), or expert dropout and the entropy regulariser (sigma).</summary>
    public override StepOutput TrainingForward(Tensor input, StepContext context)
    {
        Tensor clean = GateLogits(input);
        long rows = input.shape[0];
        if (_options.Gating == MoeGating.Sigma)
        {
            Tensor routing = clean;
            if (_options.ExpertDropout > 0)
            {
                Tensor drop = rand(new long[] { rows, _experts }, device: input.device, generator: context.Generator).lt(_dropout);
                routing = clean.masked_fill(drop, _minusInfinity);
            }
            // A dropped expert that still makes the top k (fewer than k left) has logit -inf: weight sigmoid(-inf) = 0.
            (Tensor values, Tensor indices) = routing.topk(_topK, 1);
            Tensor output = Combine(input, Gates(routing, values, indices));
            Tensor entropy = MeanSelectionEntropy(clean);
            Tensor? penalty = _options.SelectionEntropyWeight > 0 ? entropy.neg().mul(_entropyWeight) : null;
            return new StepOutput(output, penalty, entropy.detach());
        }

        Tensor logits = clean;
        if (noise_weight is not null)
        {
            Tensor z = NarrowProducts.Multiply(input, noise_weight);
            // softplus(z) = relu(z) + log1p(exp(-|z|)): stable at any z and free of hidden scalars.
            Tensor noiseScale = nn.functional.relu(z).add(z.abs().neg().exp().log1p(), AliveScalars.One);
            Tensor noise = randn(new long[] { rows, _experts }, device: input.device, generator: context.Generator);
            logits = clean.add(noise * noiseScale, AliveScalars.One);
        }
        (Tensor kept, Tensor chosen) = logits.topk(_topK, 1);
        Tensor result = Combine(input, Gates(logits, kept, chosen));
        // Switch-style balance: E * sum_e f_e P_e, f_e the fraction of the batch's k choices per row that go to e (no
        // gradient), P_e the batch mean of the full softmax over the (noisy) gate logits.
        Tensor fraction;
        using (no_grad())
        {
            Tensor share = ones(rows, _topK, device: input.device).mul(_inverseTopK);
            fraction = zeros(rows, _experts, device: input.device).scatter(1, chosen, share).mean(new long[] { 0 });
        }
        Tensor probability = logits.softmax(1).mean(new long[] { 0 });
        Tensor balance = fraction.mul(probability).sum().mul(_expertCount);
        Tensor? balancePenalty = _options.BalanceWeight > 0 ? balance.mul(_balanceWeight) : null;
        return new StepOutput(result, balancePenalty, MeanSelectionEntropy(logits).detach(), balance.detach());
    }

    /// <summary>The experts the scoring function picks for each row, <c>[B, k]</c>, best first (tie order as torch gives it).</summary>
    public Tensor SelectedExperts(Tensor input)
    {
        using var noGrad = no_grad();
        using var scope = NewDisposeScope();
        return GateLogits(input).topk(_topK, 1).indexes.MoveToOuterDisposeScope();
    }

    private Tensor GateLogits(Tensor input) => NarrowProducts.Multiply(input, gate_weight).add(gate_bias, AliveScalars.One);

    /// <summary>
    /// The dense <c>[B, E]</c> gate-weight matrix: zero outside each row's top k; inside, the softmax over the k kept logits
    /// or their sigmoid.
    /// </summary>
    private Tensor Gates(Tensor logits, Tensor values, Tensor indices)
    {
        Tensor weights = _options.Gating == MoeGating.Sigma ? sigmoid(values) : values.softmax(1);
        return zeros_like(logits).scatter(1, indices, weights);
    }

    /// <summary><c>b_out + sum_e gate_e * ReLU(x K_e + b_e) V_e</c>, every expert computed and masked by its gate weight.</summary>
    private Tensor Combine(Tensor input, Tensor gates)
    {
        long rows = input.shape[0];
        Tensor hidden = nn.functional.relu(NarrowProducts.Multiply(input, hidden_weight).add(hidden_bias, AliveScalars.One)).view(rows, _experts, _width);
        Tensor weighted = (hidden * gates.unsqueeze(2)).view(rows, _experts * _width);
        return NarrowProducts.Multiply(weighted, output_weight).add(output_bias, AliveScalars.One);
    }

    /// <summary>Entropy of the batch-mean softmax over the gate logits (ln E when the average selection is uniform).</summary>
    private Tensor MeanSelectionEntropy(Tensor logits)
    {
        Tensor mean = logits.softmax(1).mean(new long[] { 0 });
        return (mean * mean.clamp_min(_tiny).log()).sum().neg();
    }

    /// <summary>Releases the cached scalars with the parameters.</summary>
    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            _expertCount.Dispose();
            _inverseTopK.Dispose();
            _dropout.Dispose();
            _minusInfinity.Dispose();
            _tiny.Dispose();
            _balanceWeight.Dispose();
            _entropyWeight.Dispose();
        }
        base.Dispose(disposing);
    }

    /// <summary>The exported weights; the noise weights are training-only and kept.</summary>
    private protected override IEnumerable<WeightBinding> Bindings(FeedForwardNetwork network)
    {
        var moe = (MoeNetwork)network;
        yield return new(gate_weight, moe.GateWeights, InputMajor: true);
        yield return new(gate_bias, moe.GateBiases);
        yield return new(hidden_weight, moe.HiddenWeights, InputMajor: true);
        yield return new(hidden_bias, moe.HiddenBiases);
        yield return new(output_weight, moe.OutputWeights);
        yield return new(output_bias, moe.OutputBias);
    }
}
