using Microsoft.ML.Data;
using Microsoft.ML.Fff.InputStages;
using Microsoft.ML.Fff.RepeatedRows;
using Microsoft.ML.Fff.Scoring;
using Microsoft.ML.Fff.Training;
using Microsoft.ML.Runtime;
using Microsoft.ML.Trainers;

namespace Microsoft.ML.Fff;

/// <summary>
/// Shared trainer logic of every architecture and task: reads the data once through a cursor, trains on TorchSharp, and
/// returns model parameters that score in pure C#.
/// </summary>
/// <typeparam name="TOptions">The task's options type.</typeparam>
/// <typeparam name="TTransformer">The task's prediction transformer.</typeparam>
/// <typeparam name="TModel">The task's model parameters.</typeparam>
public abstract class FeedForwardTrainerBase<TOptions, TTransformer, TModel> : TrainerEstimatorBase<TTransformer, TModel>
    where TOptions : FeedForwardOptionsBase
    where TTransformer : ISingleFeaturePredictionTransformer<TModel>
    where TModel : class
{
    private readonly TOptions _options;
    private readonly LabelKind _labelKind;

    private protected FeedForwardTrainerBase(IHostEnvironment env, string name, TOptions options, SchemaShape.Column label, LabelKind labelKind)
        : base(Contracts.CheckRef(env, nameof(env)).Register(name),
               TrainerUtils.MakeR4VecFeature(Validated(options).FeatureColumnName),
               label,
               TrainerUtils.MakeR4ScalarWeightColumn(options.ExampleWeightColumnName))
    {
        _options = options;
        _labelKind = labelKind;
    }

    /// <summary>The options this trainer was made with (read only; for tests of the plans that make trainers).</summary>
    internal TOptions TrainerOptions => _options;

    /// <summary>The trainers normalize features themselves (folded into the saved weights), reads the data once, and can use a validation set.</summary>
    public override TrainerInfo Info { get; } = new TrainerInfo(normalization: false, calibration: false, caching: false, supportValid: true,
        supportIncrementalTrain: false, supportTest: false);

    /// <summary>
    /// Trains with <paramref name="validationData"/> evaluated after every epoch by hard descent; the best epoch is kept and
    /// <see cref="FeedForwardOptionsBase.EarlyStoppingPatience"/> can stop training early.
    /// </summary>
    /// <param name="trainData">Training rows.</param>
    /// <param name="validationData">Validation rows with the same schema.</param>
    public TTransformer Fit(IDataView trainData, IDataView validationData)
    {
        Host.CheckValue(trainData, nameof(trainData));
        Host.CheckValue(validationData, nameof(validationData));
        return TrainTransformer(trainData, validationData);
    }

    private protected abstract TModel CreateModel(FeedForwardNetwork network, FffTrainingReport report);

    /// <summary>The architecture to train, built from the (validated, never modified) options.</summary>
    private protected abstract NetworkArchitecture CreateArchitecture(TOptions options);

    /// <summary>Trains the model parameters from the role-mapped data.</summary>
    protected override TModel TrainModelCore(TrainContext trainContext)
    {
        Host.CheckValue(trainContext, nameof(trainContext));
        using IChannel ch = Host.Start("Training");
        int seed = _options.Seed ?? Host.Rand.Next();
        RoleMappedData trainSet = trainContext.TrainingSet;
        RoleMappedData? validSet = trainContext.ValidationSet;
        TOptions options = _options;
        if (validSet == null && _options.HoldoutFraction == 0 && _options.EpochCandidates is { Length: > 1 } candidates)
        {
            int? epochs = EpochSelection.Choose(ch, Host, _options, trainSet, _labelKind, seed,
                (foldChannel, foldOptions, foldTrain) => TrainOnce(foldChannel, (TOptions)foldOptions, foldTrain, null, seed).Network);
            if (epochs is int chosen)
                options = (TOptions)_options.ForRun(chosen, isFold: false);
        }
        if (validSet == null && options.HoldoutFraction > 0)
            (trainSet, validSet) = HoldOut(ch, trainSet, options.HoldoutFraction, seed);
        bool compareShifts = options.CompareShiftAugmentation && options.ShiftAugmentation > 0;
        if (compareShifts && validSet == null)
        {
            // No validation set: the shifts are judged on a seeded check slice, then the winner trains on all rows.
            long rows = trainSet.Data.GetRowCount() ?? long.MaxValue;
            if (rows >= ShiftCheckMinRows)
            {
                (RoleMappedData part, RoleMappedData check) = HoldOut(ch, trainSet, ShiftCheckFraction, seed);
                (TOptions chosen, _, _) = ChooseShifts(ch, options, part, check, seed);
                options = (TOptions)chosen.WithoutShiftComparison();
            }
            else
            {
                ch.Info($"ShiftAugmentation is not compared with a run without it: {rows} rows are fewer than {ShiftCheckMinRows} for a check slice.");
            }
            compareShifts = false;
        }
        FeedForwardNetwork network;
        FffTrainingReport report;
        if (compareShifts)
            (_, network, report) = ChooseShifts(ch, options, trainSet, validSet!, seed);
        else
            (network, report) = TrainOnce(ch, options, trainSet, validSet, seed);
        return CreateModel(network, report);
    }

    // Rows from which the shift comparison has a check slice of its own when there is no validation set, and that slice's size.
    private const long ShiftCheckMinRows = 1_000;
    private const double ShiftCheckFraction = 0.1;

    /// <summary>
    /// Trains with <paramref name="options"/> (shifted) and once more without the shifts, on the same rows, seed and validation set;
    /// returns the options and the model of the one the validation set scores better (the shifted one on a tie) (docs/decisions.md).
    /// </summary>
    private (TOptions Options, FeedForwardNetwork Network, FffTrainingReport Report) ChooseShifts(IChannel ch, TOptions options, RoleMappedData trainSet,
        RoleMappedData validSet, int seed)
    {
        (FeedForwardNetwork network, FffTrainingReport report) = TrainOnce(ch, options, trainSet, validSet, seed);
        ch.Info($"Training again without ShiftAugmentation to compare on the validation set (shifted: hard {report.Final.MetricName} {report.Final.HardMetric:F4}).");
        var plain = (TOptions)options.WithoutShiftAugmentation();
        (FeedForwardNetwork plainNetwork, FffTrainingReport plainReport) = TrainOnce(ch, plain, trainSet, validSet, seed);
        bool plainWins = plainReport.Final.HardMetric > report.Final.HardMetric;
        ch.Info($"Shift augmentation {(plainWins ? "dropped" : "kept")}: validation hard {report.Final.MetricName} {report.Final.HardMetric:F4} with shifts, " +
            $"{plainReport.Final.HardMetric:F4} without.");
        return plainWins ? (plain, plainNetwork, plainReport) : (options, network, report);
    }

    /// <summary>One training run: reads the rows, trains, logs where the time went.</summary>
    private (FeedForwardNetwork Network, FffTrainingReport Report) TrainOnce(IChannel ch, TOptions options, RoleMappedData trainSet, RoleMappedData? validSet, int seed)
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        long inMemoryLimit = (long)options.InMemoryLimitMegabytes << 20;
        long mark = TrainingTimes.Now;
        TrainingData train = TrainingData.Scan(ch, trainSet, _labelKind, inMemoryLimit, FeedForwardTrainingSession.TrainingEvaluationRows, seed);
        long trainScan = TrainingTimes.Now - mark;
        TrainingData? valid = null;
        mark = TrainingTimes.Now;
        if (validSet != null)
        {
            valid = TrainingData.Scan(ch, validSet, _labelKind, inMemoryLimitBytes: 0, FeedForwardTrainingSession.ValidationEvaluationRows, seed);
            if (valid.FeatureCount != train.FeatureCount)
                throw ch.Except($"The validation set has {valid.FeatureCount} feature slots but the training set has {train.FeatureCount}; featurize both with the same fitted pipeline.");
            if (valid.ClassCount != train.ClassCount)
                throw ch.Except($"The validation label has {valid.ClassCount} classes but the training label has {train.ClassCount}; map both with the same MapValueToKey transformer.");
        }
        long validScan = TrainingTimes.Now - mark;
        NetworkArchitecture architecture = InputStageArchitecture.Wrap(ch, CreateArchitecture(options), options, train, seed);
        mark = TrainingTimes.Now;
        float[]? teacher = architecture.Hooks.TeacherOutputs(ch, train, valid, _labelKind, seed);
        long teacherTime = TrainingTimes.Now - mark;
        var session = new FeedForwardTrainingSession(ch, options, architecture, train, valid, _labelKind, seed, teacher);
        (FeedForwardNetwork network, FffTrainingReport report) = session.Run();
        if (options.RepeatedRowOffsets)
        {
            mark = TrainingTimes.Now;
            network = RepeatedRowFitting.Fit(ch, network, train, _labelKind);
            session.Times.AddTicks(TrainingPart.RepeatedRows, TrainingTimes.Now - mark);
        }
        session.Times.AddTicks(TrainingPart.ScanTraining, trainScan);
        session.Times.AddTicks(TrainingPart.ScanValidation, validScan);
        session.Times.AddTicks(TrainingPart.Teacher, teacherTime);
        ch.Info($"{architecture.Name}: {session.Times.Describe(clock.Elapsed)}");
        return (network, report);
    }

    /// <summary>
    /// Splits off a seeded validation slice (<see cref="FeedForwardOptionsBase.HoldoutFraction"/>). A random column drawn from the seed
    /// decides each row, so the same seed and data give the same split (ML.NET's own <c>TrainTestSplit</c>).
    /// </summary>
    private static (RoleMappedData Train, RoleMappedData Valid) HoldOut(IChannel ch, RoleMappedData data, double fraction, int seed)
    {
        DataOperationsCatalog.TrainTestData split = new MLContext(seed).Data.TrainTestSplit(data.Data, testFraction: fraction, seed: seed);
        ch.Info($"Holding out {fraction:P0} of the training rows (seed {seed}) as a validation set: the best epoch is kept.");
        return (EpochSelection.SameRoles(data, split.TrainSet), EpochSelection.SameRoles(data, split.TestSet));
    }

    private static TOptions Validated(TOptions options)
    {
        Contracts.CheckValue(options, nameof(options));
        options.Validate();
        return options;
    }
}

