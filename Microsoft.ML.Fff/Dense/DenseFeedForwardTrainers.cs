using Microsoft.ML.Fff.Training;
using Microsoft.ML.Runtime;

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
