using System;
using System.Collections.Generic;
using System.Linq;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Microsoft.ML.Fff.Training;

/// <summary>
/// Adam / AdamW (Kingma &amp; Ba; Loshchilov &amp; Hutter) written with explicit, alive scalars. TorchSharp's own optimizers
/// pass temporary <see cref="Scalar"/> objects to libtorch that the GC may finalize mid-call in optimized builds; a garbage
/// scalar then fails libtorch's checks at random. Every scalar here is a field or a <c>using</c> local.
/// </summary>
/// <remarks>
/// The parameters it optimizes become views of one flat buffer, and their gradients views of another (backward adds into an
/// existing gradient in place), so a step is eight libtorch calls whatever the number of parameter tensors: the default FFF's
/// optimizer step went from 91 to 31 µs of a 355 µs 64-row training step (docs/tabular.md "Adam on one buffer"). The
/// arithmetic per value is the same; only libtorch's vector kernels meet other tail elements, which can round
/// <c>addcdiv</c> differently in the last bit.
/// </remarks>
internal sealed class AdamOptimizer : IDisposable
{
    private const double Beta1 = 0.9, Beta2 = 0.999, Epsilon = 1e-8;

    private readonly Tensor _values;
    private readonly Tensor _gradients;
    private readonly Tensor _firstMoment;
    private readonly Tensor _secondMoment;
    private readonly FffOptimizer _kind;
    private readonly double _weightDecay;
    private readonly Scalar _beta1 = Beta1.ToScalar(), _beta2 = Beta2.ToScalar();
    private readonly Scalar _oneMinusBeta1 = (1 - Beta1).ToScalar(), _oneMinusBeta2 = (1 - Beta2).ToScalar();
    private readonly Scalar _epsilon = Epsilon.ToScalar();
    private long _step;

    public AdamOptimizer(IEnumerable<Parameter> parameters, FffOptimizer kind, double weightDecay)
    {
        Parameter[] all = parameters.ToArray();
        _kind = kind;
        _weightDecay = weightDecay;
        long total = all.Sum(p => p.numel());
        Device device = all.Length > 0 ? all[0].device : CPU;
        using (no_grad())
        {
            _values = zeros(total, device: device).DetachFromDisposeScope();
            _gradients = zeros(total, device: device).DetachFromDisposeScope();
            _firstMoment = zeros(total, device: device).DetachFromDisposeScope();
            _secondMoment = zeros(total, device: device).DetachFromDisposeScope();
            long offset = 0;
            foreach (Parameter p in all)
            {
                long count = p.numel();
                using (Tensor slot = _values.narrow(0, offset, count).view(p.shape))
                {
                    slot.copy_(p);
                    p.set_(slot);
                }
                using (Tensor gradient = _gradients.narrow(0, offset, count).view(p.shape))
                    p.grad = gradient;
                offset += count;
            }
        }
    }

    /// <summary>Learning rate of the next step.</summary>
    public double LearningRate { get; set; }

    public void ZeroGrad() => _gradients.zero_();

    public void Step()
    {
        _step++;
        double correction1 = 1 - Math.Pow(Beta1, _step);
        double correction2 = 1 - Math.Pow(Beta2, _step);
        using var noGrad = no_grad();
        using var scope = NewDisposeScope();
        using Scalar stepSize = (-LearningRate / correction1).ToScalar();
        using Scalar sqrtCorrection2 = Math.Sqrt(correction2).ToScalar();
        using Scalar decoupledDecay = (1 - LearningRate * _weightDecay).ToScalar();
        using Scalar l2 = _weightDecay.ToScalar();
        Tensor g = _gradients;
        if (_weightDecay > 0)
        {
            if (_kind == FffOptimizer.AdamW)
                _values.mul_(decoupledDecay);
            else
                g = _gradients.add(_values, l2);
        }
        _firstMoment.mul_(_beta1).add_(g, _oneMinusBeta1);
        _secondMoment.mul_(_beta2).addcmul_(g, g, _oneMinusBeta2);
        Tensor denominator = _secondMoment.sqrt().div_(sqrtCorrection2).add_(_epsilon, AliveScalars.One);
        _values.addcdiv_(_firstMoment, denominator, stepSize);
    }

    public void Dispose()
    {
        foreach (Tensor t in new[] { _values, _gradients, _firstMoment, _secondMoment })
            t.Dispose();
        foreach (Scalar s in new[] { _beta1, _beta2, _oneMinusBeta1, _oneMinusBeta2, _epsilon })
            s.Dispose();
    }
}
