using Microsoft.ML.Fff.Training;
using Microsoft.ML.Runtime;

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
