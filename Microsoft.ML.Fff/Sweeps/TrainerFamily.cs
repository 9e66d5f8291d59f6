using System;
using System.Collections.Generic;
using System.Linq;
using Microsoft.ML.Fff.Persistence;
using Microsoft.ML.Fff.Training;
using Microsoft.ML.Runtime;

namespace Microsoft.ML.Fff.Sweeps;

/// <summary>
/// One public trainer family (<see cref="FffArchitecture"/>) as a plug-in: its trainers for each task and its part of
/// a sweep's search space (validation, sampling, shape). Sweeps ask these descriptors (<see cref="TrainerFamilies"/>)
/// and never switch on families. A family registers itself with one line, <c>[assembly: NetworkPlugin(typeof(TheFamily))]</c>.
/// </summary>
internal abstract class TrainerFamily
{
    /// <summary>The public family this descriptor stands for.</summary>
    public abstract FffArchitecture Architecture { get; }

    /// <summary>Where the family's checks come in <see cref="FffSearchSpace"/> validation (lower first).</summary>
    public abstract int Order { get; }

    /// <summary>Throws, naming the option, when the family's part of <paramref name="space"/> is invalid.</summary>
    public abstract void Validate(FffSearchSpace space);

    /// <summary>
    /// Draws the family's shape from <paramref name="space"/> with <paramref name="random"/> (after the shared settings were
    /// drawn), as a configuration with the shared settings given.
    /// </summary>
    public abstract FffTrialConfiguration Draw(FffSearchSpace space, Random random, int epochs, int batchSize, float learningRate, int seed);

    /// <summary>Neurons a scored row touches, known before training.</summary>
    public abstract int NeuronsPerRow(FffTrialConfiguration configuration);

    /// <summary>The model shape alone, e.g. <c>FFF depth 3 x leaf 16</c>.</summary>
    public abstract string Shape(FffTrialConfiguration configuration);

    /// <summary>An architecture with the family's default options, for warming up its scorers.</summary>
    public abstract NetworkArchitecture DefaultArchitecture();

    /// <summary>
    /// Trains the family's trainer for <paramref name="task"/> with the configuration's shape, after <paramref name="shared"/>
    /// has set the shared options, on <paramref name="train"/> with <paramref name="valid"/> evaluated every epoch.
    /// </summary>
    /// <returns>The prediction transformer and its model parameters.</returns>
    public abstract (ITransformer Predictor, object Model) Fit(IHostEnvironment env, FffTask task, FffTrialConfiguration configuration,
        Action<FeedForwardOptionsBase> shared, IDataView train, IDataView valid);

    /// <summary>Options with <paramref name="shared"/> applied.</summary>
    protected static T Shared<T>(T options, Action<FeedForwardOptionsBase> shared) where T : FeedForwardOptionsBase
    {
        shared(options);
        return options;
    }

    /// <summary>Fits <paramref name="trainer"/> with a validation set and returns the transformer and its model.</summary>
    protected static (ITransformer, object) FitWith<TOptions, TTransformer, TModel>(FeedForwardTrainerBase<TOptions, TTransformer, TModel> trainer,
        IDataView train, IDataView valid)
        where TOptions : FeedForwardOptionsBase
        where TTransformer : ISingleFeaturePredictionTransformer<TModel>
        where TModel : class
    {
        TTransformer transformer = trainer.Fit(train, valid);
        return (transformer, transformer.Model);
    }
}

/// <summary>The registry of trainer families.</summary>
internal static class TrainerFamilies
{
    private static readonly Lazy<TrainerFamily[]> s_all = new(() => Registrations.Create<TrainerFamily>()
        .OrderBy(f => f.Order)
        .ToArray());

    /// <summary>Every registered family, in <see cref="TrainerFamily.Order"/>.</summary>
    public static IReadOnlyList<TrainerFamily> All => s_all.Value;

    /// <summary>The descriptor of <paramref name="architecture"/>.</summary>
    public static TrainerFamily Of(FffArchitecture architecture) => s_all.Value.First(f => f.Architecture == architecture);
}
