using System;
using System.Collections.Generic;
using Microsoft.ML.Fff.Persistence;
using Microsoft.ML.Fff.Sweeps;
using Microsoft.ML.Fff.Training;
using Microsoft.ML.Runtime;

[assembly: NetworkPlugin(typeof(Microsoft.ML.Fff.FastFeedForward.FastFeedForwardFamily))]

namespace Microsoft.ML.Fff.FastFeedForward;

/// <summary>
/// Trains a fast feedforward network (FFF) for binary classification. The model scores by hard descent in pure C#:
/// <c>Depth + LeafWidth</c> neurons per row. Outputs Score (logit), Probability and PredictedLabel.
/// </summary>
public sealed class FastFeedForwardBinaryTrainer : FeedForwardBinaryTrainerBase<FastFeedForwardBinaryTrainer.Options>
{
    internal const string LoadName = "FastFeedForwardBinary";

    /// <summary>Options of <see cref="FastFeedForwardBinaryTrainer"/>; the label is a Boolean column.</summary>
    public sealed class Options : FastFeedForwardOptionsBase
    {
    }

    internal FastFeedForwardBinaryTrainer(IHostEnvironment env, Options options) : base(env, LoadName, options)
    {
    }

    private protected override NetworkArchitecture CreateArchitecture(Options options) => FastFeedForwardArchitecture.Create(options);
}

/// <summary>
/// Trains a fast feedforward network (FFF) for multiclass classification. The label must be a key column
/// (<c>MapValueToKey</c>). Outputs Score (class probabilities) and PredictedLabel.
/// </summary>
public sealed class FastFeedForwardMulticlassTrainer : FeedForwardMulticlassTrainerBase<FastFeedForwardMulticlassTrainer.Options>
{
    internal const string LoadName = "FastFeedForwardMulticlass";

    /// <summary>Options of <see cref="FastFeedForwardMulticlassTrainer"/>; the label is a key column.</summary>
    public sealed class Options : FastFeedForwardOptionsBase
    {
    }

    internal FastFeedForwardMulticlassTrainer(IHostEnvironment env, Options options) : base(env, LoadName, options)
    {
    }

    private protected override NetworkArchitecture CreateArchitecture(Options options) => FastFeedForwardArchitecture.Create(options);
}

/// <summary>Trains a fast feedforward network (FFF) for regression. The label is a Single column; outputs Score.</summary>
public sealed class FastFeedForwardRegressionTrainer : FeedForwardRegressionTrainerBase<FastFeedForwardRegressionTrainer.Options>
{
    internal const string LoadName = "FastFeedForwardRegression";

    /// <summary>Options of <see cref="FastFeedForwardRegressionTrainer"/>; the label is a Single column (standardized internally).</summary>
    public sealed class Options : FastFeedForwardOptionsBase
    {
    }

    internal FastFeedForwardRegressionTrainer(IHostEnvironment env, Options options) : base(env, LoadName, options)
    {
    }

    private protected override NetworkArchitecture CreateArchitecture(Options options) => FastFeedForwardArchitecture.Create(options);
}

/// <summary>The FastFeedForward trainers in sweeps: depth, leaf width, master-leaf width and ensemble size.</summary>
internal sealed class FastFeedForwardFamily : TrainerFamily
{
    public override FffArchitecture Architecture => FffArchitecture.FastFeedForward;

    public override int Order => 0;

    public override void Validate(FffSearchSpace space)
    {
        FffSearchSpace.CheckChoices(space.Depths, nameof(space.Depths), 0, FffDefaults.MaxDepth);
        FffSearchSpace.CheckChoices(space.LeafWidths, nameof(space.LeafWidths), 1, FffDefaults.MaxLeafWidth);
        FffSearchSpace.CheckChoices(space.MasterLeafWidths, nameof(space.MasterLeafWidths), 0, FffDefaults.MaxLeafWidth);
        FffSearchSpace.CheckChoices(space.EnsembleSizes, nameof(space.EnsembleSizes), 1, LeafTreeEnsembleNetwork.MaxTrainedMembers);
    }

    public override FffTrialConfiguration Draw(FffSearchSpace space, Random random, int epochs, int batchSize, float learningRate, int seed)
        => new(Architecture, epochs, batchSize, learningRate, seed)
        {
            Depth = Pick(space.Depths, random),
            LeafWidth = Pick(space.LeafWidths, random),
            MasterLeafWidth = Pick(space.MasterLeafWidths, random),
            // A single choice draws nothing, so search spaces without ensembles sample exactly as before.
            EnsembleSize = space.EnsembleSizes.Count == 1 ? space.EnsembleSizes[0] : Pick(space.EnsembleSizes, random),
        };

    public override int NeuronsPerRow(FffTrialConfiguration c) => c.EnsembleSize * (c.Depth + c.LeafWidth + c.MasterLeafWidth);

    public override string Shape(FffTrialConfiguration c)
        => (c.EnsembleSize > 1 ? $"FFF {c.EnsembleSize} trees x depth {c.Depth}" : $"FFF depth {c.Depth}") + $" x leaf {c.LeafWidth}"
            + (c.MasterLeafWidth > 0 ? $" + master {c.MasterLeafWidth}" : "");

    public override NetworkArchitecture DefaultArchitecture() => FastFeedForwardArchitecture.Create(new FastFeedForwardRegressionTrainer.Options());

    public override (ITransformer Predictor, object Model) Fit(IHostEnvironment env, FffTask task, FffTrialConfiguration c,
        Action<FeedForwardOptionsBase> shared, IDataView train, IDataView valid) => task switch
        {
            FffTask.MulticlassClassification => FitWith(new FastFeedForwardMulticlassTrainer(env, Fill(new FastFeedForwardMulticlassTrainer.Options(), c, shared)), train, valid),
            FffTask.BinaryClassification => FitWith(new FastFeedForwardBinaryTrainer(env, Fill(new FastFeedForwardBinaryTrainer.Options(), c, shared)), train, valid),
            _ => FitWith(new FastFeedForwardRegressionTrainer(env, Fill(new FastFeedForwardRegressionTrainer.Options(), c, shared)), train, valid),
        };

    private static T Fill<T>(T o, FffTrialConfiguration c, Action<FeedForwardOptionsBase> shared) where T : FastFeedForwardOptionsBase
    {
        o.Depth = c.Depth;
        o.LeafWidth = c.LeafWidth;
        o.MasterLeafWidth = c.MasterLeafWidth;
        o.EnsembleSize = c.EnsembleSize;
        return Shared(o, shared);
    }

    private static int Pick(IReadOnlyList<int> choices, Random random) => choices[random.Next(choices.Count)];
}
