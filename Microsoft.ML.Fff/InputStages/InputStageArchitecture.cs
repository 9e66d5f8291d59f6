using System;
using System.Collections.Generic;
using System.Linq;
using Microsoft.ML.Fff.Scoring;
using Microsoft.ML.Fff.Training;
using Microsoft.ML.Runtime;
using static TorchSharp.torch;

namespace Microsoft.ML.Fff.InputStages;

/// <summary>
/// Any architecture behind an input stage: the fixed map is fitted from the training data before training and applied by
/// the session to every batch (<see cref="MapInputRow"/>); the numeric embedding, if any, trains with the inner network in
/// its stages. The saved network is an <see cref="InputStageNetwork"/> that takes raw features.
/// </summary>
internal sealed class InputStageArchitecture : NetworkArchitecture
{
    private readonly NetworkArchitecture _inner;
    private readonly FeatureMap _map;
    private readonly NumericEmbeddingLayer? _layout;
    private readonly float _sigma;

    private InputStageArchitecture(NetworkArchitecture inner, FeatureMap map, NumericEmbeddingLayer? layout, float sigma)
    {
        _inner = inner;
        _map = map;
        _layout = layout;
        _sigma = sigma;
        Hooks = inner.Hooks;
    }

    /// <summary>
    /// <paramref name="architecture"/> behind the input stage the options ask for (<c>FeatureScaling</c> QuantileNormal or
    /// RobustSmoothClip, or a <c>NumericEmbedding</c>), fitted on <paramref name="train"/>; the architecture itself otherwise,
    /// so models without a stage are trained and saved exactly as before.
    /// </summary>
    public static NetworkArchitecture Wrap(IChannel ch, NetworkArchitecture architecture, FeedForwardOptionsBase options, TrainingData train, int seed)
    {
        bool robust = options.FeatureScaling is FffFeatureScaling.QuantileNormal or FffFeatureScaling.RobustSmoothClip;
        if (!robust && options.NumericEmbedding == FffNumericEmbedding.None)
            return Clamped(ch, architecture, options, train) ?? architecture;
        string option = robust ? $"FeatureScaling = {options.FeatureScaling}" : $"NumericEmbedding = {options.NumericEmbedding}";
        if (train.IsSparse && train.FeatureCount >= MaxSparseFeatures)
        {
            throw ch.Except($"{option} maps every feature of every row, but the feature column '{options.FeatureColumnName}' is sparse with "
                + $"{train.FeatureCount} slots (text?), which would densify it. Use FeatureScaling = Auto and NumericEmbedding = None for sparse features.");
        }
        if (!architecture.ScalesSparseFeatures)
            throw ch.Except($"{option} cannot be combined with a learned token embedding (EmbeddingDimension > 0); set one of them off.");
        var fit = new StageFitting(train, seed);
        FeatureMap map = options.FeatureScaling switch
        {
            FffFeatureScaling.QuantileNormal => fit.QuantileNormal(),
            FffFeatureScaling.RobustSmoothClip => fit.Robust(),
            FffFeatureScaling.Auto => fit.Standardize(),
            _ => FeatureMap.Identity(train.FeatureCount),
        };
        NumericEmbeddingLayer? layout = options.NumericEmbedding switch
        {
            FffNumericEmbedding.PiecewiseLinear => fit.PiecewiseLinear(map, options.NumericEmbeddingBins, options.NumericEmbeddingWidth),
            FffNumericEmbedding.Periodic => fit.Periodic(map, options.NumericEmbeddingFrequencies, options.NumericEmbeddingWidth),
            _ => null,
        };
        if (layout is not null && layout.Embedded.Length == 0)
        {
            ch.Warning($"{option}: no feature has more than two distinct training values, so none is embedded.");
            layout = null;
        }
        if (layout is not null && (long)layout.Embedded.Length * layout.Width > MaxStageOutputs)
        {
            throw new ArgumentOutOfRangeException(nameof(FeedForwardOptionsBase.NumericEmbeddingWidth), options.NumericEmbeddingWidth,
                $"Option NumericEmbeddingWidth {options.NumericEmbeddingWidth} with {layout.Embedded.Length} embedded features gives the network "
                + $"{(long)layout.Embedded.Length * layout.Width:N0} inputs, more than {MaxStageOutputs:N0}; lower NumericEmbeddingWidth.");
        }
        ch.Info($"Input stage: {map.Describe()}{(layout is null ? "" : $", {layout.Describe()}, {layout.Passed.Length} features passed through")} "
            + $"({fit.Rows} rows fitted).");
        return new InputStageArchitecture(architecture, map, layout, options.PeriodicSigma);
    }

