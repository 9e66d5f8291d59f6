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
internal sealed class AdamOptimizer : IDisposable
{
    private const double Beta1 = 0.9, Beta2 = 0.999, Epsilon = 1e-8;

    private readonly Parameter[] _parameters;
    private readonly Tensor[] _firstMoments;
    private readonly Tensor[] _secondMoments;
    private readonly FffOptimizer _kind;
    private readonly double _weightDecay;
    private readonly Scalar _beta1 = Beta1.ToScalar(), _beta2 = Beta2.ToScalar();
    private readonly Scalar _oneMinusBeta1 = (1 - Beta1).ToScalar(), _oneMinusBeta2 = (1 - Beta2).ToScalar();
    private readonly Scalar _epsilon = Epsilon.ToScalar();
    private long _step;

    public AdamOptimizer(IEnumerable<Parameter> parameters, FffOptimizer kind, double weightDecay)
    {
        _parameters = parameters.ToArray();
        _kind = kind;
        _weightDecay = weightDecay;
        using (no_grad())
        {
            _firstMoments = _parameters.Select(p => zeros_like(p).DetachFromDisposeScope()).ToArray();
            _secondMoments = _parameters.Select(p => zeros_like(p).DetachFromDisposeScope()).ToArray();
        }
    }

    /// <summary>Learning rate of the next step.</summary>
    public double LearningRate { get; set; }

    public void ZeroGrad()
    {
        foreach (Parameter p in _parameters)
            p.grad?.zero_();
    }

    public void Step()
    {
        _step++;
        double correction1 = 1 - Math.Pow(Beta1, _step);
        double correction2 = 1 - Math.Pow(Beta2, _step);
        using var noGrad = no_grad();
        using Scalar stepSize = (-LearningRate / correction1).ToScalar();
        using Scalar sqrtCorrection2 = Math.Sqrt(correction2).ToScalar();
        using Scalar decoupledDecay = (1 - LearningRate * _weightDecay).ToScalar();
        using Scalar l2 = _weightDecay.ToScalar();
        for (int i = 0; i < _parameters.Length; i++)
        {
            Tensor? grad = _parameters[i].grad;
            if (grad is null)
                continue;
            using var scope = NewDisposeScope();
            Tensor g = grad;
            if (_weightDecay > 0)
            {
                if (_kind == FffOptimizer.AdamW)
                    _parameters[i].mul_(decoupledDecay);
                else
                    g = grad.add(_parameters[i], l2);
            }
            _firstMoments[i].mul_(_beta1).add_(g, _oneMinusBeta1);
            _secondMoments[i].mul_(_beta2).addcmul_(g, g, _oneMinusBeta2);
            Tensor denominator = _secondMoments[i].sqrt().div_(sqrtCorrection2).add_(_epsilon, AliveScalars.One);
            _parameters[i].addcdiv_(_firstMoments[i], denominator, stepSize);
        }
    }

    public void Dispose()
    {
        foreach (Tensor t in _firstMoments.Concat(_secondMoments))
            t.Dispose();
        foreach (Scalar s in new[] { _beta1, _beta2, _oneMinusBeta1, _oneMinusBeta2, _epsilon })
            s.Dispose();
    }
}
