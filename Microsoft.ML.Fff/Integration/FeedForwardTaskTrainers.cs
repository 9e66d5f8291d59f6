using System.Collections.Generic;
using System.Linq;
using Microsoft.ML.Data;
using Microsoft.ML.Fff.Scoring;
using Microsoft.ML.Fff.Training;
using Microsoft.ML.Runtime;
using Microsoft.ML.Trainers;

namespace Microsoft.ML.Fff;

/// <summary>
/// Binary classification part shared by the FFF, dense and mixture-of-experts binary trainers: Boolean label; outputs
/// Score (logit), Probability and PredictedLabel.
/// </summary>
/// <typeparam name="TOptions">The trainer's options.</typeparam>
public abstract class FeedForwardBinaryTrainerBase<TOptions>
    : FeedForwardTrainerBase<TOptions, BinaryPredictionTransformer<FffBinaryModelParameters>, FffBinaryModelParameters>
    where TOptions : FeedForwardOptionsBase
{
    private protected FeedForwardBinaryTrainerBase(IHostEnvironment env, string name, TOptions options)
        : base(env, name, options, TrainerUtils.MakeBoolScalarLabel(options.LabelColumnName), LabelKind.Binary)
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

    private protected override FffBinaryModelParameters CreateModel(FeedForwardNetwork network, FffTrainingReport report) => new(Host, network, report);
}

/// <summary>
/// Multiclass classification part shared by the FFF, dense and mixture-of-experts multiclass trainers: key-typed label
/// (<c>MapValueToKey</c>); outputs Score (class probabilities) and PredictedLabel.
/// </summary>
/// <typeparam name="TOptions">The trainer's options.</typeparam>
public abstract class FeedForwardMulticlassTrainerBase<TOptions>
    : FeedForwardTrainerBase<TOptions, MulticlassPredictionTransformer<FffMulticlassModelParameters>, FffMulticlassModelParameters>
    where TOptions : FeedForwardOptionsBase
{
    private protected FeedForwardMulticlassTrainerBase(IHostEnvironment env, string name, TOptions options)
        : base(env, name, options, TrainerUtils.MakeU4ScalarColumn(options.LabelColumnName), LabelKind.Multiclass)
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

    private protected override FffMulticlassModelParameters CreateModel(FeedForwardNetwork network, FffTrainingReport report) => new(Host, network, report);
}

/// <summary>Regression part shared by the FFF, dense and mixture-of-experts regression trainers: Single label; outputs Score.</summary>
/// <typeparam name="TOptions">The trainer's options.</typeparam>
public abstract class FeedForwardRegressionTrainerBase<TOptions>
    : FeedForwardTrainerBase<TOptions, RegressionPredictionTransformer<FffRegressionModelParameters>, FffRegressionModelParameters>
    where TOptions : FeedForwardOptionsBase
{
    private protected FeedForwardRegressionTrainerBase(IHostEnvironment env, string name, TOptions options)
        : base(env, name, options, TrainerUtils.MakeR4ScalarColumn(options.LabelColumnName), LabelKind.Regression)
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

    private protected override FffRegressionModelParameters CreateModel(FeedForwardNetwork network, FffTrainingReport report) => new(Host, network, report);
}
