using System;
using System.Collections.Generic;
using System.Linq;
using System.Text;
using Microsoft.ML.Data;

namespace Microsoft.ML.Fff;

/// <summary>Options of <see cref="FffCatalog.Train"/> and <see cref="FffCatalog.CreatePipeline"/>. They are only read, never modified.</summary>
public sealed class FffAutoTrainOptions
{
    /// <summary>
    /// The task to train. Default <c>null</c>: inferred from the label type by <see cref="FffCatalog.InferTask"/> (Boolean: binary;
    /// numeric: regression; key: multiclass), and for a String label from its values: exactly two distinct values (over all rows,
    /// for example "Yes"/"No") train <see cref="FffTask.BinaryClassification"/>, otherwise multiclass. Set it to, for example, train
    /// integer or Single labels as classes, or a two-valued String label as two classes (<see cref="FffTask.MulticlassClassification"/>).
    /// </summary>
    public FffTask? Task { get; set; }

    /// <summary>
    /// For a String label trained as <see cref="FffTask.BinaryClassification"/>: the label value that is the positive class
    /// (<c>true</c>; the Probability column is its probability). Default <c>null</c>: the value that is a known positive word
    /// ("yes", "true", "1", "positive", "y", "t", case-insensitive, trimmed) when exactly one of the two is, otherwise the second
    /// value in ordinal order. It must be one of the label's two values (exactly, case-sensitive).
    /// </summary>
    public string? PositiveLabel { get; set; }

    /// <summary>
    /// Per-column overrides of the inferred usage: <see cref="FffColumnUsage.Numeric"/> (numeric, Boolean or String columns; Strings
    /// are parsed, unparsable values count as missing), <see cref="FffColumnUsage.Categorical"/> (String, numeric or Boolean scalars:
    /// one-hot encoded), <see cref="FffColumnUsage.Text"/> (String columns) or <see cref="FffColumnUsage.Ignored"/> (any column).
    /// Every key must be a column of the data other than the label and the weight. Default <c>null</c> (all inferred).
    /// </summary>
    public IReadOnlyDictionary<string, FffColumnUsage>? ColumnUsages { get; set; }

    /// <summary>
    /// Depth of the node tree (<c>2^Depth</c> leaves). Default <c>null</c>: chosen from the training rows (see <see cref="FffAutoTrainChoices"/>):
    /// the deepest tree up to <see cref="FffDefaults.Depth"/> whose leaves each get at least <see cref="FffAutoTrainChoices.MinRowsPerLeaf"/>
    /// rows on average, since a hard-routed tree splits the rows among its leaves. Range 0 .. <see cref="FffDefaults.MaxDepth"/>.
    /// </summary>
    public int? Depth { get; set; }

    /// <summary>
    /// Neurons per leaf. Default <c>null</c>: <see cref="FffDefaults.LeafWidth"/>, or for multiclass labels with more than
    /// <see cref="FffAutoTrainChoices.MaxClassesForDefaultLeaf"/> classes the power of two at least twice the class count, so that a
    /// leaf's hidden layer stays wider than its output layer (see <see cref="FffAutoTrainChoices"/>). Range 1 .. <see cref="FffDefaults.MaxLeafWidth"/>.
    /// </summary>
    public int? LeafWidth { get; set; }

    /// <summary>
    /// Number of leaf trees trained together and averaged (<see cref="FastFeedForward.FastFeedForwardOptionsBase.EnsembleSize"/>): each
    /// scored row descends every tree, so it costs this many times the neurons of one tree. Default <c>null</c>: one tree, or
    /// <see cref="FffAutoTrainChoices.ManyClassEnsembleSize"/> trees for a multiclass label of more than
    /// <see cref="FffAutoTrainChoices.MaxClassesForDefaultLeaf"/> classes on at least <see cref="FffAutoTrainChoices.MinRowsForManyClassEnsemble"/>
    /// rows, or <see cref="FffAutoTrainChoices.ImageEnsembleSize"/> trees for images (see <see cref="ImageHeight"/>) on at least
    /// <see cref="FffAutoTrainChoices.MinRowsForImageEnsemble"/> rows (see <see cref="FffAutoTrainChoices"/>). Range 1 .. 64.
    /// </summary>
    public int? EnsembleSize { get; set; }

