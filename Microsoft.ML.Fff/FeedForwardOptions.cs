using System;

namespace Microsoft.ML.Fff;

/// <summary>Default values shared by the catalog overloads and the options of every trainer (the FFF-only ones are marked so).</summary>
public static class FffDefaults
{
    /// <summary>Default tree depth (<c>2^3 = 8</c> leaves).</summary>
    public const int Depth = 3;

    /// <summary>Default number of neurons per leaf.</summary>
    public const int LeafWidth = 32;

    /// <summary>Default number of passes over the training data.</summary>
    public const int NumberOfEpochs = 60;

    /// <summary>Default mini-batch size.</summary>
    public const int BatchSize = 64;

    /// <summary>Default peak learning rate.</summary>
    public const float LearningRate = 3e-3f;

    /// <summary>Default decoupled weight decay (AdamW).</summary>
    public const float WeightDecay = 1e-4f;

    /// <summary>Default of <see cref="FeedForwardOptionsBase.ClampToTrainingRange"/>.</summary>
    public const bool ClampToTrainingRange = true;

    /// <summary>Default of <see cref="FeedForwardOptionsBase.RepeatedRowOffsets"/> (<c>Fff().Train</c> turns it on for tables).</summary>
    public const bool RepeatedRowOffsets = false;

    /// <summary>Default final weight of the hardening (node entropy) loss.</summary>
    public const float HardeningWeight = 1f;

    /// <summary>Default size up to which training data is kept in memory; larger data is streamed every epoch.</summary>
    public const int InMemoryLimitMegabytes = 256;

    /// <summary>Default fraction of the epochs spent fine-tuning the leaves under hard routing.</summary>
    public const float HardFineTuneFraction = 0.4f;

    /// <summary>Default master-leaf width (0: no master leaf).</summary>
    public const int MasterLeafWidth = 0;

    /// <summary>Default weight of the load-balancing loss (0: off).</summary>
    public const float LoadBalancingWeight = 0f;

    /// <summary>Default weight of the teacher term in knowledge distillation (FFF only; used when a teacher width is set).</summary>
    public const float DistillationWeight = 0.5f;

    /// <summary>Default weight of the network's own soft predictions as a target in the hard fine-tune phase (FFF only; 0: off).</summary>
    public const float FineTuneSoftTargetWeight = 0f;

    /// <summary>Default distillation temperature (FFF only).</summary>
    public const float DistillationTemperature = 2f;

    /// <summary>Default fraction of the soft epochs with the load-balancing loss on.</summary>
    public const float LoadBalancingFraction = 0.5f;

    /// <summary>Largest depth the trainers accept (65,536 leaves).</summary>
    public const int MaxDepth = 16;

    /// <summary>Largest leaf width the trainers accept.</summary>
    public const int MaxLeafWidth = 8192;

    /// <summary>
    /// Default most distinct values a String column may have (in the rows scanned) for <c>mlContext.Fff().Train</c> to one-hot encode it
    /// as a category instead of featurizing it as free text.
    /// </summary>
    public const int MaxCategoricalCardinality = 256;

    /// <summary>Rows <c>mlContext.Fff().Train</c> reads, from the start of the data, to decide whether each String column is categorical or free text.</summary>
    public const int CategoricalScanRows = 10_000;

    /// <summary>Default values per embedded feature of a numeric embedding (<c>NumericEmbeddingWidth</c>).</summary>
    public const int NumericEmbeddingWidth = 16;

    /// <summary>Default quantile bins per feature of the piecewise-linear embedding (<c>NumericEmbeddingBins</c>).</summary>
    public const int NumericEmbeddingBins = 16;

    /// <summary>Default learned frequencies per feature of the periodic embedding (<c>NumericEmbeddingFrequencies</c>).</summary>
    public const int NumericEmbeddingFrequencies = 16;

    /// <summary>Default standard deviation of the periodic embedding's initial frequencies (<c>PeriodicSigma</c>).</summary>
    public const float PeriodicSigma = 0.1f;
}

