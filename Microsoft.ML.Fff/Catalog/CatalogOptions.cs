using Microsoft.ML.Fff.Dense;
using Microsoft.ML.Fff.FastFeedForward;
using Microsoft.ML.Fff.MixtureOfExperts;

namespace Microsoft.ML.Fff;

/// <summary>
/// Builds the options of the simple catalog overloads (<c>mlContext.{Task}.Trainers.{Family}(label, features, ...)</c>), so the
/// three tasks of each family fill their options in one place; the public overloads stay one per task, ML.NET style.
/// </summary>
internal static class CatalogOptions
{
    /// <summary>Options with the columns and epoch count that every simple overload takes.</summary>
    private static TOptions Columns<TOptions>(string label, string features, string? weight, int epochs)
        where TOptions : FeedForwardOptionsBase, new()
        => new() { LabelColumnName = label, FeatureColumnName = features, ExampleWeightColumnName = weight, NumberOfEpochs = epochs };

    internal static TOptions FastFeedForward<TOptions>(string label, string features, string? weight, int depth, int leafWidth, int epochs)
        where TOptions : FastFeedForwardOptionsBase, new()
    {
        TOptions options = Columns<TOptions>(label, features, weight, epochs);
        options.Depth = depth;
        options.LeafWidth = leafWidth;
        return options;
    }

    internal static TOptions MixtureOfExperts<TOptions>(string label, string features, string? weight, int experts, int expertWidth, int topK, int epochs)
        where TOptions : MixtureOfExpertsOptionsBase, new()
    {
        TOptions options = Columns<TOptions>(label, features, weight, epochs);
        options.NumberOfExperts = experts;
        options.ExpertWidth = expertWidth;
        options.TopK = topK;
        return options;
    }

    /// <summary>Dense options; <paramref name="hiddenLayerWidths"/> is copied (null: one layer of the default width).</summary>
    internal static TOptions DenseFeedForward<TOptions>(string label, string features, string? weight, int[]? hiddenLayerWidths, int epochs)
        where TOptions : DenseFeedForwardOptionsBase, new()
    {
        TOptions options = Columns<TOptions>(label, features, weight, epochs);
        options.HiddenLayerWidths = hiddenLayerWidths is null ? new[] { DenseFeedForwardDefaults.HiddenLayerWidth } : (int[])hiddenLayerWidths.Clone();
        return options;
    }
}