    /// <summary>
    /// Height in pixels of the images the numeric features hold (channels of <c>ImageHeight x ImageWidth</c> pixels each, planar, row
    /// by row, as ML.NET's <c>ExtractPixels</c> writes them); set together with <see cref="ImageWidth"/>. Default <c>null</c>: inferred
    /// (see <see cref="FffAutoTrainChoices.ImageHeight"/>): the features are taken as square images when they are only numeric, number
    /// <c>h x h</c> or <c>3 x h x h</c> with <c>h</c> at least <see cref="FffAutoTrainChoices.MinImageSide"/>, and every value of the
    /// first rows scanned is at least 0. Images train with the image recipe: depth-4 trees of 16-neuron leaves (two of them from
    /// <see cref="FffAutoTrainChoices.MinRowsForImageEnsemble"/> rows), input dropout, and
    /// one-pixel shift augmentation for images of at least <see cref="FffAutoTrainChoices.MinShiftedImageSide"/> pixels a side; the
    /// pixels reach the trainer as they are (missing ones imputed), and the trainer standardizes them after shifting. Set both to 0 to train such data as a plain
    /// table. Range 0 (not images) or at least 2.
    /// </summary>
    public int? ImageHeight { get; set; }

    /// <summary>Width in pixels of the images the numeric features hold; see <see cref="ImageHeight"/>. Default <c>null</c>: inferred.</summary>
    public int? ImageWidth { get; set; }

    /// <summary>
    /// Passes over the training data; with a validation holdout (<see cref="ValidationFraction"/>) the cap, as early stopping may
    /// end training sooner. Default <c>null</c>: chosen from the training rows (see <see cref="FffAutoTrainChoices"/>):
    /// <see cref="FffDefaults.NumberOfEpochs"/> up to 13,000 or so training rows, then fewer, so that about
    /// <see cref="FffAutoTrainChoices.RowPassBudget"/> rows are seen in all, but at least <see cref="FffAutoTrainChoices.MinEpochs"/>.
    /// At least 1.
    /// </summary>
    public int? NumberOfEpochs { get; set; }

    /// <summary>
    /// Numbers of epochs compared by <see cref="FffAutoTrainChoices.EpochSelectionFolds"/>-fold cross-validation on the training rows
    /// (pooled out-of-fold hard-descent AUC, accuracy or R²) before the model trains on all rows with the best; the fewest win a tie.
    /// The model is the same as with <see cref="NumberOfEpochs"/> set to the winner, at the cost of the folds' training runs (logged).
    /// Default <c>null</c>: <see cref="FffDefaults.NumberOfEpochs"/> and <see cref="FffAutoTrainChoices.LongNumberOfEpochs"/> from
    /// <see cref="FffAutoTrainChoices.MinRowsForEpochSelection"/> to below <see cref="FffAutoTrainChoices.MaxRowsForEpochSelection"/> rows
    /// when neither <see cref="NumberOfEpochs"/> nor <see cref="ValidationFraction"/> is set, otherwise none. Fewer than two values
    /// (e.g. an empty array) switch the selection off; each value at least 1. Ignored with a validation holdout.
    /// </summary>
    public int[]? EpochCandidates { get; set; }

    /// <summary>
    /// Rows per mini-batch. Default <c>null</c>: chosen from the training rows, larger on larger data so that an epoch takes fewer
    /// steps (see <see cref="FffAutoTrainChoices"/>). At least 1.
    /// </summary>
    public int? BatchSize { get; set; }

    /// <summary>
    /// Peak learning rate. Default <c>null</c>: chosen with the batch size from the training rows (higher for the larger batches, and
    /// for the few steps of a table below 1,000 rows).
    /// Finite and greater than 0.
    /// </summary>
    public float? LearningRate { get; set; }

    /// <summary>
    /// Fraction of the input features zeroed per training row (<see cref="FeedForwardOptionsBase.InputDropout"/>). Default <c>null</c>:
    /// 0.2 for images (see <see cref="ImageHeight"/>), 0 for tables. Range [0, 1).
    /// </summary>
    public float? InputDropout { get; set; }

    /// <summary>
    /// Whether the model holds each measured feature to its training range before scoring
    /// (<see cref="FeedForwardOptionsBase.ClampToTrainingRange"/>). Default <c>null</c>: the trainers' default, true (tables; images
    /// and text are never clamped). Set false for a model that should extrapolate linearly beyond the training values.
    /// </summary>
    public bool? ClampToTrainingRange { get; set; }