/// <summary>Optimizer used for training.</summary>
public enum FffOptimizer
{
    /// <summary>Adam (Kingma &amp; Ba) with L2 regularization folded into the gradient when weight decay is set.</summary>
    Adam,
    /// <summary>AdamW: Adam with decoupled weight decay (Loshchilov &amp; Hutter).</summary>
    AdamW,
}

/// <summary>How the learning rate changes during training.</summary>
public enum FffLearningRateSchedule
{
    /// <summary>The same learning rate every step.</summary>
    Constant,
    /// <summary>A short linear warm-up, then cosine decay to zero at the end of each phase.</summary>
    Cosine,
}

/// <summary>How the weight of the hardening loss evolves over the soft-training epochs.</summary>
public enum FffHardeningSchedule
{
    /// <summary>The full <c>HardeningWeight</c> from the first epoch (the reference notebooks).</summary>
    Constant,
    /// <summary>Rises linearly from zero to <c>HardeningWeight</c> over the soft-training epochs, so routing is learned before it is frozen.</summary>
    Linear,
    /// <summary>
    /// The load-balancing paper's two phases: <c>HardeningWeight / 3</c> while the load-balancing loss is on (the first
    /// <c>LoadBalancingFraction</c> of the soft epochs), then <c>HardeningWeight</c>.
    /// </summary>
    TwoPhase,
}

/// <summary>The network family a model holds.</summary>
public enum FffArchitecture
{
    /// <summary>Fast feedforward network: a tree of routing neurons; each row is scored by one leaf (or one path of neurons).</summary>
    FastFeedForward,
    /// <summary>Dense multi-layer perceptron: every neuron scores every row.</summary>
    Dense,
    /// <summary>Mixture of experts: a gate picks the k experts that score each row.</summary>
    MixtureOfExperts,
}

/// <summary>How input features are scaled for training. Scaling is folded into the first-layer weights, so the saved model takes raw features.</summary>
public enum FffFeatureScaling
{
    /// <summary>
    /// Each feature is standardized (zero mean, unit variance), except features whose training values are only 0 and 1 (one-hot
    /// categories, Booleans), which are kept as they are unless <c>ImageHeight</c> is set (pixels are all standardized). Sparse rows of 1,024 features or more (text) are divided by each feature's
    /// largest absolute value instead, so they stay sparse, and with a learned embedding (<c>EmbeddingDimension</c> &gt; 0) sparse
    /// features are used as given (a token bag is already normalized, and the table learns each token's scale).
    /// </summary>
    Auto,
    /// <summary>Features are used as given (normalize them in the pipeline yourself).</summary>
    None,
    /// <summary>
    /// Each feature is mapped through its training quantiles to a standard normal: up to 256 knots (training quantile,
    /// normal quantile), interpolated piecewise-linearly and clamped to the end knots; a constant feature maps to 0. The map
    /// is an input stage stored with the model (format 0x00010003) and applied by the scorer before the network. Dense
    /// features, or sparse features narrower than 1,024 slots (densified per row).
    /// </summary>
    QuantileNormal,
    /// <summary>
    /// RealMLP's robust scaling: each feature is centred on its training median and divided by its interquartile range
    /// (by its range when that is 0, else by 1), then smoothly clipped by <c>x / sqrt(1 + (x/3)^2)</c> into (-3, 3). An
    /// input stage like <see cref="QuantileNormal"/>, with the same data requirements.
    /// </summary>
    RobustSmoothClip,
}

/// <summary>
/// A learned embedding of each numerical feature, trained with the network and stored in front of it as an input stage
/// (Gorishniy et al. 2022). Features with at most two distinct training values (binary, one-hot) pass through unembedded.
/// </summary>
public enum FffNumericEmbedding
{
    /// <summary>No embedding: the network sees the (scaled) features.</summary>
    None,
    /// <summary>
    /// Piecewise-linear encoding over <c>NumericEmbeddingBins</c> quantile bins of the feature, then a per-feature linear map
    /// to <c>NumericEmbeddingWidth</c> values and ReLU.
    /// </summary>
    PiecewiseLinear,
    /// <summary>
    /// Periodic ("PLR"): <c>sin</c> and <c>cos</c> of <c>2π c x</c> for <c>NumericEmbeddingFrequencies</c> learned frequencies
    /// <c>c</c> (initialized N(0, <c>PeriodicSigma</c>²)), then a per-feature linear map to <c>NumericEmbeddingWidth</c> values and ReLU.
    /// </summary>
    Periodic,
}

