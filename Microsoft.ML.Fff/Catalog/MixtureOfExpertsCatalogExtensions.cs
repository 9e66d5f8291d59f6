using Microsoft.ML.Data;
using Microsoft.ML.Fff;
using Microsoft.ML.Fff.MixtureOfExperts;
using Microsoft.ML.Runtime;

namespace Microsoft.ML;

/// <summary>Entry points of the mixture-of-experts trainers on ML.NET's catalogs: <c>mlContext.{Task}.Trainers.MixtureOfExperts(...)</c>.</summary>
public static class MixtureOfExpertsCatalogExtensions
{
    /// <summary>Creates a <see cref="MixtureOfExpertsBinaryTrainer"/> (Boolean label).</summary>
    /// <param name="catalog">The binary classification trainers catalog.</param>
    /// <param name="labelColumnName">Boolean label column.</param>
    /// <param name="featureColumnName">Feature column: a known-size vector of Single.</param>
    /// <param name="exampleWeightColumnName">Optional example-weight column.</param>
    /// <param name="numberOfExperts">Number of experts (2 .. 4096).</param>
    /// <param name="expertWidth">Hidden neurons per expert (1 .. 65536).</param>
    /// <param name="topK">Experts that score each row (1 .. <paramref name="numberOfExperts"/>).</param>
    /// <param name="numberOfEpochs">Passes over the data (at least 1).</param>
    public static MixtureOfExpertsBinaryTrainer MixtureOfExperts(this BinaryClassificationCatalog.BinaryClassificationTrainers catalog,
        string labelColumnName = DefaultColumnNames.Label, string featureColumnName = DefaultColumnNames.Features, string? exampleWeightColumnName = null,
        int numberOfExperts = MixtureOfExpertsDefaults.NumberOfExperts, int expertWidth = MixtureOfExpertsDefaults.ExpertWidth,
        int topK = MixtureOfExpertsDefaults.TopK, int numberOfEpochs = FffDefaults.NumberOfEpochs)
        => MixtureOfExperts(catalog, CatalogOptions.MixtureOfExperts<MixtureOfExpertsBinaryTrainer.Options>(labelColumnName, featureColumnName, exampleWeightColumnName, numberOfExperts, expertWidth, topK, numberOfEpochs));

    /// <summary>Creates a <see cref="MixtureOfExpertsBinaryTrainer"/> with all options.</summary>
    /// <param name="catalog">The binary classification trainers catalog.</param>
    /// <param name="options">Trainer options (validated here; never modified).</param>
    public static MixtureOfExpertsBinaryTrainer MixtureOfExperts(this BinaryClassificationCatalog.BinaryClassificationTrainers catalog, MixtureOfExpertsBinaryTrainer.Options options)
        => new(CatalogUtils.GetEnvironment(Contracts.CheckRef(catalog, nameof(catalog))), options);

    /// <summary>Creates a <see cref="MixtureOfExpertsMulticlassTrainer"/> (key label: use <c>MapValueToKey</c> first).</summary>
    /// <param name="catalog">The multiclass classification trainers catalog.</param>
    /// <param name="labelColumnName">Key-typed label column.</param>
    /// <param name="featureColumnName">Feature column: a known-size vector of Single.</param>
    /// <param name="exampleWeightColumnName">Optional example-weight column.</param>
    /// <param name="numberOfExperts">Number of experts (2 .. 4096).</param>
    /// <param name="expertWidth">Hidden neurons per expert (1 .. 65536).</param>
    /// <param name="topK">Experts that score each row (1 .. <paramref name="numberOfExperts"/>).</param>
    /// <param name="numberOfEpochs">Passes over the data (at least 1).</param>
    public static MixtureOfExpertsMulticlassTrainer MixtureOfExperts(this MulticlassClassificationCatalog.MulticlassClassificationTrainers catalog,
        string labelColumnName = DefaultColumnNames.Label, string featureColumnName = DefaultColumnNames.Features, string? exampleWeightColumnName = null,
        int numberOfExperts = MixtureOfExpertsDefaults.NumberOfExperts, int expertWidth = MixtureOfExpertsDefaults.ExpertWidth,
        int topK = MixtureOfExpertsDefaults.TopK, int numberOfEpochs = FffDefaults.NumberOfEpochs)
        => MixtureOfExperts(catalog, CatalogOptions.MixtureOfExperts<MixtureOfExpertsMulticlassTrainer.Options>(labelColumnName, featureColumnName, exampleWeightColumnName, numberOfExperts, expertWidth, topK, numberOfEpochs));

    /// <summary>Creates a <see cref="MixtureOfExpertsMulticlassTrainer"/> with all options.</summary>
    /// <param name="catalog">The multiclass classification trainers catalog.</param>
    /// <param name="options">Trainer options (validated here; never modified).</param>
    public static MixtureOfExpertsMulticlassTrainer MixtureOfExperts(this MulticlassClassificationCatalog.MulticlassClassificationTrainers catalog, MixtureOfExpertsMulticlassTrainer.Options options)
        => new(CatalogUtils.GetEnvironment(Contracts.CheckRef(catalog, nameof(catalog))), options);

    /// <summary>Creates a <see cref="MixtureOfExpertsRegressionTrainer"/> (Single label).</summary>
    /// <param name="catalog">The regression trainers catalog.</param>
    /// <param name="labelColumnName">Single label column.</param>
    /// <param name="featureColumnName">Feature column: a known-size vector of Single.</param>
    /// <param name="exampleWeightColumnName">Optional example-weight column.</param>
    /// <param name="numberOfExperts">Number of experts (2 .. 4096).</param>
    /// <param name="expertWidth">Hidden neurons per expert (1 .. 65536).</param>
    /// <param name="topK">Experts that score each row (1 .. <paramref name="numberOfExperts"/>).</param>
    /// <param name="numberOfEpochs">Passes over the data (at least 1).</param>
    public static MixtureOfExpertsRegressionTrainer MixtureOfExperts(this RegressionCatalog.RegressionTrainers catalog,
        string labelColumnName = DefaultColumnNames.Label, string featureColumnName = DefaultColumnNames.Features, string? exampleWeightColumnName = null,
        int numberOfExperts = MixtureOfExpertsDefaults.NumberOfExperts, int expertWidth = MixtureOfExpertsDefaults.ExpertWidth,
        int topK = MixtureOfExpertsDefaults.TopK, int numberOfEpochs = FffDefaults.NumberOfEpochs)
        => MixtureOfExperts(catalog, CatalogOptions.MixtureOfExperts<MixtureOfExpertsRegressionTrainer.Options>(labelColumnName, featureColumnName, exampleWeightColumnName, numberOfExperts, expertWidth, topK, numberOfEpochs));

    /// <summary>Creates a <see cref="MixtureOfExpertsRegressionTrainer"/> with all options.</summary>
    /// <param name="catalog">The regression trainers catalog.</param>
    /// <param name="options">Trainer options (validated here; never modified).</param>
    public static MixtureOfExpertsRegressionTrainer MixtureOfExperts(this RegressionCatalog.RegressionTrainers catalog, MixtureOfExpertsRegressionTrainer.Options options)
        => new(CatalogUtils.GetEnvironment(Contracts.CheckRef(catalog, nameof(catalog))), options);
}
