using System;
using System.Linq;
using Microsoft.ML.Fff.Dense;
using Microsoft.ML.Fff.Kinds;
using Microsoft.ML.Fff.Sweeps;
using Microsoft.ML.Fff.Training;
using Microsoft.ML.Runtime;

[assembly: TrainerFamily(typeof(DenseFeedForwardFamily))]

namespace Microsoft.ML.Fff.Dense;

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
