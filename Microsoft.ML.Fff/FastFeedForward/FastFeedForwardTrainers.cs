using System.Collections.Generic;
using System.Linq;
using Microsoft.ML.Data;
using Microsoft.ML.Fff.Training;
using Microsoft.ML.Runtime;
using Microsoft.ML.Trainers;

namespace Microsoft.ML.Fff.FastFeedForward;

/// <summary>
/// Shared trainer logic for the three FFF tasks: reads the data once through a cursor, trains on TorchSharp, and
/// returns model parameters that score in pure C#.
/// </summary>
/// <typeparam name="TOptions">The task's options type.</typeparam>
/// <typeparam name="TTransformer">The task's prediction transformer.</typeparam>
/// <typeparam name="TModel">The task's model parameters.</typeparam>
public abstract class FastFeedForwardTrainerBase<TOptions, TTransformer, TModel> : TrainerEstimatorBase<TTransformer, TModel>
    where TOptions : FastFeedForwardOptionsBase
    where TTransformer : ISingleFeaturePredictionTransformer<TModel>
    where TModel : class
{
    private readonly TOptions _options;
    private readonly LabelKind _labelKind;

    private protected FastFeedForwardTrainerBase(IHostEnvironment env, string name, TOptions options, SchemaShape.Column label, LabelKind labelKind)
        : base(Contracts.CheckRef(env, nameof(env)).Register(name),
               TrainerUtils.MakeR4VecFeature(Validated(options).FeatureColumnName),
               label,
               TrainerUtils.MakeR4ScalarWeightColumn(options.ExampleWeightColumnName))
    {
        _options = options;
        _labelKind = labelKind;
    }

    /// <summary>FFF normalizes features itself (folded into the saved weights), reads the data once, and can use a validation set.</summary>
    public override TrainerInfo Info { get; } = new TrainerInfo(normalization: false, calibration: false, caching: false, supportValid: true,
        supportIncrementalTrain: false, supportTest: false);

    /// <summary>
    /// Trains with <paramref name="validationData"/> evaluated after every epoch by hard descent; the best epoch is kept and
    /// <see cref="FastFeedForwardOptionsBase.EarlyStoppingPatience"/> can stop training early.
    /// </summary>
    /// <param name="trainData">Training rows.</param>
    /// <param name="validationData">Validation rows with the same schema.</param>
    public TTransformer Fit(IDataView trainData, IDataView validationData)
    {
        Host.CheckValue(trainData, nameof(trainData));
        Host.CheckValue(validationData, nameof(validationData));
        return TrainTransformer(trainData, validationData);
    }

    private protected abstract TModel CreateModel(FastFeedForward.FffNetwork network, FffTrainingReport report);

    /// <summary>Trains the model parameters from the role-mapped data.</summary>
    protected override TModel TrainModelCore(TrainContext trainContext)
    {
        Host.CheckValue(trainContext, nameof(trainContext));
        using IChannel ch = Host.Start("Training FFF");
        int seed = _options.Seed ?? Host.Rand.Next();
        long inMemoryLimit = (long)_options.InMemoryLimitMegabytes << 20;
        TrainingData train = TrainingData.Scan(ch, trainContext.TrainingSet, _labelKind, inMemoryLimit, FffTrainingSession.TrainingEvaluationRows, seed);
        TrainingData? valid = null;
        if (trainContext.ValidationSet != null)
        {
            valid = TrainingData.Scan(ch, trainContext.ValidationSet, _labelKind, inMemoryLimitBytes: 0, FffTrainingSession.ValidationEvaluationRows, seed);
            if (valid.FeatureCount != train.FeatureCount)
                throw ch.Except($"The validation set has {valid.FeatureCount} feature slots but the training set has {train.FeatureCount}; featurize both with the same fitted pipeline.");
            if (valid.ClassCount != train.ClassCount)
                throw ch.Except($"The validation label has {valid.ClassCount} classes but the training label has {train.ClassCount}; map both with the same MapValueToKey transformer.");
        }
        var session = new FffTrainingSession(ch, _options, train, valid, _labelKind, seed);
        (FffNetwork network, FffTrainingReport report) = session.Run();
        return CreateModel(network, report);
    }

    private static TOptions Validated(TOptions options)
    {
        Contracts.CheckValue(options, nameof(options));
        options.Validate();
        return options;
    }
}