/// <summary>Where training runs. Scoring always runs in pure C# on the CPU.</summary>
public enum FffDevice
{
    /// <summary>The CPU, through libtorch (package TorchSharp-cpu).</summary>
    Cpu,
    /// <summary>The first CUDA GPU (needs a CUDA build of libtorch); training fails with a clear message when none is available.</summary>
    Cuda,
}

/// <summary>Options shared by every trainer of this library (FFF, dense and mixture of experts, all tasks).</summary>
public abstract class FeedForwardOptionsBase
{
    /// <summary>Label column. Default <c>"Label"</c>.</summary>
    public string LabelColumnName { get; set; } = "Label";

    /// <summary>Feature column: a known-size vector of Single. Default <c>"Features"</c>.</summary>
    public string FeatureColumnName { get; set; } = "Features";

    /// <summary>Optional example-weight column (Single, finite, non-negative). Default <c>null</c> (every row weighs 1).</summary>
    public string? ExampleWeightColumnName { get; set; }

    /// <summary>Total passes over the training data, soft training and hard fine-tuning together. Default <see cref="FffDefaults.NumberOfEpochs"/>; at least 1.</summary>
    public int NumberOfEpochs { get; set; } = FffDefaults.NumberOfEpochs;

    /// <summary>Rows per mini-batch. Default <see cref="FffDefaults.BatchSize"/>; at least 1. A batch larger than the data set is cut to the data set's size (with a warning).</summary>
    public int BatchSize { get; set; } = FffDefaults.BatchSize;

    /// <summary>Peak learning rate. Default <see cref="FffDefaults.LearningRate"/>; finite and greater than 0.</summary>
    public float LearningRate { get; set; } = FffDefaults.LearningRate;

    /// <summary>Learning-rate schedule. Default <see cref="FffLearningRateSchedule.Cosine"/>.</summary>
    public FffLearningRateSchedule LearningRateSchedule { get; set; } = FffLearningRateSchedule.Cosine;

    /// <summary>Optimizer. Default <see cref="FffOptimizer.AdamW"/>.</summary>
    public FffOptimizer Optimizer { get; set; } = FffOptimizer.AdamW;

    /// <summary>Weight decay. Default <see cref="FffDefaults.WeightDecay"/>; finite and at least 0.</summary>
    public float WeightDecay { get; set; } = FffDefaults.WeightDecay;

    /// <summary>Input scaling used in training (folded into the saved weights). Default <see cref="FffFeatureScaling.Auto"/>.</summary>
    public FffFeatureScaling FeatureScaling { get; set; } = FffFeatureScaling.Auto;

    /// <summary>
    /// Whether the saved model holds each measured feature to the range it had in training before scoring (as a tree ensemble
    /// does, whose splits all lie inside that range): a row with a value far outside it, such as a data-entry error, then gets the
    /// prediction of the nearest training value instead of the network's linear extrapolation. 0/1 indicator slots (one-hot
    /// categories, Booleans) are left free. Applies to dense feature columns and sparse ones narrower than 1,024 slots, without
    /// another input stage (<see cref="FeatureScaling"/> QuantileNormal or RobustSmoothClip, or a <see cref="NumericEmbedding"/>:
    /// those are bounded already), a token embedding or an image shape. Rows inside the training range score exactly as without
    /// it. Default <see cref="FffDefaults.ClampToTrainingRange"/> (true).
    /// </summary>
    public bool ClampToTrainingRange { get; set; } = FffDefaults.ClampToTrainingRange;

