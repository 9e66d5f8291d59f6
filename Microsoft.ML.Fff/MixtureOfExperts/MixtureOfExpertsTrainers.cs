using System;
using System.Linq;
using Microsoft.ML.Fff.Persistence;
using Microsoft.ML.Fff.Sweeps;
using Microsoft.ML.Fff.Training;
using Microsoft.ML.Runtime;

[assembly: NetworkPlugin(typeof(Microsoft.ML.Fff.MixtureOfExperts.MixtureOfExpertsFamily))]

namespace Microsoft.ML.Fff.MixtureOfExperts;

/// <summary>
/// Trains a mixture of experts for binary classification. The model scores in pure C#: a gate of
/// <c>NumberOfExperts</c> neurons picks the <c>TopK</c> experts of <c>ExpertWidth</c> neurons that score the row.
/// Outputs Score (logit), Probability and PredictedLabel.
/// </summary>
public sealed class MixtureOfExpertsBinaryTrainer : FeedForwardBinaryTrainerBase<MixtureOfExpertsBinaryTrainer.Options>
{
    internal const string LoadName = "MixtureOfExpertsBinary";

    /// <summary>Options of <see cref="MixtureOfExpertsBinaryTrainer"/>; the label is a Boolean column.</summary>
    public sealed class Options : MixtureOfExpertsOptionsBase
    {
    }

    internal MixtureOfExpertsBinaryTrainer(IHostEnvironment env, Options options) : base(env, LoadName, options)
    {
    }

    private protected override NetworkArchitecture CreateArchitecture(Options options) => new MoeArchitecture(options);
}

/// <summary>
/// Trains a mixture of experts for multiclass classification. The label must be a key column (<c>MapValueToKey</c>).
/// Outputs Score (class probabilities) and PredictedLabel.
/// </summary>
public sealed class MixtureOfExpertsMulticlassTrainer : FeedForwardMulticlassTrainerBase<MixtureOfExpertsMulticlassTrainer.Options>
{
    internal const string LoadName = "MixtureOfExpertsMulticlass";

    /// <summary>Options of <see cref="MixtureOfExpertsMulticlassTrainer"/>; the label is a key column.</summary>
    public sealed class Options : MixtureOfExpertsOptionsBase
    {
    }

    internal MixtureOfExpertsMulticlassTrainer(IHostEnvironment env, Options options) : base(env, LoadName, options)
    {
    }

    private protected override NetworkArchitecture CreateArchitecture(Options options) => new MoeArchitecture(options);
}

/// <summary>Trains a mixture of experts for regression. The label is a Single column; outputs Score.</summary>
public sealed class MixtureOfExpertsRegressionTrainer : FeedForwardRegressionTrainerBase<MixtureOfExpertsRegressionTrainer.Options>
{
    internal const string LoadName = "MixtureOfExpertsRegression";

    /// <summary>Options of <see cref="MixtureOfExpertsRegressionTrainer"/>; the label is a Single column (standardized internally).</summary>
    public sealed class Options : MixtureOfExpertsOptionsBase
    {
    }

    internal MixtureOfExpertsRegressionTrainer(IHostEnvironment env, Options options) : base(env, LoadName, options)
    {
    }

    private protected override NetworkArchitecture CreateArchitecture(Options options) => new MoeArchitecture(options);
}

/// <summary>The MixtureOfExperts trainers in sweeps: number of experts, expert width and experts per row.</summary>
internal sealed class MixtureOfExpertsFamily : TrainerFamily
{
    public override FffArchitecture Architecture => FffArchitecture.MixtureOfExperts;

    public override int Order => 1;

    public override void Validate(FffSearchSpace space)
    {
        FffSearchSpace.CheckChoices(space.NumberOfExperts, nameof(space.NumberOfExperts), MixtureOfExpertsDefaults.MinExperts, MixtureOfExpertsDefaults.MaxExperts);
        FffSearchSpace.CheckChoices(space.ExpertWidths, nameof(space.ExpertWidths), 1, MixtureOfExpertsDefaults.MaxExpertWidth);
        FffSearchSpace.CheckChoices(space.TopK, nameof(space.TopK), 1, MixtureOfExpertsDefaults.MaxExperts);
        if (space.TopK.Min() > space.NumberOfExperts.Min())
        {
            throw new ArgumentOutOfRangeException(nameof(space.TopK),
                $"Search space option {nameof(space.TopK)} must offer a value no larger than the smallest of {nameof(space.NumberOfExperts)} ({space.NumberOfExperts.Min()}); its smallest is {space.TopK.Min()}.");
        }
    }

    public override FffTrialConfiguration Draw(FffSearchSpace space, Random random, int epochs, int batchSize, float learningRate, int seed)
    {
        int experts = space.NumberOfExperts[random.Next(space.NumberOfExperts.Count)];
        int width = space.ExpertWidths[random.Next(space.ExpertWidths.Count)];
        int[] topK = space.TopK.Where(k => k <= experts).ToArray();
        return new FffTrialConfiguration(Architecture, epochs, batchSize, learningRate, seed)
        {
            NumberOfExperts = experts,
            ExpertWidth = width,
            TopK = topK.Length == 0 ? 1 : topK[random.Next(topK.Length)],
        };
    }

    public override int NeuronsPerRow(FffTrialConfiguration c) => c.NumberOfExperts + c.TopK * c.ExpertWidth;

    public override string Shape(FffTrialConfiguration c) => $"MoE {c.NumberOfExperts} experts x {c.ExpertWidth}, top {c.TopK}";

    public override NetworkArchitecture DefaultArchitecture() => new MoeArchitecture(new MixtureOfExpertsRegressionTrainer.Options());

    public override (ITransformer Predictor, object Model) Fit(IHostEnvironment env, FffTask task, FffTrialConfiguration c,
        Action<FeedForwardOptionsBase> shared, IDataView train, IDataView valid) => task switch
        {
            FffTask.MulticlassClassification => FitWith(new MixtureOfExpertsMulticlassTrainer(env, Fill(new MixtureOfExpertsMulticlassTrainer.Options(), c, shared)), train, valid),
            FffTask.BinaryClassification => FitWith(new MixtureOfExpertsBinaryTrainer(env, Fill(new MixtureOfExpertsBinaryTrainer.Options(), c, shared)), train, valid),
            _ => FitWith(new MixtureOfExpertsRegressionTrainer(env, Fill(new MixtureOfExpertsRegressionTrainer.Options(), c, shared)), train, valid),
        };

    private static T Fill<T>(T o, FffTrialConfiguration c, Action<FeedForwardOptionsBase> shared) where T : MixtureOfExpertsOptionsBase
    {
        o.NumberOfExperts = c.NumberOfExperts;
        o.ExpertWidth = c.ExpertWidth;
        o.TopK = c.TopK;
        return Shared(o, shared);
    }
}