    /// <summary>
    /// <paramref name="architecture"/> behind a stage that holds every measured slot to its training range
    /// (<see cref="FeedForwardOptionsBase.ClampToTrainingRange"/>), or null where that does not apply: the option off, images,
    /// wide sparse columns, a token embedding, or no measured slot. 0/1 indicator slots are left free (float.MinValue and
    /// float.MaxValue).
    /// </summary>
    private static InputStageArchitecture? Clamped(IChannel ch, NetworkArchitecture architecture, FeedForwardOptionsBase options, TrainingData train)
    {
        if (!options.ClampToTrainingRange || options.ImageHeight > 0 || !architecture.ScalesSparseFeatures
            || (train.IsSparse && train.FeatureCount >= MaxSparseFeatures))
            return null;
        int inputs = train.FeatureCount, clamped = 0;
        var lower = new float[inputs];
        var upper = new float[inputs];
        for (int j = 0; j < inputs; j++)
        {
            (lower[j], upper[j]) = (float.MinValue, float.MaxValue);
            if (!train.IsMeasured(j))
                continue;
            (lower[j], upper[j]) = train.FeatureRange(j);
            clamped++;
        }
        if (clamped == 0)
            return null;
        ch.Info($"Input stage: the {clamped} measured feature slot(s) of {inputs} are held to their training range when scored "
            + "(ClampToTrainingRange); rows inside it score as without the stage.");
        return new InputStageArchitecture(architecture, FeatureMap.Clamp(lower, upper), null, 0);
    }

    /// <summary>Most inputs an embedding may hand the inner network.</summary>
    private const int MaxStageOutputs = 1 << 20;

    /// <summary>Sparse feature columns at least this wide are rejected (they are text-like; the session sends them to torch as COO).</summary>
    private const int MaxSparseFeatures = 1024;

    public override string Name => _inner.Name;

    public override bool ScalesSparseFeatures => true;

    public override bool HasInputStage => true;

    /// <summary>Every map but the clamp gives the network its input scale; behind a clamp the session scales and folds as usual.</summary>
    public override bool StageScalesFeatures => _map.Kind != FeatureMapKind.Clamp;

    /// <summary>The fixed map, in place; the session applies it to every batch row (the scorer applies the same code).</summary>
    public override void MapInputRow(Span<float> row) => _map.Apply(row, row);

    public override IReadOnlyList<PhasePlan> PlanPhases(int numberOfEpochs) => _inner.PlanPhases(numberOfEpochs);

    /// <summary>
    /// The embedding's initialization (nn.Linear's U(±1/√fan-in) for the per-feature layers; frequencies N(0, σ²)), then the
    /// inner network's own on the stage's output width.
    /// </summary>
    public override FeedForwardNetwork CreateNetwork(int inputs, int outputs, Random random)
    {
        NumericEmbeddingLayer? layer = null;
        if (_layout is not null)
        {
            layer = new NumericEmbeddingLayer(_layout.Kind, inputs, _layout.Embedded, _layout.Width, _layout.Size,
                _layout.Kind == FffNumericEmbedding.PiecewiseLinear ? _layout.BinCounts : null);
            int fanIn = _layout.Kind == FffNumericEmbedding.PiecewiseLinear ? _layout.Size : 2 * _layout.Size;
            if (_layout.Kind == FffNumericEmbedding.PiecewiseLinear)
                _layout.First.CopyTo(layer.First, 0);
            else
                FillNormal(layer.First, _sigma, random);
            FillUniform(layer.Weights, 1 / MathF.Sqrt(fanIn), random);
            FillUniform(layer.Biases, 1 / MathF.Sqrt(fanIn), random);
            layer.Refresh();
        }
        FeedForwardNetwork inner = _inner.CreateNetwork(layer?.OutputCount ?? inputs, outputs, random);
        return new InputStageNetwork(_map, layer, inner);
    }

    public override FeedForwardModule CreateModule(int inputs, int outputs, Device device)
        => new InputStageModule(_layout, _inner.CreateModule(_layout?.OutputCount ?? inputs, outputs, device), device);
}