    /// <summary>
    /// Whether the model adds fitted offsets for rows whose features repeat a training row's exactly
    /// (<see cref="FeedForwardOptionsBase.RepeatedRowOffsets"/>; kept only when leave-one-out on the training rows says they pay).
    /// Default <c>null</c>: on for tables, off for images.
    /// </summary>
    public bool? RepeatedRowOffsets { get; set; }

    /// <summary>
    /// Fraction of the training rows held out (seeded) as a validation set, on which the hard-descent metric is measured every epoch;
    /// the best epoch is kept and <see cref="EarlyStoppingPatience"/> stops training early. Default <c>null</c>: 0.1 from
    /// <see cref="FffAutoTrainChoices.MinRowsForHoldout"/> rows of a table (images and wide tables: <see cref="FffAutoTrainChoices.MinImageRowsForHoldout"/>)
    /// on, otherwise 0 (on less data the rows are worth more for training than for choosing an epoch). Range [0, 0.5]; 0 trains on all rows for all epochs and keeps the last one.
    /// </summary>
    public double? ValidationFraction { get; set; }

    /// <summary>
    /// With a validation holdout: stop when the validation metric has not improved for this many epochs. Default <c>null</c>:
    /// <see cref="FffAutoTrainChoices.DefaultEarlyStoppingPatience"/>. At least 0 (0: train all epochs, still keeping the best).
    /// </summary>
    public int? EarlyStoppingPatience { get; set; }

    /// <summary>
    /// Optional example-weight column (any numeric scalar type; converted to Single; values must be finite and non-negative).
    /// It is not used as a feature. Default <c>null</c> (every row weighs 1).
    /// </summary>
    public string? ExampleWeightColumnName { get; set; }

    /// <summary>Columns that are not used as features. Each must be a column of the data. Default <c>null</c> (none).</summary>
    public IReadOnlyCollection<string>? IgnoreColumns { get; set; }

    /// <summary>
    /// A String column with at most this many distinct non-empty (trimmed) values in the first <see cref="FffDefaults.CategoricalScanRows"/>
    /// rows is one-hot encoded whatever its word count ("Month-to-month", "One year", "Two year" are three categories) when its values
    /// repeat: up to 50 distinct values, when they are at most half the non-empty values scanned; from 51, when each repeats at least
    /// ten times on average (a US state over thousands of rows); of the other String columns, one
    /// whose values are all numbers is parsed as numeric, one whose values are all different single words (an identifier) is skipped, and
    /// any other is featurized as free text (<c>FeaturizeText</c>). <see cref="ColumnUsages"/> overrides the decision per column. The category
    /// dictionary itself is built from all rows when the pipeline is fitted.
    /// Default <see cref="FffDefaults.MaxCategoricalCardinality"/>; at least 2.
    /// </summary>
    public int MaxCategoricalCardinality { get; set; } = FffDefaults.MaxCategoricalCardinality;

    /// <summary>
    /// How the FFF scales its numeric inputs (<see cref="FeedForwardOptionsBase.FeatureScaling"/>): <see cref="FffFeatureScaling.QuantileNormal"/>
    /// and <see cref="FffFeatureScaling.RobustSmoothClip"/> put an input stage in front of the network (docs/input-stages.md). Default
    /// <c>null</c>: <see cref="FffFeatureScaling.Auto"/> (mean/standard deviation, folded into the first layer).
    /// </summary>
    public FffFeatureScaling? FeatureScaling { get; set; }

    /// <summary>
    /// A learned embedding of every numeric input before the FFF (<see cref="FeedForwardOptionsBase.NumericEmbedding"/>, with its default
    /// width, bins and frequencies): piecewise-linear or periodic (docs/input-stages.md). It costs per-row latency and training time.
    /// Default <c>null</c>: <see cref="FffNumericEmbedding.None"/>.
    /// </summary>
    public FffNumericEmbedding? NumericEmbedding { get; set; }

    /// <summary>
    /// Threads libtorch may use while training. Default <c>null</c>: 1 when a batch's hidden layer (batch size times one tree's training width) holds
    /// at most <see cref="FffAutoTrainChoices.SingleThreadValues"/> values and its input layer (times the input values) takes at most
    /// <see cref="FffAutoTrainChoices.SingleThreadWork"/> multiply-adds, as splitting so little work among threads costs more than it
    /// saves; otherwise libtorch's default. At least 1 when set.
    /// </summary>
    public int? NumberOfThreads { get; set; }