    /// <summary>
    /// Whether the model also remembers the training rows' exact feature values: a row to score whose features equal a training
    /// row's gets the network's outputs plus an offset per output, fitted after training from the residuals of the training rows
    /// with those features and shrunk toward 0 (one Newton step under a prior whose strength leave-one-out chooses). Panel data, where
    /// the same people, firms or places come back with the same features in several years, gains what the network's smooth
    /// function cannot give each of them; the offsets are fitted only when at least 1 % of the training rows repeat, and kept only
    /// when leaving each training row out of its own group's offset still lowers the training loss, so data without repeated rows
    /// gets the network unchanged (the log says which). Needs dense feature columns of at most 1,024 slots held in memory
    /// (<see cref="InMemoryLimitMegabytes"/>); a row costs one hash lookup more. Default <see cref="FffDefaults.RepeatedRowOffsets"/>
    /// (false); <c>Fff().Train</c> turns it on for tables.
    /// </summary>
    public bool RepeatedRowOffsets { get; set; } = FffDefaults.RepeatedRowOffsets;

    /// <summary>
    /// Learned embedding of each numerical feature before the network (on the features as <see cref="FeatureScaling"/> maps them).
    /// The network then sees <c>NumericEmbeddingWidth</c> values per embedded feature. Default <see cref="FffNumericEmbedding.None"/>.
    /// Needs dense features, or sparse features narrower than 1,024 slots.
    /// </summary>
    public FffNumericEmbedding NumericEmbedding { get; set; } = FffNumericEmbedding.None;

    /// <summary>Values each embedded feature becomes (d_e). Default <see cref="FffDefaults.NumericEmbeddingWidth"/>; range [1, 256]. Used when <see cref="NumericEmbedding"/> is not None.</summary>
    public int NumericEmbeddingWidth { get; set; } = FffDefaults.NumericEmbeddingWidth;

    /// <summary>
    /// Quantile bins per feature of <see cref="FffNumericEmbedding.PiecewiseLinear"/> (fewer when the feature has fewer distinct
    /// values). Default <see cref="FffDefaults.NumericEmbeddingBins"/>; range [1, 256].
    /// </summary>
    public int NumericEmbeddingBins { get; set; } = FffDefaults.NumericEmbeddingBins;

    /// <summary>Learned frequencies per feature of <see cref="FffNumericEmbedding.Periodic"/>. Default <see cref="FffDefaults.NumericEmbeddingFrequencies"/>; range [1, 256].</summary>
    public int NumericEmbeddingFrequencies { get; set; } = FffDefaults.NumericEmbeddingFrequencies;

    /// <summary>
    /// Standard deviation of the initial frequencies of <see cref="FffNumericEmbedding.Periodic"/> (on standardized features: small
    /// values start nearly linear, large ones oscillate). Default <see cref="FffDefaults.PeriodicSigma"/>; finite, in (0, 100].
    /// </summary>
    public float PeriodicSigma { get; set; } = FffDefaults.PeriodicSigma;

    /// <summary>
    /// Input dropout: during training, each feature of each row is set to its mean (0 after the trainer's standardization)
    /// with this probability and the rest are scaled by <c>1 / (1 - p)</c>; a regularizer for wide inputs such as pixels.
    /// Dense feature columns only (sparse batches are used as they are). Default 0 (off); range [0, 1).
    /// </summary>
    public float InputDropout { get; set; }

    /// <summary>
    /// Shift augmentation for image features: every training row is moved by a random whole number of pixels, up to this many
    /// in each direction (drawn independently for rows and columns, the same for all channels), and the pixels moved in from
    /// outside the image are 0. Evaluation, early stopping and the saved model see the rows unshifted. Needs
    /// <see cref="ImageHeight"/> and <see cref="ImageWidth"/>, and a dense feature vector of
    /// <c>channels x ImageHeight x ImageWidth</c> values, channel-planar and row-major (what ML.NET's <c>ExtractPixels</c>
    /// writes by default and the MNIST idx loader writes). Default 0 (off); range [0, min(ImageHeight, ImageWidth) - 1].
    /// </summary>
    public int ShiftAugmentation { get; set; }

    /// <summary>Height in pixels of the images in the feature vector, for <see cref="ShiftAugmentation"/>. Default 0 (not images); at least 0.</summary>
    public int ImageHeight { get; set; }

