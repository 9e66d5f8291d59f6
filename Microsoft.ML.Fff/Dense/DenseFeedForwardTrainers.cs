using System;
using System.Linq;
using Microsoft.ML.Fff.Persistence;
using Microsoft.ML.Fff.Sweeps;
using Microsoft.ML.Fff.Training;
using Microsoft.ML.Runtime;

[assembly: NetworkPlugin(typeof(Microsoft.ML.Fff.Dense.DenseFeedForwardFamily))]

namespace Microsoft.ML.Fff.Dense;

/// <summary>
/// Trains a dense multi-layer perceptron for binary classification. The model scores in pure C# (every hidden neuron for
/// every row, batches by a blocked matrix multiply). Outputs Score (logit), Probability and PredictedLabel.
/// </summary>
public sealed class DenseFeedForwardBinaryTrainer : FeedForwardBinaryTrainerBase<DenseFeedForwardBinaryTrainer.Options>
{
    internal const string LoadName = "DenseFeedForwardBinary";

    /// <summary>Options of <see cref="DenseFeedForwardBinaryTrainer"/>; the label is a Boolean column.</summary>
    public sealed class Options : DenseFeedForwardOptionsBase
    {
    }

    internal DenseFeedForwardBinaryTrainer(IHostEnvironment env, Options options) : base(env, LoadName, options)
    {
    }

    private protected override NetworkArchitecture CreateArchitecture(Options options) => new DenseArchitecture(options);
}

/// <summary>
/// Trains a dense multi-layer perceptron for multiclass classification. The label must be a key column
/// (<c>MapValueToKey</c>). Outputs Score (class probabilities) and PredictedLabel.
/// </summary>
public sealed class DenseFeedForwardMulticlassTrainer : FeedForwardMulticlassTrainerBase<DenseFeedForwardMulticlassTrainer.Options>
{
    internal const string LoadName = "DenseFeedForwardMulticlass";

    /// <summary>Options of <see cref="DenseFeedForwardMulticlassTrainer"/>; the label is a key column.</summary>
    public sealed class Options : DenseFeedForwardOptionsBase
    {
    }

    internal DenseFeedForwardMulticlassTrainer(IHostEnvironment env, Options options) : base(env, LoadName, options)
    {
    }

    private protected override NetworkArchitecture CreateArchitecture(Options options) => new DenseArchitecture(options);
}

/// <summary>Trains a dense multi-layer perceptron for regression. The label is a Single column; outputs Score.</summary>
public sealed class DenseFeedForwardRegressionTrainer : FeedForwardRegressionTrainerBase<DenseFeedForwardRegressionTrainer.Options>
{
    internal const string LoadName = "DenseFeedForwardRegression";

    /// <summary>Options of <see cref="DenseFeedForwardRegressionTrainer"/>; the label is a Single column (standardized internally).</summary>
    public sealed class Options : DenseFeedForwardOptionsBase
    {
    }

    internal DenseFeedForwardRegressionTrainer(IHostEnvironment env, Options options) : base(env, LoadName, options)
    {
    }

    private protected override NetworkArchitecture CreateArchitecture(Options options) => new DenseArchitecture(options);
}

/// <summary>The DenseFeedForward trainers in sweeps: the hidden-layer widths.</summary>
internal sealed class DenseFeedForwardFamily : TrainerFamily
{
    public override FffArchitecture Architecture => FffArchitecture.Dense;

    public override int Order => 2;

    public override void Validate(FffSearchSpace space)
    {
        if (space.DenseHiddenLayerWidths is null || space.DenseHiddenLayerWidths.Count == 0)
            throw new ArgumentException($"Search space option {nameof(space.DenseHiddenLayerWidths)} must offer at least one choice.", nameof(space.DenseHiddenLayerWidths));
        foreach (int[] widths in space.DenseHiddenLayerWidths)
        {
            if (widths is null || widths.Length < 1 || widths.Length > DenseFeedForwardDefaults.MaxHiddenLayers
                || widths.Any(w => w < 1 || w > DenseFeedForwardDefaults.MaxHiddenLayerWidth))
            {
                throw new ArgumentOutOfRangeException(nameof(space.DenseHiddenLayerWidths), widths is null ? "null" : string.Join(",", widths),
                    $"Search space option {nameof(space.DenseHiddenLayerWidths)}: every choice must list 1 to {DenseFeedForwardDefaults.MaxHiddenLayers} widths between 1 and {DenseFeedForwardDefaults.MaxHiddenLayerWidth}.");
            }
        }
    }

    public override FffTrialConfiguration Draw(FffSearchSpace space, Random random, int epochs, int batchSize, float learningRate, int seed)
        => new(Architecture, epochs, batchSize, learningRate, seed)
        {
            HiddenLayerWidths = space.DenseHiddenLayerWidths[random.Next(space.DenseHiddenLayerWidths.Count)].ToArray(),
        };

    public override int NeuronsPerRow(FffTrialConfiguration c) => c.HiddenLayerWidths.Sum();

    public override string Shape(FffTrialConfiguration c) => "Dense " + string.Join("-", c.HiddenLayerWidths);

    public override NetworkArchitecture DefaultArchitecture() => new DenseArchitecture(new DenseFeedForwardRegressionTrainer.Options());

    public override (ITransformer Predictor, object Model) Fit(IHostEnvironment env, FffTask task, FffTrialConfiguration c,
        Action<FeedForwardOptionsBase> shared, IDataView train, IDataView valid) => task switch
        {
            FffTask.MulticlassClassification => FitWith(new DenseFeedForwardMulticlassTrainer(env, Fill(new DenseFeedForwardMulticlassTrainer.Options(), c, shared)), train, valid),
            FffTask.BinaryClassification => FitWith(new DenseFeedForwardBinaryTrainer(env, Fill(new DenseFeedForwardBinaryTrainer.Options(), c, shared)), train, valid),
            _ => FitWith(new DenseFeedForwardRegressionTrainer(env, Fill(new DenseFeedForwardRegressionTrainer.Options(), c, shared)), train, valid),
        };

    private static T Fill<T>(T o, FffTrialConfiguration c, Action<FeedForwardOptionsBase> shared) where T : DenseFeedForwardOptionsBase
    {
        o.HiddenLayerWidths = c.HiddenLayerWidths.ToArray();
        return Shared(o, shared);
    }
}
