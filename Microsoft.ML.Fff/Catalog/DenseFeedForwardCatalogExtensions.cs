using Microsoft.ML.Data;
using Microsoft.ML.Fff;
using Microsoft.ML.Fff.Dense;
using Microsoft.ML.Runtime;

namespace Microsoft.ML;

/// <summary>Entry points of the dense trainers on ML.NET's catalogs: <c>mlContext.{Task}.Trainers.DenseFeedForward(...)</c>.</summary>
public static class DenseFeedForwardCatalogExtensions
{
    /// <summary>Creates a <see cref="DenseFeedForwardBinaryTrainer"/> (Boolean label).</summary>
    /// <param name="catalog">The binary classification trainers catalog.</param>
    /// <param name="labelColumnName">Boolean label column.</param>
    /// <param name="featureColumnName">Feature column: a known-size vector of Single.</param>
    /// <param name="exampleWeightColumnName">Optional example-weight column.</param>
    /// <param name="hiddenLayerWidths">Widths of the hidden layers (1 .. 16 layers of 1 .. 65536 neurons); <c>null</c> for one layer of 256. The array is copied.</param>
    /// <param name="numberOfEpochs">Passes over the data (at least 1).</param>
    public static DenseFeedForwardBinaryTrainer DenseFeedForward(this BinaryClassificationCatalog.BinaryClassificationTrainers catalog,
        string labelColumnName = DefaultColumnNames.Label, string featureColumnName = DefaultColumnNames.Features, string? exampleWeightColumnName = null,
        int[]? hiddenLayerWidths = null, int numberOfEpochs = FffDefaults.NumberOfEpochs)
        => DenseFeedForward(catalog, CatalogOptions.DenseFeedForward<DenseFeedForwardBinaryTrainer.Options>(labelColumnName, featureColumnName, exampleWeightColumnName, hiddenLayerWidths, numberOfEpochs));

    /// <summary>Creates a <see cref="DenseFeedForwardBinaryTrainer"/> with all options.</summary>
    /// <param name="catalog">The binary classification trainers catalog.</param>
    /// <param name="options">Trainer options (validated here; never modified).</param>
    public static DenseFeedForwardBinaryTrainer DenseFeedForward(this BinaryClassificationCatalog.BinaryClassificationTrainers catalog, DenseFeedForwardBinaryTrainer.Options options)
        => new(CatalogUtils.GetEnvironment(Contracts.CheckRef(catalog, nameof(catalog))), options);

    /// <summary>Creates a <see cref="DenseFeedForwardMulticlassTrainer"/> (key label: use <c>MapValueToKey</c> first).</summary>
    /// <param name="catalog">The multiclass classification trainers catalog.</param>
    /// <param name="labelColumnName">Key-typed label column.</param>
    /// <param name="featureColumnName">Feature column: a known-size vector of Single.</param>
    /// <param name="exampleWeightColumnName">Optional example-weight column.</param>
    /// <param name="hiddenLayerWidths">Widths of the hidden layers (1 .. 16 layers of 1 .. 65536 neurons); <c>null</c> for one layer of 256. The array is copied.</param>
    /// <param name="numberOfEpochs">Passes over the data (at least 1).</param>
    public static DenseFeedForwardMulticlassTrainer DenseFeedForward(this MulticlassClassificationCatalog.MulticlassClassificationTrainers catalog,
        string labelColumnName = DefaultColumnNames.Label, string featureColumnName = DefaultColumnNames.Features, string? exampleWeightColumnName = null,
        int[]? hiddenLayerWidths = null, int numberOfEpochs = FffDefaults.NumberOfEpochs)
        => DenseFeedForward(catalog, CatalogOptions.DenseFeedForward<DenseFeedForwardMulticlassTrainer.Options>(labelColumnName, featureColumnName, exampleWeightColumnName, hiddenLayerWidths, numberOfEpochs));

    /// <summary>Creates a <see cref="DenseFeedForwardMulticlassTrainer"/> with all options.</summary>
    /// <param name="catalog">The multiclass classification trainers catalog.</param>
    /// <param name="options">Trainer options (validated here; never modified).</param>
    public static DenseFeedForwardMulticlassTrainer DenseFeedForward(this MulticlassClassificationCatalog.MulticlassClassificationTrainers catalog, DenseFeedForwardMulticlassTrainer.Options options)
        => new(CatalogUtils.GetEnvironment(Contracts.CheckRef(catalog, nameof(catalog))), options);

    /// <summary>Creates a <see cref="DenseFeedForwardRegressionTrainer"/> (Single label).</summary>
    /// <param name="catalog">The regression trainers catalog.</param>
    /// <param name="labelColumnName">Single label column.</param>
    /// <param name="featureColumnName">Feature column: a known-size vector of Single.</param>
    /// <param name="exampleWeightColumnName">Optional example-weight column.</param>
    /// <param name="hiddenLayerWidths">Widths of the hidden layers (1 .. 16 layers of 1 .. 65536 neurons); <c>null</c> for one layer of 256. The array is copied.</param>
    /// <param name="numberOfEpochs">Passes over the data (at least 1).</param>
    public static DenseFeedForwardRegressionTrainer DenseFeedForward(this RegressionCatalog.RegressionTrainers catalog,
        string labelColumnName = DefaultColumnNames.Label, string featureColumnName = DefaultColumnNames.Features, string? exampleWeightColumnName = null,
        int[]? hiddenLayerWidths = null, int numberOfEpochs = FffDefaults.NumberOfEpochs)
        => DenseFeedForward(catalog, CatalogOptions.DenseFeedForward<DenseFeedForwardRegressionTrainer.Options>(labelColumnName, featureColumnName, exampleWeightColumnName, hiddenLayerWidths, numberOfEpochs));

    /// <summary>Creates a <see cref="DenseFeedForwardRegressionTrainer"/> with all options.</summary>
    /// <param name="catalog">The regression trainers catalog.</param>
    /// <param name="options">Trainer options (validated here; never modified).</param>
    public static DenseFeedForwardRegressionTrainer DenseFeedForward(this RegressionCatalog.RegressionTrainers catalog, DenseFeedForwardRegressionTrainer.Options options)
        => new(CatalogUtils.GetEnvironment(Contracts.CheckRef(catalog, nameof(catalog))), options);
}