    /// <summary>Width in pixels of the images in the feature vector, for <see cref="ShiftAugmentation"/>. Default 0 (not images); at least 0.</summary>
    public int ImageWidth { get; set; }

    /// <summary>
    /// Label smoothing for classification: the training target puts <c>1 - s</c> on the label and spreads <c>s</c> evenly over
    /// all classes (binary: targets <c>s/2</c> and <c>1 - s/2</c>). Discourages over-confident fits. Default 0 (off); range [0, 1).
    /// Ignored for regression.
    /// </summary>
    public float LabelSmoothing { get; set; }

    /// <summary>
    /// With a validation set (<c>Fit(train, validation)</c>): stop when the hard-descent validation metric (AUC for binary classification,
    /// accuracy for multiclass, R² for regression) has not improved for this many epochs, and keep the best model seen. Default 0 (train
    /// all epochs, still keeping the best model). At least 0.
    /// </summary>
    public int EarlyStoppingPatience { get; set; }

    /// <summary>Seed for initialization, shuffling and region leak. Default <c>null</c>: drawn from the <see cref="MLContext"/>'s seed.</summary>
    public int? Seed { get; set; }

    /// <summary>
    /// Training data up to this size (features, labels and weights as stored) is read once and kept in memory; larger data is
    /// streamed from the <see cref="IDataView"/> every epoch, shuffled within chunks of about 64 MB, so memory stays bounded.
    /// Default <see cref="FffDefaults.InMemoryLimitMegabytes"/>; at least 0 (0 always streams).
    /// </summary>
    public int InMemoryLimitMegabytes { get; set; } = FffDefaults.InMemoryLimitMegabytes;

    /// <summary>
    /// When no validation set is given: the fraction of the training rows (seeded by the trainer's seed) held out as one, so the
    /// best epoch is kept and <see cref="EarlyStoppingPatience"/> applies. Internal: the one-call <c>Fff().Train</c> sets it, so that
    /// its pipeline stays a plain estimator chain (<c>CreatePipeline(...).Fit(data)</c>, cross-validation) yet validates. 0 (default): off.
    /// </summary>
    internal double HoldoutFraction { get; set; }

    /// <summary>
    /// When no validation set is given and there is no holdout: numbers of epochs (two or more, each at least 1) compared by
    /// <see cref="EpochSelectionFolds"/>-fold cross-validation of the hard-descent metric on the training rows; the best (the smallest
    /// on a tie) then trains on all rows, replacing <see cref="NumberOfEpochs"/>. Internal: the one-call <c>Fff().Train</c> sets it on
    /// small data (<c>FffAutoTrainOptions.EpochCandidates</c>). <c>null</c> (default): off.
    /// </summary>
    internal int[]? EpochCandidates { get; set; }

    /// <summary>
    /// Whether <see cref="BatchSize"/> was chosen for the data by <c>Fff().Train</c> rather than set by the user: a run on fewer rows
    /// (a small table, or a fold of its epoch selection) then takes them all in one batch without a warning, since nobody asked for
    /// the larger batch. Internal; default <c>false</c>.
    /// </summary>
    internal bool BatchSizeChosenForData { get; set; }

    /// <summary>Folds of the <see cref="EpochCandidates"/> cross-validation. Default 3; range 2 .. 10.</summary>
    internal int EpochSelectionFolds { get; set; } = 3;

    /// <summary>
    /// With <see cref="ShiftAugmentation"/> on: also trains without the shifts on the same rows and keeps whichever model scores the
    /// better hard-descent metric on the validation set (given, or <see cref="HoldoutFraction"/>; the shifted one on a tie). Without a
    /// validation set, from 1,000 rows, a seeded tenth of the rows is the check and the winner then trains on all rows (three runs). Internal: the one-call <c>Fff().Train</c> sets it for images, since shifting helps some image sets (handwritten
    /// digits) and hurts others (aligned photographs of clothes). Default false.
    /// </summary>
    internal bool CompareShiftAugmentation { get; set; }

    /// <summary>A copy of these options with <see cref="ShiftAugmentation"/> off, for the comparison run.</summary>
    internal FeedForwardOptionsBase WithoutShiftAugmentation()
    {
        FeedForwardOptionsBase copy = WithoutShiftComparison();
        copy.ShiftAugmentation = 0;
        return copy;
    }