    /// <summary>Seed of the trainer (initialization and shuffling). Default <c>null</c>: drawn from the <see cref="MLContext"/>'s seed.</summary>
    public int? Seed { get; set; }

    /// <summary>Called after every training epoch with losses and metrics. Default <c>null</c>.</summary>
    public IProgress<FffTrainingProgress>? Progress { get; set; }

    /// <summary>
    /// Wall-clock time <see cref="FffCatalog.Train"/> may take. Default <c>null</c>: one training run with the data-aware settings.
    /// When set, <see cref="FffCatalog.Train"/> fits the featurization, then runs an experiment (<see cref="FffCatalog.CreateExperiment"/>:
    /// FFF configurations, successive halving, a validation split) for the time left, and returns the featurization with the best
    /// trial's model and the same output columns as without a budget. Every trial is logged (channel <c>FffExperiment</c>) and the
    /// leaderboard too (channel <c>FffAutoTrain</c>). Options that are set (<see cref="Depth"/>, <see cref="BatchSize"/>,
    /// <see cref="LearningRate"/>, <see cref="NumberOfEpochs"/>, <see cref="ValidationFraction"/>, <see cref="Seed"/>) fix that part
    /// of the search; the rest is searched around the data-aware choices (<see cref="FffAutoTrainChoices"/>). The budget is
    /// respected loosely: no trial starts after it and the running trial is cancelled, but the featurization and the last checks run
    /// to their end. How many trials fit depends on the machine, so the model returned does too. Greater than zero; not combined with
    /// <see cref="ExampleWeightColumnName"/> (experiments do not use weights) nor with <see cref="FeatureScaling"/> or <see cref="NumericEmbedding"/>
    /// other than their defaults (experiments search no input stages); a set <see cref="EnsembleSize"/> is kept in every trial.
    /// </summary>
    public TimeSpan? TimeBudget { get; set; }
}

/// <summary>How <see cref="FffCatalog.CreatePlan"/> uses one column of the input data.</summary>
public enum FffColumnUsage
{
    /// <summary>The label.</summary>
    Label,
    /// <summary>The example-weight column (<see cref="FffAutoTrainOptions.ExampleWeightColumnName"/>).</summary>
    ExampleWeight,
    /// <summary>
    /// A numeric or Boolean scalar or known-size vector, or a String column of numbers (every non-empty value a number or a missing-value
    /// marker such as NA or ?, and too many distinct values for a category), or a String column set so by <see cref="FffAutoTrainOptions.ColumnUsages"/>
    /// (parsed, unparsable values missing): converted to Single, missing values replaced by the mean, normalized (mean/variance).
    /// </summary>
    Numeric,
    /// <summary>
    /// A String column whose values repeat (see <see cref="FffAutoTrainOptions.MaxCategoricalCardinality"/>), or a String, numeric or Boolean
    /// scalar set so by <see cref="FffAutoTrainOptions.ColumnUsages"/>: one-hot encoded.
    /// </summary>
    Categorical,
    /// <summary>A String column of free text: <c>FeaturizeText</c> (word and character n-grams).</summary>
    Text,
    /// <summary>A key column: one indicator slot per key value (<c>MapKeyToVector</c>).</summary>
    Key,
    /// <summary>Listed in <see cref="FffAutoTrainOptions.IgnoreColumns"/>, or set to this in <see cref="FffAutoTrainOptions.ColumnUsages"/>.</summary>
    Ignored,
    /// <summary>
    /// Not usable as a feature (for example DateTime, variable-length vectors, an all-empty String column, or an identifier: a String column
    /// whose values are all different single words, which no other row shares); see <see cref="FffColumnPlan.Reason"/>.
    /// </summary>
    Skipped,
}

/// <summary>How one column of the input data is used by the automatic pipeline.</summary>
public sealed class FffColumnPlan
{
    internal FffColumnPlan(string name, DataViewType type, FffColumnUsage usage, string reason)
    {
        Name = name;
        Type = type;
        Usage = usage;
        Reason = reason;
    }

    /// <summary>The column's name in the input data.</summary>
    public string Name { get; }

    /// <summary>The column's type in the input data.</summary>
    public DataViewType Type { get; }

    /// <summary>How the column is used.</summary>
    public FffColumnUsage Usage { get; }

