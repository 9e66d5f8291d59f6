using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using System.Numerics;

namespace Microsoft.ML.Fff;

/// <summary>
/// The data-aware training settings of <see cref="FffCatalog.Train"/>: each setting the options leave <c>null</c> is chosen from the
/// number of training rows, and every setting gets a line saying why. A pure function of (rows, options), so the same data and
/// options always give the same choices (determinism).
/// </summary>
internal static class AutoTrainChoices
{
    // Batch size and learning rate by rows: small data keeps the trainers' defaults (many small steps, cheap anyway); larger data
    // takes larger batches, so an epoch needs fewer optimizer steps, and a higher rate to make up for the fewer steps.
    private const long MediumRows = 5_000;
    // Narrow tables below MediumRows: batches of 256, a quarter of the optimizer steps of the trainers' 64. Measured in two steps
    // (docs/tabular.md): 128 against 64, the same metrics in 36 % less time ("Batches of 128 below 5,000 rows"); then 256 against
    // 128, the same metrics below MaxRowsForEpochSelection in 27 % less time and +0.0033 per table from there in 41 % less ("Batches
    // of 256 below 1,000 rows"; 21 and 13 tables of three groups, four seeds each). Wider rows (text) keep 64: not measured there.
    // Below MaxRowsForEpochSelection an epoch is one to four steps and a higher rate makes up for them (1e-2; 7e-3 at batches of 128
    // beat 4.5e-3 by +0.0054, "A higher rate below 1,000 rows"); from there the trainers' rate did better (5e-3 lost 0.0021 per table).
    private const int SmallTableBatchSize = 256;
    private const float FewRowsLearningRate = 1e-2f;
    private const long LargeRows = 50_000;
    private const int MediumBatchSize = 256;
    private const float MediumLearningRate = 5e-3f;
    // Tables from 15,000 rows (where the holdout starts and the row budget cuts the epochs): batches of 512 at the large rate
    // trained 11-25 % faster at the same metrics on letter, randhie, cps1988, cpssw8 and 24,000 fertility rows (docs/tabular.md,
    // "Batches of 512 from 15,000 rows"). Images and wide rows (text) keep 256 there: not measured on them.
    private const long MidRows = 15_000;
    private const int MidBatchSize = 512;
    private const long MidBatchMaxInputs = FffAutoTrainChoices.MaxNarrowTableInputs;
    private const int LargeBatchSize = 1_024;
    private const float LargeLearningRate = 1e-2f;
    // Images: each neuron reads every pixel, so narrow leaves pay; depth 4 x leaf 16 (20 neurons per row) scored 95.3 % on the first
    // 10,000 MNIST rows where depth 3 x leaf 32 (35 neurons) scored 95.5 %, both with the image recipe (docs/decisions.md).
    private const int ImageDepth = 4;
    private const int ImageLeafWidth = 16;