    /// <summary>A copy of these options with <see cref="CompareShiftAugmentation"/> off (the comparison is decided).</summary>
    internal FeedForwardOptionsBase WithoutShiftComparison()
    {
        var copy = (FeedForwardOptionsBase)MemberwiseClone();
        copy.CompareShiftAugmentation = false;
        return copy;
    }

    /// <summary>
    /// A copy of these options for one training run inside this trainer (an epoch-selection fold, or the final run with the chosen
    /// epochs), so the caller's options are never written to.
    /// </summary>
    internal FeedForwardOptionsBase ForRun(int numberOfEpochs, bool isFold)
    {
        var copy = (FeedForwardOptionsBase)MemberwiseClone();
        copy.NumberOfEpochs = numberOfEpochs;
        copy.EpochCandidates = null;
        if (isFold)
        {
            // The folds report nothing to the caller's progress, skip the per-epoch metrics (their held-out rows judge them), and
            // leave libtorch's process-wide thread count to the selection, which runs them side by side.
            copy.Progress = null;
            copy.EpochMetrics = EpochMetrics.None;
            copy.NumberOfThreads = null;
            // A fold's model is only measured, never returned.
            copy.RepeatedRowOffsets = false;
        }
        return copy;
    }

    /// <summary>Which epochs of a run without a validation set measure the soft and hard metrics on a training sample (default every epoch).</summary>
    internal EpochMetrics EpochMetrics { get; set; } = EpochMetrics.Every;

    /// <summary>Rows per streamed chunk, overriding the 64 MB sizing (tests use it to stream small data in several chunks).</summary>
    internal int? StreamChunkRows { get; set; }

    /// <summary>
    /// Checked before every mini-batch and every epoch's evaluation; when cancelled, training stops with an
    /// <see cref="OperationCanceledException"/>. Internal: the experiment (<c>FffExperiment</c>) uses it to stop a trial.
    /// </summary>
    internal System.Threading.CancellationToken CancellationToken { get; set; }

    /// <summary>Training device. Default <see cref="FffDevice.Cpu"/>.</summary>
    public FffDevice Device { get; set; } = FffDevice.Cpu;

    /// <summary>Threads libtorch may use while training. Default <c>null</c> (libtorch's choice); at least 1 when set.</summary>
    public int? NumberOfThreads { get; set; }

    /// <summary>Called after every epoch with losses and metrics. Default <c>null</c>. Messages also go to <c>MLContext.Log</c>.</summary>
    public IProgress<FffTrainingProgress>? Progress { get; set; }