    /// <summary>Why, in words (for example the distinct-value count that made a String column categorical).</summary>
    public string Reason { get; }

    /// <summary>A one-line description: name, type, usage and reason.</summary>
    public override string ToString() => $"'{Name}' ({Type}): {Usage} - {Reason}";
}

/// <summary>
/// What <see cref="FffCatalog.CreatePlan"/> decided for a data set: the task, how every visible column is used, and the unfitted
/// pipeline (featurization, trainer and label mapping) that <see cref="FffCatalog.Train"/> fits.
/// </summary>
public sealed class FffAutoTrainPlan
{
    internal FffAutoTrainPlan(FffTask task, string labelColumnName, string featureColumnName, string? exampleWeightColumnName,
        IReadOnlyList<FffColumnPlan> columns, IEstimator<ITransformer> pipeline, FffAutoTrainChoices training, string? positiveLabel = null)
    {
        Training = training;
        PositiveLabel = positiveLabel;
        Task = task;
        LabelColumnName = labelColumnName;
        FeatureColumnName = featureColumnName;
        ExampleWeightColumnName = exampleWeightColumnName;
        Columns = columns;
        Pipeline = pipeline;
    }

    /// <summary>The task trained.</summary>
    public FffTask Task { get; }

    /// <summary>
    /// The label column (for multiclass with a non-key label, it is mapped to a key in place; a two-valued String label to Boolean).
    /// The mapping is applied only when the data has the label: scoring data does not need it.
    /// </summary>
    public string LabelColumnName { get; }

    /// <summary>The feature vector the trainer reads; chosen so it clashes with no input column, and kept in the scored output.</summary>
    public string FeatureColumnName { get; }

    /// <summary>
    /// For a String label trained as binary classification: the value mapped to <c>true</c> (the positive class, whose probability
    /// the Probability column gives). PredictedLabel is given back as the label's own String values. <c>null</c> otherwise.
    /// </summary>
    public string? PositiveLabel { get; }

    /// <summary>The example-weight column, or <c>null</c>.</summary>
    public string? ExampleWeightColumnName { get; }

    /// <summary>Every visible column of the input data, in schema order, with how it is used.</summary>
    public IReadOnlyList<FffColumnPlan> Columns { get; }

    /// <summary>The columns that could not be used as features (usage <see cref="FffColumnUsage.Skipped"/>).</summary>
    public IEnumerable<FffColumnPlan> SkippedColumns => Columns.Where(c => c.Usage == FffColumnUsage.Skipped);

    /// <summary>The unfitted pipeline: <c>Pipeline.Fit(data)</c> is what <see cref="FffCatalog.Train"/> returns.</summary>
    public IEstimator<ITransformer> Pipeline { get; }

    /// <summary>The training settings chosen from the data (or set by the options), each with its reason.</summary>
    public FffAutoTrainChoices Training { get; }

    /// <summary>The part of <see cref="Pipeline"/> before the trainer (label mapping, weight conversion, features).</summary>
    internal EstimatorChain<ITransformer> Featurization { get; init; } = new();

    /// <summary>The trainer step of <see cref="Pipeline"/>.</summary>
    internal IEstimator<ITransformer>? Trainer { get; init; }

    /// <summary>The steps of <see cref="Pipeline"/> after the trainer (readable predicted label, temporary columns dropped).</summary>
    internal IReadOnlyList<IEstimator<ITransformer>> Finishing { get; init; } = Array.Empty<IEstimator<ITransformer>>();

    /// <summary>A multi-line summary: the task, then one line per column.</summary>
    public override string ToString()
    {
        var text = new StringBuilder();
        text.Append("FFF ").Append(Task).Append(" on label '").Append(LabelColumnName).Append('\'');
        if (PositiveLabel != null)
            text.Append(" (positive class '").Append(PositiveLabel).Append("')");
        foreach (FffColumnPlan column in Columns)
            text.AppendLine().Append("  ").Append(column);
        foreach (string reason in Training.Reasons)
            text.AppendLine().Append("  ").Append(reason);
        return text.ToString();
    }
}

/// <summary>
/// The training settings <see cref="FffCatalog.Train"/> uses, chosen from the number of training rows where the
/// <see cref="FffAutoTrainOptions"/> leave them <c>null</c> (the options themselves are never changed).
/// </summary>
public sealed class FffAutoTrainChoices
{
    /// <summary>Average rows per leaf below which the automatic depth is reduced.</summary>
    public const int MinRowsPerLeaf = 64;

