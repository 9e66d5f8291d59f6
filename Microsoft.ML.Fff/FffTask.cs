namespace Microsoft.ML.Fff;

/// <summary>The machine-learning task of <see cref="FffCatalog.Train"/>, inferred from the label type or set by <see cref="FffAutoTrainOptions.Task"/>.</summary>
public enum FffTask
{
    /// <summary>Binary classification: a Boolean label; outputs Score, Probability and PredictedLabel.</summary>
    BinaryClassification,
    /// <summary>Multiclass classification: a String, key (or, by override, numeric or Boolean) label; outputs Score (a probability per class) and PredictedLabel.</summary>
    MulticlassClassification,
    /// <summary>Regression: a numeric (or, by override, Boolean) label, converted to Single; outputs Score.</summary>
    Regression,
}
