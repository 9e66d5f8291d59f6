using System;
using System.Collections.Generic;
using System.Linq;
using Microsoft.ML.Fff.Scoring;
using Microsoft.ML.Fff.Training;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Microsoft.ML.Fff.InputStages;

/// <summary>
/// The trainable side of an input stage on TorchSharp. Its input is the batch after the fixed map (applied in C# by the
/// session, <see cref="InputStageArchitecture.MapInputRow"/>); it computes the numeric embedding, if any, exactly as
/// <see cref="NumericEmbeddingLayer"/> scores it, and hands the result to the inner network's own module, which does
/// everything else (stages, penalties).
/// </summary>
internal sealed class InputStageModule : FeedForwardModule
{
    // Every scalar passed to libtorch is kept alive explicitly (see AliveScalars): a temporary one, such as the implicit alpha
    // of add/sub or clamp's bounds, could be finalized while libtorch reads it (seen on spam with PLE after 80 epochs).
    private static readonly Scalar TwoPi = (2 * Math.PI).ToScalar();

    private readonly FeedForwardModule inner;
    private readonly Parameter? first;
    private readonly Parameter? weights;
    private readonly Parameter? biases;
    private readonly Tensor? embeddedIndex;
    private readonly Tensor? passedIndex;
    private readonly Tensor? lower;
    private readonly Tensor? binWidth;
    private readonly Tensor? binMask;
    private readonly bool _piecewise;
    private readonly int _embedded;
    private readonly int _width;

    /// <summary>A module for <paramref name="layout"/>'s shape (its values are imported later); no embedding when null.</summary>
    public InputStageModule(NumericEmbeddingLayer? layout, FeedForwardModule inner, Device device) : base("InputStage")
    {
        this.inner = inner;
        if (layout is not null)
        {
            int e = layout.Embedded.Length, t = layout.Size, d = layout.Width;
            _piecewise = layout.Kind == FffNumericEmbedding.PiecewiseLinear;
            _embedded = e;
            _width = d;
            // The bin edges are fixed (from the training quantiles): buffers, not parameters.
            first = _piecewise ? null : nn.Parameter(zeros(e, t, device: device));
            weights = nn.Parameter(zeros(e, _piecewise ? t : 2 * t, d, device: device));
            biases = nn.Parameter(zeros(e, 1, d, device: device));
            embeddedIndex = tensor(layout.Embedded.Select(i => (long)i).ToArray(), device: device);
            passedIndex = layout.Passed.Length > 0 ? tensor(layout.Passed.Select(i => (long)i).ToArray(), device: device) : null;
            if (_piecewise)
                (lower, binWidth, binMask) = BinTensors(layout, device);
        }
        RegisterComponents();
    }

    /// <summary>Lower edges, widths and a 0/1 mask of the real bins, each <c>[E, T]</c> (padding bins: width 1, mask 0).</summary>
    private static (Tensor Lower, Tensor Width, Tensor Mask) BinTensors(NumericEmbeddingLayer layout, Device device)
    {
        int e = layout.Embedded.Length, t = layout.Size;
        var low = new float[e * t];
        var width = new float[e * t];
        var mask = new float[e * t];
        for (int f = 0; f < e; f++)
        {
            ReadOnlySpan<float> edges = layout.First.AsSpan(f * (t + 1), t + 1);
            for (int k = 0; k < t; k++)
            {
                bool real = k < layout.BinCounts[f];
                low[f * t + k] = edges[k];
                width[f * t + k] = real ? edges[k + 1] - edges[k] : 1;
                mask[f * t + k] = real ? 1 : 0;
            }
        }
        return (tensor(low, new long[] { e, t }, device: device), tensor(width, new long[] { e, t }, device: device), tensor(mask, new long[] { e, t }, device: device));
    }

    /// <summary>The inner network's input: embedded blocks <c>[B, E*d]</c> in feature order, then the passed-through features.</summary>
    public Tensor Embed(Tensor x)
    {
        if (weights is null)
            return x;
        Tensor values = x.index_select(1, embeddedIndex!).unsqueeze(2);               // [B, E, 1]
        Tensor encoded = _piecewise
            ? values.add(lower!, AliveScalars.MinusOne).div(binWidth!).clamp(AliveScalars.Zero, AliveScalars.One).mul(binMask!) // [B, E, T]
            : Periodic(values);                                                       // [B, E, 2k]
        // Per feature: [E, B, T'] x [E, T', d] -> [E, B, d], plus the bias, ReLU.
        Tensor embedded = encoded.transpose(0, 1).bmm(weights).add(biases!, AliveScalars.One).relu().transpose(0, 1).reshape(x.shape[0], (long)_embedded * _width);
        return passedIndex is null ? embedded : cat(new[] { embedded, x.index_select(1, passedIndex) }, 1);
    }

    private Tensor Periodic(Tensor values)
    {
        Tensor angles = values.mul(first!).mul(TwoPi);
        return cat(new[] { angles.sin(), angles.cos() }, 2);
    }

    public override Tensor forward(Tensor input)
    {
        using var scope = NewDisposeScope();
        return inner.forward(Embed(input)).MoveToOuterDisposeScope();
    }

    public override StepOutput TrainingForward(Tensor input, StepContext context) => inner.TrainingForward(Embed(input), context);

    /// <summary>
    /// The inner network's independent members when the stage has no embedding: it then hands the rows on unchanged in training (the
    /// clamp of <c>ClampToTrainingRange</c> applies when scoring), so an inner ensemble's trees can still train side by side. Trees
    /// behind an embedding share its parameters and are not independent.
    /// </summary>
    public override IReadOnlyList<FeedForwardModule>? IndependentMembers => weights is null ? inner.IndependentMembers : null;

    /// <summary>
    /// The embedding trains with the inner network, except in the FFF's hard fine-tune stage, which freezes routing: a
    /// changing embedding would move every row's route, since the nodes see it.
    /// </summary>
    public override IEnumerable<Parameter> ParametersFor(PhasePlan phase)
    {
        IEnumerable<Parameter> own = phase.Phase == FffTrainingPhase.HardFineTune
            ? Array.Empty<Parameter>()
            : new[] { first, weights, biases }.OfType<Parameter>();
        return own.Concat(inner.ParametersFor(phase));
    }

    private protected override IEnumerable<WeightBinding> Bindings(FeedForwardNetwork network)
    {
        NumericEmbeddingLayer? layer = ((InputStageNetwork)network).Embedding;
        if (layer is null || weights is null)
            yield break;
        if (first is not null)
            yield return new WeightBinding(first, layer.First);
        yield return new WeightBinding(weights, layer.Weights);
        yield return new WeightBinding(biases!, layer.Biases);
    }

    /// <summary>The embedding, then the inner network's weights.</summary>
    public override void Import(FeedForwardNetwork network)
    {
        base.Import(network);
        inner.Import(((InputStageNetwork)network).Inner);
    }

    /// <summary>The embedding (and its derived tables), then the inner network's weights.</summary>
    public override void Export(FeedForwardNetwork network)
    {
        base.Export(network);
        ((InputStageNetwork)network).Embedding?.Refresh();
        inner.Export(((InputStageNetwork)network).Inner);
    }
}