    /// <summary>
    /// Depth of <see cref="FffCatalog.Train"/>'s trees on tables (images: 4), before <see cref="MinRowsPerLeaf"/> makes it shallower.
    /// Two levels, four leaves, not the trainers' default of three: each leaf sees a quarter of the rows, not an eighth (hard
    /// descent's fragmentation), at one routing neuron less per row and half the training width. Over the 22 tables of the suite
    /// and the held-out group (two seeds) it gained on 15 (psid7682 +0.019, vehicle +0.020, pima +0.013, diamonds +0.009, hmda
    /// +0.007, spam +0.003) and lost on three (wine −0.012, one of 42 test rows; star98 −0.006; satellite −0.001), and trained
    /// diamonds and letter in about half and two thirds of the time (docs/tabular.md, "Depth 2 for tables").
    /// </summary>
    public const int TableDepth = 2;

    /// <summary>
    /// Rows of a table of at most <see cref="MaxNarrowTableInputs"/> inputs from which a validation slice is held out by default. Below it the epoch cap is the full
    /// <see cref="FffDefaults.NumberOfEpochs"/> (the <see cref="RowPassBudget"/> binds from about 13,000 training rows), so every epoch
    /// runs anyway, and the rows train better than they pick an epoch: from 5,000 to 12,000 rows, training on all of them for all
    /// epochs gained 0.005-0.04 on six of eight tables (docs/tabular.md, "Holdout from 15,000 rows").
    /// </summary>
    public const int MinRowsForHoldout = 15_000;

    /// <summary>
    /// Rows of images (see <see cref="FffAutoTrainOptions.ImageHeight"/>), or of a table wider than <see cref="MaxNarrowTableInputs"/> inputs
    /// (text), from which a validation slice is held out by default.
    /// </summary>
    public const int MinImageRowsForHoldout = 5_000;

    /// <summary>
    /// Inputs (numeric slots, categories, a thousand per text column) up to which a table gets the rules measured on narrow tables:
    /// no holdout below <see cref="MinRowsForHoldout"/> rows, and batches of 512 from there to 50,000 rows.
    /// </summary>
    public const int MaxNarrowTableInputs = 256;

    /// <summary>The validation fraction used from <see cref="MinRowsForHoldout"/> (images: <see cref="MinImageRowsForHoldout"/>) rows on.</summary>
    public const double DefaultValidationFraction = 0.1;

    /// <summary>
    /// Classes up to which the automatic leaf width is <see cref="FffDefaults.LeafWidth"/>; above, it is the power of two at least twice
    /// the class count (26 classes: 64), since a leaf narrower than its output layer is a bottleneck.
    /// </summary>
    public const int MaxClassesForDefaultLeaf = FffDefaults.LeafWidth / 2;

    /// <summary>
    /// Leaf width of <see cref="FffCatalog.Train"/> for a multiclass label of at most <see cref="MaxClassesForDefaultLeaf"/> classes on a
    /// table of at least <see cref="MinRowsForWideClassLeaf"/> rows and at most <see cref="MaxInputsForWideClassLeaf"/> inputs (not images).
    /// Over four seeds it raised satellite (6 classes, 5,197 rows) from 0.898 to 0.910 and diamonds' cut (5 classes, 43,093 rows) from
    /// 0.751 to 0.766 at depth 3 (with <see cref="TableDepth"/> since: 0.907 and 0.770 over two seeds); 64 units gained half as much
    /// (docs/tabular.md, "Wider leaves for multiclass tables", "Depth 2 for tables"). A boosted tree ensemble
    /// scores one tree per class per round, so such a label leaves the per-row cost of the wider leaf far below it.
    /// </summary>
    public const int WideClassLeafWidth = 128;

    /// <summary>Rows from which a multiclass table gets <see cref="WideClassLeafWidth"/> (chile's 1,942 training rows lost with it).</summary>
    public const int MinRowsForWideClassLeaf = 5_000;

    /// <summary>Inputs up to which a multiclass table gets <see cref="WideClassLeafWidth"/>: its per-row cost grows with the inputs.</summary>
    public const int MaxInputsForWideClassLeaf = 64;