/// <summary>
/// Trains a fast feedforward network (FFF) for binary classification. The model scores by hard descent in pure C#:
/// <c>Depth + LeafWidth</c> neurons per row. Outputs Score (logit), Probability and PredictedLabel.
/// </summary>
public sealed class FastFeedForwardBinaryTrainer
    : FastFeedForwardTrainerBase<FastFeedForwardBinaryTrainer.Options, BinaryPredictionTransformer<FffBinaryModelParameters>, FffBinaryModelParameters>
{
    internal const string LoadName = "FastFeedForwardBinary";

    /// <summary>Options of <see cref="FastFeedForwardBinaryTrainer"/>; the label is a Boolean column.</summary>
    public sealed class Options : FastFeedForwardOptionsBase
    {
    }

    internal FastFeedForwardBinaryTrainer(IHostEnvironment env, Options options)
        : base(env, LoadName, options, TrainerUtils.MakeBoolScalarLabel(options.LabelColumnName), LabelKind.Binary)
    {
    }

    /// <summary>Binary classification.</summary>
    protected override PredictionKind PredictionKind => PredictionKind.BinaryClassification;

    /// <summary>Score, Probability and PredictedLabel.</summary>
    protected override SchemaShape.Column[] GetOutputColumnsCore(SchemaShape inputSchema) => new[]
    {
        new SchemaShape.Column(DefaultColumnNames.Score, SchemaShape.Column.VectorKind.Scalar, NumberDataViewType.Single, false,
            new SchemaShape(AnnotationUtils.GetTrainerOutputAnnotation())),
        new SchemaShape.Column(DefaultColumnNames.Probability, SchemaShape.Column.VectorKind.Scalar, NumberDataViewType.Single, false,
            new SchemaShape(AnnotationUtils.GetTrainerOutputAnnotation(true))),
        new SchemaShape.Column(DefaultColumnNames.PredictedLabel, SchemaShape.Column.VectorKind.Scalar, BooleanDataViewType.Instance, false,
            new SchemaShape(AnnotationUtils.GetTrainerOutputAnnotation())),
    };

    /// <summary>Wraps the model in ML.NET's binary prediction transformer.</summary>
    protected override BinaryPredictionTransformer<FffBinaryModelParameters> MakeTransformer(FffBinaryModelParameters model, DataViewSchema trainSchema)
        => new BinaryPredictionTransformer<FffBinaryModelParameters>(Host, model, trainSchema, FeatureColumn.Name);

    private protected override FffBinaryModelParameters CreateModel(FffNetwork network, FffTrainingReport report) => new(Host, network, report);
}

