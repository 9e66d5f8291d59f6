using System;
using Microsoft.ML.Data;

namespace Microsoft.ML.Fff;

public sealed partial class FffCatalog
{
    /// <summary>
    /// Trains a fast feedforward network on <paramref name="data"/> in one call: infers the task from the label (its type; for a
    /// String label, binary when it has exactly two distinct values), featurizes every other column (numeric, Boolean, categorical
    /// String (values repeat: at most <see cref="FffAutoTrainOptions.MaxCategoricalCardinality"/> distinct, at most half the values,
    /// whatever the word count; from 51 distinct, each repeated ten times on average), String of numbers (parsed), free-text String, key; an identifier String column, all different single words,
    /// is skipped; <see cref="FffAutoTrainOptions.ColumnUsages"/> overrides), trains the task's FFF trainer, and returns
    /// the whole fitted pipeline (a <see cref="TransformerChain{TLastTransformer}"/>, savable with <c>mlContext.Model.Save</c>).
    /// Equivalent to <c>CreatePipeline(data, labelColumnName, options).Fit(data)</c>, except that rows with a missing label (NaN in a Single or
    /// Double label, an empty or white-space String label) are left out first, with a warning in the log giving their count (the pipeline's
    /// trainer refuses them). Training settings the options leave <c>null</c>
    /// (depth, batch size, learning rate, validation holdout with early stopping) are chosen from the row count and logged; see
    /// <see cref="FffAutoTrainChoices"/> and <see cref="FffAutoTrainPlan.Training"/>.
    /// </summary>
    /// <param name="data">Training data. String columns are scanned (first <see cref="FffDefaults.CategoricalScanRows"/> rows) before training.</param>
    /// <param name="labelColumnName">
    /// Label column: Boolean or two-valued String (binary; see <see cref="FffAutoTrainOptions.PositiveLabel"/>), numeric (regression),
    /// or String / key (multiclass).
    /// </param>
    /// <param name="options">Options; <c>null</c> for the defaults. Never modified.</param>
    /// <returns>
    /// The fitted pipeline. Data to score needs the feature columns only: the label is converted (in place) only when present, and
    /// the weight column is never needed. A two-valued String label gives Score and Probability (of <see cref="FffAutoTrainPlan.PositiveLabel"/>)
    /// and a String PredictedLabel holding one of the label's two values; the label itself, when present, is mapped to Boolean in place.
    /// </returns>
    /// <exception cref="ArgumentException">
    /// The label column is missing or of an unsupported type, no row has a label, an option names a missing column or sets a usage the
    /// column's type does not allow, <see cref="FffAutoTrainOptions.PositiveLabel"/> is not a label value, no column can be used as a feature,
    /// or a numeric feature column holds an infinite value (or a Double beyond Single's range); NaN values are missing values and are imputed.
    /// </exception>
    /// <exception cref="ArgumentOutOfRangeException">An option is out of range (the exception names it).</exception>
    public ITransformer Train(IDataView data, string labelColumnName = "Label", FffAutoTrainOptions? options = null)
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        // Rows without a label teach nothing; ML.NET's own trainers skip them, and so does Train (logged), before the plan reads the
        // label's values (so that blanks in a "Yes"/"No" label do not count as a third class).
        IDataView labelled = AutoTrainPlanner.WithoutMissingLabels(Context, data, labelColumnName);
        FffAutoTrainPlan plan = CreatePlan(labelled, labelColumnName, options);
        // The featurization imputes NaN but not ±∞, which it turns into non-finite features that the trainer refuses by slot; the
        // check below names the user's column and row instead. A sweep would spend its budget on trials that all fail, so it
        // checks first; a single fit fails at its first pass over the data, so the check's own pass (0.9 s of fertility's 203,606
        // rows, a fifth of Train) runs only after a failure, and any other failure is rethrown as it was.
        if (options?.TimeBudget is not null)
        {
            AutoTrainPlanner.CheckFiniteNumerics(labelled, plan);
            return AutoTrainSweep.Train(Context, labelled, plan, options, clock);
        }
        try
        {
            return plan.Pipeline.Fit(labelled);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            AutoTrainPlanner.CheckFiniteNumerics(labelled, plan);
            throw;
        }
    }

    /// <summary>
    /// The unfitted pipeline that <see cref="Train"/> fits, for cross-validation or inspection. It takes the data rather than only its
    /// schema because whether a String column is categorical or free text, and whether a String label is binary, is decided from its values (first
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
    /// integers) → <see cref="FffTask.Regression"/>; String or key → <see cref="FffTask.MulticlassClassification"/>. (<see cref="Train"/>
    /// also looks at a String label's values: exactly two distinct values train binary classification.)
    /// </summary>
    /// <param name="labelType">The label column's type.</param>
    /// <exception cref="ArgumentException">The type is none of these (vectors, DateTime, ...).</exception>
    public FffTask InferTask(DataViewType labelType) => AutoTrainPlanner.InferTask(labelType);
}
