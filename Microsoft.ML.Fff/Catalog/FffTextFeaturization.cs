
namespace Microsoft.ML.Fff;

/// <summary>
/// How <see cref="FffCatalog.Train"/> featurizes a free-text column: <c>FeaturizeText</c> with its defaults (lower-cased word
/// unigrams + bigrams and character trigrams, L2-normalized; a sparse vector), then only the slots that are non-zero in at
/// least <see cref="MinimumRowsPerSlot"/> training rows (<c>SelectFeaturesBasedOnCount</c>). Without that selection a corpus
/// like IMDB (25,000 reviews) gives well over a million slots, most of them n-grams seen once, and the first layer of the
/// network (slots x training width weights, all updated by Adam every step) makes training impractically slow and large.
/// </summary>
internal static class FffTextFeaturization
{
    /// <summary>A text slot is kept when it is non-zero in at least this many training rows.</summary>
    internal const int MinimumRowsPerSlot = 3;

    internal static IEstimator<ITransformer> Create(MLContext mlContext, string outputColumnName, string inputColumnName)
        => mlContext.Transforms.Text.FeaturizeText(outputColumnName, inputColumnName)
            .Append(mlContext.Transforms.FeatureSelection.SelectFeaturesBasedOnCount(outputColumnName, count: MinimumRowsPerSlot));
}