/// <summary>
/// Trains a fast feedforward network (FFF) for multiclass classification. The label must be a key column
/// (<c>MapValueToKey</c>). Outputs Score (class probabilities) and PredictedLabel.
/// </summary>
public sealed class FastFeedForwardMulticlassTrainer
    : FastFeedForwardTrainerBase<FastFeedForwardMulticlassTrainer.Options, MulticlassPredictionTransformer<FffMulticlassModelParameters>, FffMulticlassModelParameters>
{
    internal const string LoadName = "FastFeedForwardMulticlass";

    /// <summary>Options of <see cref="FastFeedForwardMulticlassTrainer"/>; the label is a key column.</summary>
    public sealed class Options : FastFeedForwardOptionsBase
    {
    }

    internal FastFeedForwardMulticlassTrainer(IHostEnvironment env, Options options)
        : base(env, LoadName, options, TrainerUtils.MakeU4ScalarColumn(options.LabelColumnName), LabelKind.Multiclass)
    {
    }

    /// <summary>Multiclass classification.</summary>
    protected override PredictionKind PredictionKind => PredictionKind.MulticlassClassification;

    /// <summary>Accepts any key-typed label (the class count comes from the key type).</summary>
    protected override void CheckLabelCompatible(SchemaShape.Column labelColumn)
    {
        if (!labelColumn.IsKey)
        {
            throw Host.ExceptSchemaMismatch(nameof(labelColumn), "label", labelColumn.Name, "key",
                labelColumn.GetTypeString() + $" (add mlContext.Transforms.Conversion.MapValueToKey(\"{labelColumn.Name}\") before the trainer)");
        }
    }

    /// <summary>Score (a probability per class) and PredictedLabel (the label's key type).</summary>
    protected override SchemaShape.Column[] GetOutputColumnsCore(SchemaShape inputSchema)
    {
        inputSchema.TryFindColumn(LabelColumn.Name, out SchemaShape.Column label);
        var scoreAnnotations = new List<SchemaShape.Column>
        {
            new SchemaShape.Column(AnnotationUtils.Kinds.SlotNames, SchemaShape.Column.VectorKind.Vector, TextDataViewType.Instance, false),
        };
        scoreAnnotations.AddRange(AnnotationUtils.GetTrainerOutputAnnotation());
        var predictedAnnotations = new SchemaShape(label.Annotations.Where(a => a.Name == AnnotationUtils.Kinds.KeyValues)
            .Concat(AnnotationUtils.GetTrainerOutputAnnotation()));
        return new[]
        {
            new SchemaShape.Column(DefaultColumnNames.Score, SchemaShape.Column.VectorKind.Vector, NumberDataViewType.Single, false, new SchemaShape(scoreAnnotations)),
            new SchemaShape.Column(DefaultColumnNames.PredictedLabel, SchemaShape.Column.VectorKind.Scalar, NumberDataViewType.UInt32, true, predictedAnnotations),
        };
    }

    /// <summary>Wraps the model in ML.NET's multiclass prediction transformer.</summary>
    protected override MulticlassPredictionTransformer<FffMulticlassModelParameters> MakeTransformer(FffMulticlassModelParameters model, DataViewSchema trainSchema)
        => new MulticlassPredictionTransformer<FffMulticlassModelParameters>(Host, model, trainSchema, FeatureColumn.Name, LabelColumn.Name,
            DefaultColumnNames.Score, DefaultColumnNames.PredictedLabel);

    private protected override FffMulticlassModelParameters CreateModel(FffNetwork network, FffTrainingReport report) => new(Host, network, report);
}

/// <summary>Trains a fast feedforward network (FFF) for regression. The label is a Single column; outputs Score.</summary>
public sealed class FastFeedForwardRegressionTrainer
    : FastFeedForwardTrainerBase<FastFeedForwardRegressionTrainer.Options, RegressionPredictionTransformer<FffRegressionModelParameters>, FffRegressionModelParameters>
{
    internal const string LoadName = "FastFeedForwardRegression";

    /// <summary>Options of <see cref="FastFeedForwardRegressionTrainer"/>; the label is a Single column (standardized internally).</summary>
    public sealed class Options : FastFeedForwardOptionsBase
    {
    }

    internal FastFeedForwardRegressionTrainer(IHostEnvironment env, Options options)
        : base(env, LoadName, options, TrainerUtils.MakeR4ScalarColumn(options.LabelColumnName), LabelKind.Regression)
    {
    }

    /// <summary>Regression.</summary>
    protected override PredictionKind PredictionKind => PredictionKind.Regression;

    /// <summary>Score.</summary>
    protected override SchemaShape.Column[] GetOutputColumnsCore(SchemaShape inputSchema) => new[]
    {
        new SchemaShape.Column(DefaultColumnNames.Score, SchemaShape.Column.VectorKind.Scalar, NumberDataViewType.Single, false,
            new SchemaShape(AnnotationUtils.GetTrainerOutputAnnotation())),
    };

    /// <summary>Wraps the model in ML.NET's regression prediction transformer.</summary>
    protected override RegressionPredictionTransformer<FffRegressionModelParameters> MakeTransformer(FffRegressionModelParameters model, DataViewSchema trainSchema)
        => new RegressionPredictionTransformer<FffRegressionModelParameters>(Host, model, trainSchema, FeatureColumn.Name);

    private protected override FffRegressionModelParameters CreateModel(FffNetwork network, FffTrainingReport report) => new(Host, network, report);
}
