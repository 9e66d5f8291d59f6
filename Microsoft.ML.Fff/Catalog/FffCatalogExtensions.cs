using Microsoft.ML.Data;
using Microsoft.ML.Fff;
using Microsoft.ML.Fff.FastFeedForward;
using Microsoft.ML.Runtime;

namespace Microsoft.ML;

/// <summary>Entry points of MlNetFff on ML.NET's catalogs: <c>mlContext.{Task}.Trainers.FastFeedForward(...)</c> and <c>mlContext.Fff()</c>.</summary>
public static class FffCatalogExtensions
{
    /// <summary>Creates a <see cref="FastFeedForwardBinaryTrainer"/> (Boolean label).</summary>
    /// <param name="catalog">The binary classification trainers catalog.</param>
    /// <param name="labelColumnName">Boolean label column.</param>
    /// <param name="featureColumnName">Feature column: a known-size vector of Single.</param>
    /// <param name="exampleWeightColumnName">Optional example-weight column.</param>
    /// <param name="depth">Tree depth (0 .. 16).</param>
    /// <param name="leafWidth">Neurons per leaf (1 .. 8192).</param>
    /// <param name="numberOfEpochs">Passes over the data (at least 1).</param>
    public static FastFeedForwardBinaryTrainer FastFeedForward(this BinaryClassificationCatalog.BinaryClassificationTrainers catalog,
        string labelColumnName = DefaultColumnNames.Label, string featureColumnName = DefaultColumnNames.Features, string? exampleWeightColumnName = null,
        int depth = FffDefaults.Depth, int leafWidth = FffDefaults.LeafWidth, int numberOfEpochs = FffDefaults.NumberOfEpochs)
        => FastFeedForward(catalog, CatalogOptions.FastFeedForward<FastFeedForwardBinaryTrainer.Options>(labelColumnName, featureColumnName, exampleWeightColumnName, depth, leafWidth, numberOfEpochs));

    /// <summary>Creates a <see cref="FastFeedForwardBinaryTrainer"/> with all options.</summary>
    /// <param name="catalog">The binary classification trainers catalog.</param>
    /// <param name="options">Trainer options (validated here; never modified).</param>
    public static FastFeedForwardBinaryTrainer FastFeedForward(this BinaryClassificationCatalog.BinaryClassificationTrainers catalog, FastFeedForwardBinaryTrainer.Options options)
        => new(CatalogUtils.GetEnvironment(Contracts.CheckRef(catalog, nameof(catalog))), options);

    /// <summary>Creates a <see cref="FastFeedForwardMulticlassTrainer"/> (key label: use <c>MapValueToKey</c> first).</summary>
    /// <param name="catalog">The multiclass classification trainers catalog.</param>
    /// <param name="labelColumnName">Key-typed label column.</param>
    /// <param name="featureColumnName">Feature column: a known-size vector of Single.</param>
    /// <param name="exampleWeightColumnName">Optional example-weight column.</param>
    /// <param name="depth">Tree depth (0 .. 16).</param>
    /// <param name="leafWidth">Neurons per leaf (1 .. 8192).</param>
    /// <param name="numberOfEpochs">Passes over the data (at least 1).</param>
    public static FastFeedForwardMulticlassTrainer FastFeedForward(this MulticlassClassificationCatalog.MulticlassClassificationTrainers catalog,
        string labelColumnName = DefaultColumnNames.Label, string featureColumnName = DefaultColumnNames.Features, string? exampleWeightColumnName = null,
        int depth = FffDefaults.Depth, int leafWidth = FffDefaults.LeafWidth, int numberOfEpochs = FffDefaults.NumberOfEpochs)
        => FastFeedForward(catalog, CatalogOptions.FastFeedForward<FastFeedForwardMulticlassTrainer.Options>(labelColumnName, featureColumnName, exampleWeightColumnName, depth, leafWidth, numberOfEpochs));

    /// <summary>Creates a <see cref="FastFeedForwardMulticlassTrainer"/> with all options.</summary>
    /// <param name="catalog">The multiclass classification trainers catalog.</param>
    /// <param name="options">Trainer options (validated here; never modified).</param>
    public static FastFeedForwardMulticlassTrainer FastFeedForward(this MulticlassClassificationCatalog.MulticlassClassificationTrainers catalog, FastFeedForwardMulticlassTrainer.Options options)
        => new(CatalogUtils.GetEnvironment(Contracts.CheckRef(catalog, nameof(catalog))), options);

    /// <summary>Creates a <see cref="FastFeedForwardRegressionTrainer"/> (Single label).</summary>
    /// <param name="catalog">The regression trainers catalog.</param>
    /// <param name="labelColumnName">Single label column.</param>
    /// <param name="featureColumnName">Feature column: a known-size vector of Single.</param>
    /// <param name="exampleWeightColumnName">Optional example-weight column.</param>
    /// <param name="depth">Tree depth (0 .. 16).</param>
    /// <param name="leafWidth">Neurons per leaf (1 .. 8192).</param>
    /// <param name="numberOfEpochs">Passes over the data (at least 1).</param>
    public static FastFeedForwardRegressionTrainer FastFeedForward(this RegressionCatalog.RegressionTrainers catalog,
        string labelColumnName = DefaultColumnNames.Label, string featureColumnName = DefaultColumnNames.Features, string? exampleWeightColumnName = null,
        int depth = FffDefaults.Depth, int leafWidth = FffDefaults.LeafWidth, int numberOfEpochs = FffDefaults.NumberOfEpochs)
        => FastFeedForward(catalog, CatalogOptions.FastFeedForward<FastFeedForwardRegressionTrainer.Options>(labelColumnName, featureColumnName, exampleWeightColumnName, depth, leafWidth, numberOfEpochs));

    /// <summary>Creates a <see cref="FastFeedForwardRegressionTrainer"/> with all options.</summary>
    /// <param name="catalog">The regression trainers catalog.</param>
    /// <param name="options">Trainer options (validated here; never modified).</param>
    public static FastFeedForwardRegressionTrainer FastFeedForward(this RegressionCatalog.RegressionTrainers catalog, FastFeedForwardRegressionTrainer.Options options)
        => new(CatalogUtils.GetEnvironment(Contracts.CheckRef(catalog, nameof(catalog))), options);

    /// <summary>MlNetFff's own catalog: one-call training and utilities.</summary>
    /// <param name="mlContext">The ML.NET context.</param>
    public static FffCatalog Fff(this MLContext mlContext) => new(Contracts.CheckRef(mlContext, nameof(mlContext)));
}
