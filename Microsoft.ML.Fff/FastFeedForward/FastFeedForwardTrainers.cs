using Microsoft.ML.Fff.Training;
using Microsoft.ML.Runtime;

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
