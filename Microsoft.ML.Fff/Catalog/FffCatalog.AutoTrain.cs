using System;
using Microsoft.ML.Data;

namespace Microsoft.ML.Fff;

public sealed partial class FffCatalog
{
    /// <summary>
    /// Trains a fast feedforward network on <paramref name="data"/> in one call: infers the task from the label type, featurizes
    /// every other column (numeric, Boolean, categorical and free-text String, key), trains the task's FFF trainer, and returns
    /// the whole fitted pipeline (a <see cref="TransformerChain{TLastTransformer}"/>, savable with <c>mlContext.Model.Save</c>).
    /// Equivalent to <c>CreatePipeline(data, labelColumnName, options).Fit(data)</c>.
    /// </summary>
    /// <param name="data">Training data. String columns are scanned (first <see cref="FffDefaults.CategoricalScanRows"/> rows) before training.</param>
    /// <param name="labelColumnName">Label column: Boolean (binary), numeric (regression) or String / key (multiclass).</param>
    /// <param name="options">Options; <c>null</c> for the defaults. Never modified.</param>
    /// <returns>
    /// The fitted pipeline. Data to score needs the feature columns, and the label column too when the pipeline converts it (a String,
    /// non-Single numeric or non-UInt32 key label, or a label trained as classes by <see cref="FffAutoTrainOptions.Task"/>); it never needs the weight column.
    /// </returns>
    /// <exception cref="ArgumentException">The label column is missing or of an unsupported type, an option names a missing column, or no column can be used as a feature.</exception>
    /// <exception cref="ArgumentOutOfRangeException">An option is out of range (the exception names it).</exception>
    public ITransformer Train(IDataView data, string labelColumnName = "Label", FffAutoTrainOptions? options = null)
        => CreatePlan(data, labelColumnName, options).Pipeline.Fit(data);

    /// <summary>
    /// The unfitted pipeline that <see cref="Train"/> fits, for cross-validation or inspection. It takes the data rather than only its
    /// schema because whether a String column is categorical or free text is decided from its values (first
    /// <see cref="FffDefaults.CategoricalScanRows"/> rows); the pipeline can then be fitted on this data or on other data of the same schema.
    /// </summary>
    /// <param name="data">Data whose schema and String values decide the featurization.</param>
    /// <param name="labelColumnName">Label column.</param>
    /// <param name="options">Options; <c>null</c> for the defaults. Never modified.</param>
    /// <exception cref="ArgumentException">See <see cref="Train"/>.</exception>
    /// <exception cref="ArgumentOutOfRangeException">See <see cref="Train"/>.</exception>
    public IEstimator<ITransformer> CreatePipeline(IDataView data, string labelColumnName = "Label", FffAutoTrainOptions? options = null)
        => CreatePlan(data, labelColumnName, options).Pipeline;

    /// <summary>
    /// Decides the task and how every column is used, and builds the unfitted pipeline, without training. The decisions are also
    /// written to the <see cref="MLContext"/>'s log (channel <c>FffAutoTrain</c>; skipped columns as warnings).
    /// </summary>
    /// <param name="data">Data whose schema and String values decide the featurization.</param>
    /// <param name="labelColumnName">Label column.</param>
    /// <param name="options">Options; <c>null</c> for the defaults. Never modified.</param>
    /// <exception cref="ArgumentException">See <see cref="Train"/>.</exception>
    /// <exception cref="ArgumentOutOfRangeException">See <see cref="Train"/>.</exception>
    public FffAutoTrainPlan CreatePlan(IDataView data, string labelColumnName = "Label", FffAutoTrainOptions? options = null)
        => new AutoTrainPlanner(Context).CreatePlan(data, labelColumnName, options);

    /// <summary>
    /// The task inferred from a label type: Boolean → <see cref="FffTask.BinaryClassification"/>; any numeric type (Single, Double,
    /// integers) → <see cref="FffTask.Regression"/>; String or key → <see cref="FffTask.MulticlassClassification"/>.
    /// </summary>
    /// <param name="labelType">The label column's type.</param>
    /// <exception cref="ArgumentException">The type is none of these (vectors, DateTime, ...).</exception>
    public FffTask InferTask(DataViewType labelType) => AutoTrainPlanner.InferTask(labelType);
}