    /// <summary>Throws <see cref="ArgumentOutOfRangeException"/> or <see cref="ArgumentException"/> naming the first invalid option.</summary>
    internal virtual void Validate()
    {
        CheckName(LabelColumnName, nameof(LabelColumnName));
        CheckName(FeatureColumnName, nameof(FeatureColumnName));
        if (ExampleWeightColumnName != null)
            CheckName(ExampleWeightColumnName, nameof(ExampleWeightColumnName));
        Check(NumberOfEpochs >= 1, nameof(NumberOfEpochs), NumberOfEpochs, "must be at least 1");
        Check(BatchSize >= 1, nameof(BatchSize), BatchSize, "must be at least 1");
        Check(float.IsFinite(LearningRate) && LearningRate > 0, nameof(LearningRate), LearningRate, "must be finite and greater than 0 (try 1e-3)");
        Check(float.IsFinite(WeightDecay) && WeightDecay >= 0, nameof(WeightDecay), WeightDecay, "must be finite and at least 0");
        Check(InMemoryLimitMegabytes >= 0, nameof(InMemoryLimitMegabytes), InMemoryLimitMegabytes, "must be at least 0");
        Check(EarlyStoppingPatience >= 0, nameof(EarlyStoppingPatience), EarlyStoppingPatience, "must be at least 0");
        if (EpochCandidates != null)
        {
            foreach (int candidate in EpochCandidates)
                Check(candidate >= 1, nameof(EpochCandidates), candidate, "must hold numbers of epochs of at least 1");
        }
        Check(EpochSelectionFolds is >= 2 and <= 10, nameof(EpochSelectionFolds), EpochSelectionFolds, "must be in [2, 10]");
        Check(InputDropout >= 0 && InputDropout < 1, nameof(InputDropout), InputDropout, "must be in [0, 1)");
        Check(LabelSmoothing >= 0 && LabelSmoothing < 1, nameof(LabelSmoothing), LabelSmoothing, "must be in [0, 1)");
        Check(ImageHeight >= 0, nameof(ImageHeight), ImageHeight, "must be at least 0");
        Check(ImageWidth >= 0, nameof(ImageWidth), ImageWidth, "must be at least 0");
        Check(ShiftAugmentation >= 0, nameof(ShiftAugmentation), ShiftAugmentation, "must be at least 0");
        if (ShiftAugmentation > 0)
        {
            Check(ImageHeight > 0 && ImageWidth > 0, nameof(ShiftAugmentation), ShiftAugmentation,
                "needs the image size: set ImageHeight and ImageWidth (the feature vector holds channels x ImageHeight x ImageWidth pixels)");
            Check(ShiftAugmentation < Math.Min(ImageHeight, ImageWidth), nameof(ShiftAugmentation), ShiftAugmentation,
                $"must be smaller than the image's height and width ({ImageHeight} x {ImageWidth})");
        }
        Check(NumberOfThreads is null or >= 1, nameof(NumberOfThreads), NumberOfThreads, "must be at least 1 when set");
        Check(Enum.IsDefined(Optimizer), nameof(Optimizer), Optimizer, "is not a defined value");
        Check(Enum.IsDefined(LearningRateSchedule), nameof(LearningRateSchedule), LearningRateSchedule, "is not a defined value");
        Check(Enum.IsDefined(FeatureScaling), nameof(FeatureScaling), FeatureScaling, "is not a defined value");
        Check(Enum.IsDefined(NumericEmbedding), nameof(NumericEmbedding), NumericEmbedding, "is not a defined value");
        Check(NumericEmbeddingWidth is >= 1 and <= MaxNumericEmbeddingSize, nameof(NumericEmbeddingWidth), NumericEmbeddingWidth, $"must be in [1, {MaxNumericEmbeddingSize}]");
        Check(NumericEmbeddingBins is >= 1 and <= MaxNumericEmbeddingSize, nameof(NumericEmbeddingBins), NumericEmbeddingBins, $"must be in [1, {MaxNumericEmbeddingSize}]");
        Check(NumericEmbeddingFrequencies is >= 1 and <= MaxNumericEmbeddingSize, nameof(NumericEmbeddingFrequencies), NumericEmbeddingFrequencies,
            $"must be in [1, {MaxNumericEmbeddingSize}]");
        Check(float.IsFinite(PeriodicSigma) && PeriodicSigma > 0 && PeriodicSigma <= 100, nameof(PeriodicSigma), PeriodicSigma, "must be finite and in (0, 100] (try 0.1)");
        Check(Enum.IsDefined(Device), nameof(Device), Device, "is not a defined value");
    }

    /// <summary>Largest <see cref="NumericEmbeddingWidth"/>, <see cref="NumericEmbeddingBins"/> and <see cref="NumericEmbeddingFrequencies"/> accepted (and stored).</summary>
    internal const int MaxNumericEmbeddingSize = 256;

    private static void CheckName(string? name, string option)
    {
        if (string.IsNullOrWhiteSpace(name))
            throw new ArgumentException($"Option {option} must name a column.", option);
    }

    /// <summary>Throws <see cref="ArgumentOutOfRangeException"/> for <paramref name="option"/> unless <paramref name="ok"/>.</summary>
    private protected static void Check(bool ok, string option, object? value, string rule)
    {
        if (!ok)
            throw new ArgumentOutOfRangeException(option, value, $"Option {option} {rule}; it is {value}.");
    }
}