    /// <param name="rows">Rows of the training data.</param>
    /// <param name="inputs">About how many values each row's feature vector holds (the thread choice weighs the input layer's work).</param>
    /// <param name="options">The caller's options; each setting they leave <c>null</c> is chosen here.</param>
    /// <param name="classCount">Classes of a multiclass label; <c>null</c> for the other tasks.</param>
    /// <param name="image">The image shape the features hold and why it was taken (<see cref="AutoTrainPlanner"/>); <c>null</c> for a table.</param>
    public static FffAutoTrainChoices Choose(long rows, long inputs, FffAutoTrainOptions options, int? classCount = null, ImageShape? image = null)
    {
        var reasons = new List<string>();
        string n = rows.ToString("N0", CultureInfo.InvariantCulture);
        if (image is ImageShape shape)
            reasons.Add(shape.Reason);
        int defaultDepth = image.HasValue ? ImageDepth : FffAutoTrainChoices.TableDepth;
        int defaultLeafWidth = image.HasValue ? ImageLeafWidth : FffDefaults.LeafWidth;
        string imageNote = image.HasValue ? " for images" : "";

        int depth;
        if (options.Depth is int setDepth)
        {
            depth = setDepth;
            reasons.Add($"depth {depth}: set by {nameof(FffAutoTrainOptions.Depth)}");
        }
        else
        {
            // Fragmentation: hard routing gives each leaf about rows / 2^depth rows; a deeper tree on few rows leaves each leaf too few.
            depth = defaultDepth;
            while (depth > 0 && rows >> depth < FffAutoTrainChoices.MinRowsPerLeaf)
                depth--;
            reasons.Add(depth == defaultDepth
                ? $"depth {depth}: the default{(image.HasValue ? imageNote : " for tables")}; {n} rows give each of the {1 << depth} leaves at least {FffAutoTrainChoices.MinRowsPerLeaf} rows on average"
                : $"depth {depth}: {n} rows are too few for {defaultDepth} levels (at least {FffAutoTrainChoices.MinRowsPerLeaf} rows per leaf on average); set {nameof(FffAutoTrainOptions.Depth)} to override");
        }

        int leafWidth;
        if (options.LeafWidth is int setWidth)
        {
            leafWidth = setWidth;
            reasons.Add($"leaf width {leafWidth}: set by {nameof(FffAutoTrainOptions.LeafWidth)}");
        }
        else if (classCount > FffAutoTrainChoices.MaxClassesForDefaultLeaf)
        {
            // A leaf computes the classes' logits from its hidden units: fewer units than classes squeeze them through a bottleneck.
            leafWidth = (int)Math.Min(BitOperations.RoundUpToPowerOf2((uint)(2 * classCount.Value)), FffDefaults.MaxLeafWidth);
            reasons.Add($"leaf width {leafWidth}: {classCount} classes (more than {FffAutoTrainChoices.MaxClassesForDefaultLeaf}); a leaf at least twice as wide as " +
                $"the output layer, so it is no bottleneck; set {nameof(FffAutoTrainOptions.LeafWidth)} to override");
        }
        else if (classCount.HasValue && !image.HasValue && rows >= FffAutoTrainChoices.MinRowsForWideClassLeaf && inputs <= FffAutoTrainChoices.MaxInputsForWideClassLeaf)
        {
            // Capacity, not rows, limits a 32-unit leaf on a multiclass table of this size (satellite, diamonds' cut); a boosted
            // ensemble's per-row cost grows with the classes, so the wider leaf stays far below it.
            leafWidth = FffAutoTrainChoices.WideClassLeafWidth;
            reasons.Add($"leaf width {leafWidth}: {classCount} classes on {n} rows (at least {FffAutoTrainChoices.MinRowsForWideClassLeaf:N0}) of about {inputs} inputs " +
                $"(at most {FffAutoTrainChoices.MaxInputsForWideClassLeaf}); set {nameof(FffAutoTrainOptions.LeafWidth)} to override");
        }
        else
        {
            leafWidth = defaultLeafWidth;
            reasons.Add($"leaf width {leafWidth}: the default{imageNote}" + (classCount is int classes ? $" ({classes} classes, at most {FffAutoTrainChoices.MaxClassesForDefaultLeaf})" : ""));
        }

        // The 15,000-row rules (no holdout below, batches of 512 above) were measured on tables of at most 36 inputs; images and wide
        // rows (text) keep the rules they were measured with.
        bool narrowTable = !image.HasValue && inputs <= MidBatchMaxInputs;
        // Why a row count is compared with the lower thresholds, in the reasons below.
        string wideNote = narrowTable ? "" : image.HasValue ? imageNote : $" with more than {MidBatchMaxInputs} inputs";
        int trees;
        if (options.EnsembleSize is int setTrees)
        {
            trees = setTrees;
            reasons.Add($"{trees} leaf tree(s): set by {nameof(FffAutoTrainOptions.EnsembleSize)}");
        }
        else if (classCount > FffAutoTrainChoices.MaxClassesForDefaultLeaf && rows >= FffAutoTrainChoices.MinRowsForManyClassEnsemble)
        {
            // Many classes on plenty of rows: capacity, not data, limits one tree (letter); on a few hundred rows the extra trees
            // did not pay for their training time and latency (soybean).
            trees = FffAutoTrainChoices.ManyClassEnsembleSize;
            reasons.Add($"{trees} leaf trees, averaged: {classCount} classes (more than {FffAutoTrainChoices.MaxClassesForDefaultLeaf}) on {n} rows " +
                $"(at least {FffAutoTrainChoices.MinRowsForManyClassEnsemble:N0}) need more capacity than one tree; each scored row costs {trees} trees' neurons; " +
                $"set {nameof(FffAutoTrainOptions.EnsembleSize)} to override");
        }
        else if (image.HasValue && rows >= FffAutoTrainChoices.MinRowsForImageEnsemble)
        {
            // Images: a second tree raised the first 10,000 MNIST rows from 95.3 % to 96.3 % (past LightGBM's 96.1 %), 300 to 3,000
            // MNIST and Fashion-MNIST rows by 0.2 to 3.0 points, and digits (1,437 rows) by 0.7 over three splits (docs/decisions.md,
            // "Two trees for images from 300 rows").
            trees = FffAutoTrainChoices.ImageEnsembleSize;
            reasons.Add($"{trees} leaf trees, averaged: images on {n} rows (at least {FffAutoTrainChoices.MinRowsForImageEnsemble:N0}); each scored row costs {trees} trees' neurons; " +
                $"set {nameof(FffAutoTrainOptions.EnsembleSize)} to override");
        }
        else
        {
            trees = 1;
        }

        (int autoBatch, float autoRate, string size) = rows < MediumRows && !narrowTable ? (FffDefaults.BatchSize, FffDefaults.LearningRate, $"below {MediumRows:N0} rows{wideNote}")
            : rows < FffAutoTrainChoices.MaxRowsForEpochSelection ? (SmallTableBatchSize, FewRowsLearningRate, $"below {FffAutoTrainChoices.MaxRowsForEpochSelection:N0} rows")
            : rows < MediumRows ? (SmallTableBatchSize, FffDefaults.LearningRate, $"{FffAutoTrainChoices.MaxRowsForEpochSelection:N0} to {MediumRows:N0} rows")
            : rows < MidRows || (!narrowTable && rows < LargeRows)
                ? (MediumBatchSize, MediumLearningRate, $"{MediumRows:N0} to {(narrowTable ? MidRows : LargeRows):N0} rows{wideNote}")
            : rows < LargeRows ? (MidBatchSize, LargeLearningRate, $"{MidRows:N0} to {LargeRows:N0} rows of at most {MidBatchMaxInputs} inputs")
            : (LargeBatchSize, LargeLearningRate, $"{LargeRows:N0} rows or more");
        int batch = options.BatchSize ?? autoBatch;
        reasons.Add(options.BatchSize.HasValue ? $"batch size {batch}: set by {nameof(FffAutoTrainOptions.BatchSize)}"
            : $"batch size {batch}: {n} rows ({size}); larger data takes larger batches so an epoch needs fewer steps");
        float rate = options.LearningRate ?? autoRate;
        reasons.Add(options.LearningRate.HasValue ? $"learning rate {rate.ToString("G3", CultureInfo.InvariantCulture)}: set by {nameof(FffAutoTrainOptions.LearningRate)}"
            : $"learning rate {rate.ToString("G3", CultureInfo.InvariantCulture)}: goes with batch size {autoBatch} ({size})");

        double fraction;
        // Images keep the lower threshold (their holdout also decides the shift augmentation, below), and so do wide rows.
        long minHoldoutRows = narrowTable ? FffAutoTrainChoices.MinRowsForHoldout : FffAutoTrainChoices.MinImageRowsForHoldout;
        if (options.ValidationFraction is double setFraction)
        {
            fraction = setFraction;
            reasons.Add($"validation holdout {fraction.ToString("0.###", CultureInfo.InvariantCulture)}: set by {nameof(FffAutoTrainOptions.ValidationFraction)}");
        }
        else if (rows >= minHoldoutRows)
        {
            fraction = FffAutoTrainChoices.DefaultValidationFraction;
            reasons.Add($"validation holdout {fraction.ToString("0.###", CultureInfo.InvariantCulture)} (seeded): {n} rows (at least {minHoldoutRows:N0}{wideNote}); " +
                "the best epoch on it is kept and early stopping ends training");
        }
        else
        {
            fraction = 0;
            reasons.Add($"no validation holdout: {n} rows (below {minHoldoutRows:N0}{wideNote}) are worth more for training than for choosing an epoch; all epochs run and the last is kept");
        }

        if (image is ImageShape shifted && Math.Min(shifted.Height, shifted.Width) >= FffAutoTrainChoices.MinShiftedImageSide)
        {
            reasons.Add(fraction > 0
                ? "shift augmentation of 1 pixel, compared on the validation holdout with a run without it (training runs twice); the better model is kept"
                : "shift augmentation of 1 pixel, compared with a run without it on a seeded tenth of the rows (from 1,000 rows), then the better trains on all rows (three runs)");
        }
        int patience = options.EarlyStoppingPatience ?? (fraction > 0 ? FffAutoTrainChoices.DefaultEarlyStoppingPatience : 0);
        if (fraction > 0)
        {
            reasons.Add(options.EarlyStoppingPatience.HasValue ? $"early-stopping patience {patience}: set by {nameof(FffAutoTrainOptions.EarlyStoppingPatience)}"
                : $"early-stopping patience {patience} epochs on the validation holdout");
        }
        int epochs;
        if (options.NumberOfEpochs is int setEpochs)
        {
            epochs = setEpochs;
            reasons.Add($"at most {epochs} epochs: set by {nameof(FffAutoTrainOptions.NumberOfEpochs)}");
        }
        else
        {
            // Each epoch of large data already takes many steps: the epochs are fitted to a budget of rows seen, so the cosine schedule
            // and the hardening schedule (both spread over the planned epochs) run to their end instead of being cut by early stopping.
            long trainingRows = Math.Max(1, (long)Math.Round(rows * (1 - fraction)));
            // Shifted images are new rows on every pass, so images get more passes for the same size.
            long budget = image.HasValue ? FffAutoTrainChoices.ImageRowPassBudget : FffAutoTrainChoices.RowPassBudget;
            epochs = (int)Math.Clamp((budget + trainingRows - 1) / trainingRows, FffAutoTrainChoices.MinEpochs, FffDefaults.NumberOfEpochs);
            string training = trainingRows.ToString("N0", CultureInfo.InvariantCulture);
            reasons.Add(epochs == FffDefaults.NumberOfEpochs
                ? $"at most {epochs} epochs (the default): {training} training rows"
                : $"at most {epochs} epochs: {training} training rows; larger data needs fewer passes, so the epochs are fitted to about " +
                  $"{budget:N0} rows seen in all{imageNote} (at least {FffAutoTrainChoices.MinEpochs}); set {nameof(FffAutoTrainOptions.NumberOfEpochs)} to override");
        }

        int[] candidates;
        if (options.EpochCandidates is int[] setCandidates)
        {
            candidates = setCandidates.Length > 1 ? setCandidates.Distinct().Order().ToArray() : Array.Empty<int>();
            reasons.Add(candidates.Length > 1
                ? $"epochs chosen among {string.Join(", ", candidates)} by {FffAutoTrainChoices.EpochSelectionFolds}-fold cross-validation: set by {nameof(FffAutoTrainOptions.EpochCandidates)}"
                : $"no epoch selection: switched off by {nameof(FffAutoTrainOptions.EpochCandidates)}");
        }
        else if (!options.NumberOfEpochs.HasValue && fraction == 0 && rows >= FffAutoTrainChoices.MinRowsForEpochSelection && rows < FffAutoTrainChoices.MaxRowsForEpochSelection)
        {
            // Small data: longer training helps non-linear tables and overfits near-linear ones, and no holdout of a few dozen rows can
            // tell which; cross-validation judges every row once, and the runs are cheap at this size.
            candidates = new[] { epochs, Math.Max(epochs, FffAutoTrainChoices.LongNumberOfEpochs) }.Distinct().ToArray();
            reasons.Add(candidates.Length > 1
                ? $"epochs chosen between {string.Join(" and ", candidates)} by {FffAutoTrainChoices.EpochSelectionFolds}-fold cross-validation of the hard-descent metric, " +
                  $"then trained on all rows: {n} rows (below {FffAutoTrainChoices.MaxRowsForEpochSelection:N0}) are too few for a holdout to tell a good count apart, and cheap to train several times; " +
                  $"set {nameof(FffAutoTrainOptions.NumberOfEpochs)} or an empty {nameof(FffAutoTrainOptions.EpochCandidates)} to skip it"
                : $"no epoch selection: {epochs} epochs already");
        }
        else
        {
            candidates = Array.Empty<int>();
        }

        int? threads = options.NumberOfThreads;
        // Each libtorch call works on one tree's layers (an ensemble's trees run one after another), so one tree's width sizes it.
        long width = (1L << depth) * leafWidth;
        long features = Math.Max(1, image is ImageShape pixels ? (long)pixels.Height * pixels.Width * pixels.Channels : inputs);
        long values = batch * width, work = values * features;
        string workText = $"a batch's hidden layer holds {values:N0} values (batch {batch} x training width {width}{(trees > 1 ? " per tree" : "")}) and its input layer takes " +
            $"{work:N0} multiply-adds (x about {features:N0} inputs)";
        if (threads.HasValue)
            reasons.Add($"{threads} libtorch thread(s): set by {nameof(FffAutoTrainOptions.NumberOfThreads)}");
        else if (values <= FffAutoTrainChoices.SingleThreadValues && work <= FffAutoTrainChoices.SingleThreadWork)
        {
            // Below both a second thread costs more in waking (libtorch's threads wait passively, TorchRuntime) than it saves:
            // measured on 2 cores, one thread was 15-25 % faster per step on batches of 1,024 x 12 and 64 features and of 64
            // images of 784 pixels; two were faster from 1,048,576 values (4,096 x 256) or 51 million multiply-adds (256 images)
            // (docs/tabular.md "Threads by a batch's work").
            threads = 1;
            reasons.Add($"1 libtorch thread: {workText}, at most {FffAutoTrainChoices.SingleThreadValues:N0} and {FffAutoTrainChoices.SingleThreadWork:N0}, " +
                $"too little to split among threads; set {nameof(FffAutoTrainOptions.NumberOfThreads)} to override");
        }
        else
        {
            reasons.Add($"libtorch's default threads: {workText}");
        }

        bool repeatedRows = options.RepeatedRowOffsets ?? image is null;
        reasons.Add(options.RepeatedRowOffsets.HasValue
            ? $"offsets for repeated rows {(repeatedRows ? "on" : "off")}: set by {nameof(FffAutoTrainOptions.RepeatedRowOffsets)}"
            : repeatedRows
                ? "offsets for repeated rows on: rows whose features repeat a training row's get a fitted offset, kept only when leave-one-out on " +
                  $"the training rows says it pays (the log tells); set {nameof(FffAutoTrainOptions.RepeatedRowOffsets)} to override"
                : "offsets for repeated rows off: images rarely repeat exactly");

        return new FffAutoTrainChoices(rows, depth, leafWidth, trees, batch, rate, epochs, fraction, patience, reasons)
        {
            NumberOfThreads = threads,
            RepeatedRowOffsets = repeatedRows,
            EpochCandidates = candidates,
            ImageHeight = image?.Height ?? 0,
            ImageWidth = image?.Width ?? 0,
            ImageChannels = image?.Channels ?? 0,
        };
    }
}

/// <summary>Images the numeric features hold: <see cref="Channels"/> x <see cref="Height"/> x <see cref="Width"/> pixels, and why they were taken as images.</summary>
internal readonly record struct ImageShape(int Height, int Width, int Channels, string Reason);