    /// <summary>
    /// Leaf trees of <see cref="FffCatalog.Train"/> for a multiclass label of more than <see cref="MaxClassesForDefaultLeaf"/> classes on
    /// at least <see cref="MinRowsForManyClassEnsemble"/> rows (one tree otherwise). Such a label on that much data needs more capacity than one
    /// tree gives, and a boosted tree ensemble's per-row cost grows with the classes too (one tree per class per round), so four trees
    /// keep the per-row cost far below it.
    /// </summary>
    public const int ManyClassEnsembleSize = 4;

    /// <summary>Rows from which a label of many classes gets <see cref="ManyClassEnsembleSize"/> trees (soybean's 683 rows did not gain from them).</summary>
    public const int MinRowsForManyClassEnsemble = 5_000;

    /// <summary>
    /// The longer of the two numbers of epochs that <see cref="FffCatalog.Train"/> compares on small data (see
    /// <see cref="FffAutoTrainOptions.EpochCandidates"/>): non-linear tables keep improving well past
    /// <see cref="FffDefaults.NumberOfEpochs"/> epochs, near-linear ones overfit.
    /// </summary>
    public const int LongNumberOfEpochs = 200;

    /// <summary>
    /// Folds of the cross-validation that compares <see cref="FffAutoTrainOptions.EpochCandidates"/>. Two: on the ten tables below
    /// 1,000 rows of the suite's two groups, over three pairs of seeds, two folds chose as three did in 25 of 30 cases, and those
    /// tables trained in a third less time (docs/tabular.md, "Two folds for the epoch selection").
    /// </summary>
    public const int EpochSelectionFolds = 2;

    /// <summary>Rows from which <see cref="FffCatalog.Train"/> compares numbers of epochs by cross-validation (below, the folds are too small).</summary>
    public const int MinRowsForEpochSelection = 100;

    /// <summary>
    /// Rows up to which (exclusive) <see cref="FffCatalog.Train"/> compares numbers of epochs by cross-validation: the six fold runs cost
    /// about six times the final run, which is a few seconds below this size; above it the gains measured were small (a few
    /// thousandths) and the cost 5 to 8 times the training time.
    /// </summary>
    public const int MaxRowsForEpochSelection = 1_000;

    /// <summary>
    /// Default early-stopping patience (epochs without improvement) with a validation holdout. 20: with 8, the holdout's noisy
    /// per-epoch metric ended the soft stage too early on several tables (docs/tabular.md, "Early-stopping patience").
    /// </summary>
    public const int DefaultEarlyStoppingPatience = 20;

    /// <summary>
    /// Training rows seen over the whole run (rows times epochs) that the automatic epoch count aims at: larger data gets fewer
    /// epochs, each of which already takes many optimizer steps. Capped at <see cref="FffDefaults.NumberOfEpochs"/> epochs.
    /// </summary>
    public const long RowPassBudget = 800_000;

    /// <summary>
    /// <see cref="RowPassBudget"/> for images: shift augmentation makes every pass new rows, so more passes pay. On the 60,000 MNIST
    /// training rows 15 epochs (the table budget) gave 97.30 % and 40 epochs 97.78 % (44 s against 107 s of training on 2 cores;
    /// <c>tools/FffImageRecipeStudy</c>'s <c>train mnist 60000 D,De</c> before this budget and the shift check existed).
    /// </summary>
    public const long ImageRowPassBudget = 2_400_000;

    /// <summary>The fewest epochs the automatic epoch count gives, however large the data (the soft and hard stages need a few each).</summary>
    public const int MinEpochs = 10;

    /// <summary>
    /// Multiply-adds of a batch's input layer (batch size times training width times input values) up to which
    /// <see cref="FffCatalog.Train"/> trains on one libtorch thread by default (when the hidden layer is also within
    /// <see cref="SingleThreadValues"/>).
    /// </summary>
    public const long SingleThreadWork = 33_554_432;

    /// <summary>
    /// Values of a batch's hidden layer (batch size times training width) up to which <see cref="FffCatalog.Train"/> trains on one
    /// libtorch thread by default (when the input layer is also within <see cref="SingleThreadWork"/>). The width is one tree's:
    /// the trees of an ensemble run one after another, so each libtorch call sees one of them.
    /// </summary>
    public const long SingleThreadValues = 524_288;

    /// <summary>The shortest side of a square image <see cref="FffCatalog.Train"/> infers (8: 64 pixels, the size of the smallest digit sets).</summary>
    public const int MinImageSide = 8;