/// <summary>Which epochs of a run without a validation set measure their metrics on a training sample.</summary>
internal enum EpochMetrics
{
    /// <summary>Every epoch (the trainers' default: <see cref="FffTrainingReport.Epochs"/> holds the whole curve).</summary>
    Every,

    /// <summary>
    /// Only the last: the one-call <c>Train</c> without a holdout and without a progress subscriber, where no one reads the
    /// curve and measuring it cost up to a quarter of training on small sets (docs/tabular.md "Training steps: freed memory and
    /// one product", item 3).
    /// </summary>
    Last,

    /// <summary>None (epoch-selection folds, which their held-out rows judge).</summary>
    None,
}

/// <summary>Which stage of training an epoch belongs to.</summary>
public enum FffTrainingPhase
{
    /// <summary>Soft training: every leaf is mixed by its path probability; the hardening loss pushes decisions to 0/1.</summary>
    Soft,
    /// <summary>Nodes frozen; each row trains only the leaf that hard descent reaches.</summary>
    HardFineTune,
    /// <summary>Training that computes at every step the function the model scores: dense and mixture-of-experts models, and FFF with neuron nodes.</summary>
    Training,
}

/// <summary>One epoch's report, passed to <see cref="FeedForwardOptionsBase.Progress"/> and kept in <see cref="FffTrainingReport"/>.</summary>
public sealed record FffTrainingProgress
{
    /// <summary>1-based epoch number.</summary>
    public int Epoch { get; init; }

    /// <summary>Total number of epochs planned.</summary>
    public int NumberOfEpochs { get; init; }

    /// <summary>Stage of training.</summary>
    public FffTrainingPhase Phase { get; init; }

    /// <summary>Mean prediction loss over the epoch's batches (weighted).</summary>
    public double PredictionLoss { get; init; }

    /// <summary>Mean node-decision entropy over the epoch (0 = fully hard routing; ln 2 ≈ 0.693 = undecided); for mixtures of experts, the gate's entropy; 0 for dense models.</summary>
    public double NodeEntropy { get; init; }

    /// <summary>Mean load-balancing loss over the epoch (<c>N * sum f_j P_j</c>: 1 when perfectly balanced); 0 when not used.</summary>
    public double BalanceLoss { get; init; }

    /// <summary>Name of <see cref="SoftMetric"/>/<see cref="HardMetric"/>: "Accuracy" or "RSquared".</summary>
    public string MetricName { get; init; } = "";

    /// <summary>Metric of the soft (training-time) forward on the evaluation rows.</summary>
    public double SoftMetric { get; init; }

    /// <summary>Metric of hard descent (what the saved model computes) on the evaluation rows.</summary>
    public double HardMetric { get; init; }

    /// <summary><see cref="SoftMetric"/> minus <see cref="HardMetric"/>.</summary>
    public double SoftHardGap => SoftMetric - HardMetric;

    /// <summary>True when the metrics come from the validation set, false when from a sample of the training set.</summary>
    public bool OnValidationSet { get; init; }

    /// <summary>Learning rate at the end of the epoch.</summary>
    public double LearningRate { get; init; }

    /// <summary>Time since training started.</summary>
    public TimeSpan Elapsed { get; init; }
}

/// <summary>Summary of a training run, available on freshly trained model parameters.</summary>
public sealed class FffTrainingReport
{
    internal FffTrainingReport(FffTrainingProgress[] epochs, int bestEpoch, int trainingRows, TimeSpan duration)
    {
        Epochs = epochs;
        BestEpoch = bestEpoch;
        TrainingRows = trainingRows;
        Duration = duration;
    }

    /// <summary>Every epoch's report, in order.</summary>
    public System.Collections.Generic.IReadOnlyList<FffTrainingProgress> Epochs { get; }

    /// <summary>The epoch whose weights were kept (the last one, or the best on validation).</summary>
    public int BestEpoch { get; }

    /// <summary>Rows used for training.</summary>
    public int TrainingRows { get; }

    /// <summary>Wall-clock training time.</summary>
    public TimeSpan Duration { get; }

    /// <summary>The report of the kept epoch.</summary>
    public FffTrainingProgress Final => Epochs[BestEpoch - 1];
}
