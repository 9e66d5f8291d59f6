using System.Collections.Generic;
using Microsoft.ML.Fff.Scoring;
using Microsoft.ML.Fff.Training;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Microsoft.ML.Fff.Dense;

/// <summary>
/// The trainable dense MLP on TorchSharp. Internal: nothing native outlives training (weights are copied into a
/// <see cref="DenseNetwork"/>).
/// </summary>
/// <remarks>
/// Weights are stored input-major (<c>[F_l, H_l]</c>) so one matrix product serves dense and sparse (COO) batches alike.
/// <see cref="forward"/> is the function the C# scorer computes; <see cref="TrainingForward"/> adds inverted dropout after
/// every hidden layer, drawn from the session's seeded generator (torch's own dropout uses the global generator, which
/// would make training irreproducible).
/// </remarks>
internal sealed class DenseModule : FeedForwardModule
{
    private readonly int[] _widths;
    private readonly int _outputs;
    private readonly DenseActivation _activation;
    private readonly Parameter[] _hiddenWeights;
    private readonly Parameter[] _hiddenBiases;
    private readonly Parameter _outputWeight;
    private readonly Parameter _outputBias;

    // Every scalar passed to libtorch is kept alive explicitly (see AliveScalars): no operator + or - on tensors here.
    private readonly Scalar? _dropoutRate;
    private readonly Scalar? _keepScale;

    public DenseModule(int inputs, int outputs, IReadOnlyList<int> widths, DenseActivation activation, float dropoutRate, Device device)
        : base("DenseFeedForward")
    {
        _widths = new int[widths.Count];
        for (int l = 0; l < _widths.Length; l++)
            _widths[l] = widths[l];
        _outputs = outputs;
        _activation = activation;
        _hiddenWeights = new Parameter[_widths.Length];
        _hiddenBiases = new Parameter[_widths.Length];
        int fanIn = inputs;
        for (int l = 0; l < _widths.Length; l++)
        {
            _hiddenWeights[l] = nn.Parameter(zeros(fanIn, _widths[l], device: device));
            _hiddenBiases[l] = nn.Parameter(zeros(_widths[l], device: device));
            register_parameter($"hidden{l}_weight", _hiddenWeights[l]);
            register_parameter($"hidden{l}_bias", _hiddenBiases[l]);
            fanIn = _widths[l];
        }
        _outputWeight = nn.Parameter(zeros(fanIn, outputs, device: device));
        _outputBias = nn.Parameter(zeros(outputs, device: device));
        register_parameter("output_weight", _outputWeight);
        register_parameter("output_bias", _outputBias);
        if (dropoutRate > 0)
        {
            _dropoutRate = ((double)dropoutRate).ToScalar();
            _keepScale = (1.0 / (1.0 - dropoutRate)).ToScalar();
        }
    }

    /// <summary>The scoring function (no dropout).</summary>
    public override Tensor forward(Tensor input)
    {
        using var scope = NewDisposeScope();
        return Forward(input, null).MoveToOuterDisposeScope();
    }

    /// <summary>The scoring function with dropout after every hidden layer (when the rate is above 0).</summary>
    public override StepOutput TrainingForward(Tensor input, StepContext context)
        => new(Forward(input, _dropoutRate is null ? null : context.Generator));

    private Tensor Forward(Tensor input, Generator? dropout)
    {
        Tensor hidden = input;
        for (int l = 0; l < _widths.Length; l++)
        {
            hidden = Activate(NarrowProducts.Multiply(hidden, _hiddenWeights[l]).add(_hiddenBiases[l], AliveScalars.One));
            if (dropout is not null)
            {
                Tensor keep = rand(hidden.shape, device: hidden.device, generator: dropout).ge(_dropoutRate!).to(ScalarType.Float32);
                hidden = hidden.mul(keep).mul(_keepScale!);
            }
        }
        return NarrowProducts.Multiply(hidden, _outputWeight).add(_outputBias, AliveScalars.One);
    }

    private Tensor Activate(Tensor z) => _activation switch
    {
        DenseActivation.Tanh => z.tanh(),
        DenseActivation.Gelu => nn.functional.gelu(z, GELU.Approximate.tanh, false),
        _ => nn.functional.relu(z),
    };

    /// <summary>Releases the cached scalars with the parameters.</summary>
    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            _dropoutRate?.Dispose();
            _keepScale?.Dispose();
        }
        base.Dispose(disposing);
    }

    private protected override IEnumerable<WeightBinding> Bindings(FeedForwardNetwork network)
    {
        var dense = (DenseNetwork)network;
        for (int l = 0; l < _widths.Length; l++)
        {
            yield return new(_hiddenWeights[l], dense.HiddenWeights[l], InputMajor: true);
            yield return new(_hiddenBiases[l], dense.HiddenBiases[l]);
        }
        yield return new(_outputWeight, dense.OutputWeights, InputMajor: true);
        yield return new(_outputBias, dense.OutputBiases);
    }
}