    /// <summary>
    /// Leaf trees of <see cref="FffCatalog.Train"/> for images on at least <see cref="MinRowsForImageEnsemble"/> rows (one tree
    /// otherwise): the second tree bought 0.2–3.0 points of accuracy on MNIST, Fashion-MNIST and digits from 300 to 10,000 rows for
    /// about 1.5 times the per-row cost, still far below a boosted tree ensemble's.
    /// </summary>
    public const int ImageEnsembleSize = 2;

    /// <summary>
    /// The fewest rows on which <see cref="FffCatalog.Train"/> gives images <see cref="ImageEnsembleSize"/> trees: every image set
    /// measured, down to 300 MNIST and Fashion-MNIST rows, gained from the second tree; below, it is not measured.
    /// </summary>
    public const int MinRowsForImageEnsemble = 300;

    /// <summary>
    /// The shortest side of an image that <see cref="FffCatalog.Train"/> trains with shift augmentation (images moved by up to one
    /// pixel): on smaller images a pixel is too large a move.
    /// </summary>
    public const int MinShiftedImageSide = 16;

    /// <summary>Rows of the data scanned for negative values before numeric features are taken as images.</summary>
    public const int ImageScanRows = 1_000;

    internal FffAutoTrainChoices(long rowCount, int depth, int leafWidth, int ensembleSize, int batchSize, float learningRate, int numberOfEpochs,
        double validationFraction, int earlyStoppingPatience, IReadOnlyList<string> reasons)
    {
        RowCount = rowCount;
        Depth = depth;
        LeafWidth = leafWidth;
        EnsembleSize = ensembleSize;
        BatchSize = batchSize;
        LearningRate = learningRate;
        NumberOfEpochs = numberOfEpochs;
        ValidationFraction = validationFraction;
        EarlyStoppingPatience = earlyStoppingPatience;
        Reasons = reasons;
    }

    /// <summary>Rows of the data the plan was made from (before any holdout).</summary>
    public long RowCount { get; }

    /// <summary>Depth of the node tree.</summary>
    public int Depth { get; }

    /// <summary>Neurons per leaf.</summary>
    public int LeafWidth { get; }

    /// <summary>Leaf trees trained together and averaged (1: one tree).</summary>
    public int EnsembleSize { get; }

    /// <summary>Rows per mini-batch.</summary>
    public int BatchSize { get; }

    /// <summary>Peak learning rate.</summary>
    public float LearningRate { get; }

    /// <summary>Most passes over the training rows.</summary>
    public int NumberOfEpochs { get; }

    /// <summary>Fraction of the rows held out for validation and early stopping (0: none).</summary>
    public double ValidationFraction { get; }

    /// <summary>Early-stopping patience in epochs (used only with a holdout; 0: none).</summary>
    public int EarlyStoppingPatience { get; }

    /// <summary>
    /// Numbers of epochs compared by cross-validation before the final training run (empty: none; <see cref="NumberOfEpochs"/> trains).
    /// </summary>
    public IReadOnlyList<int> EpochCandidates { get; internal init; } = Array.Empty<int>();

    /// <summary>Threads libtorch may use while training; <c>null</c>: libtorch's default.</summary>
    public int? NumberOfThreads { get; internal init; }

    /// <summary>
    /// Whether the trainer fits offsets for rows that repeat a training row (<see cref="FeedForwardOptionsBase.RepeatedRowOffsets"/>;
    /// kept only when leave-one-out on the training rows says they pay): on for tables, off for images, unless
    /// <see cref="FffAutoTrainOptions.RepeatedRowOffsets"/> says otherwise.
    /// </summary>
    public bool RepeatedRowOffsets { get; internal init; }

    /// <summary>
    /// Height of the images the features hold, inferred or set by <see cref="FffAutoTrainOptions.ImageHeight"/>; 0 when the data is
    /// trained as a table. Images are trained with the image recipe (see <see cref="FffAutoTrainOptions.ImageHeight"/>).
    /// </summary>
    public int ImageHeight { get; internal init; }

    /// <summary>Width of the images the features hold; 0 when the data is trained as a table.</summary>
    public int ImageWidth { get; internal init; }

    /// <summary>Channels of the images the features hold (1: gray, 3: color); 0 when the data is trained as a table.</summary>
    public int ImageChannels { get; internal init; }

    /// <summary>One line per setting: its value and why (chosen from the rows, or set by an option).</summary>
    public IReadOnlyList<string> Reasons { get; }
}
