using Microsoft.ML.Fff.Text;

namespace Microsoft.ML.Fff;

public sealed partial class FffCatalog
{
    /// <summary>
    /// Tokenizes a text column with Tiktoken (<c>cl100k_base</c>, from <c>Microsoft.ML.Tokenizers</c>) into a mean bag of
    /// tokens: a sparse, known-size <see cref="float"/> vector with one slot per token kept at <c>Fit</c> (seen in at least
    /// <paramref name="minimumCount"/> rows), holding <c>count / known tokens in the row</c>; unknown tokens are dropped.
    /// Followed by a FastFeedForward trainer with <c>EmbeddingDimension</c> &gt; 0 it gives a text model that learns its own
    /// token embeddings.
    /// </summary>
    /// <param name="outputColumnName">The vector column to add.</param>
    /// <param name="inputColumnName">The String column to tokenize; <paramref name="outputColumnName"/> when null.</param>
    /// <param name="minimumCount">Rows a token must occur in to get a slot. Default <see cref="TokenBagEstimator.DefaultMinimumCount"/>; at least 1.</param>
    /// <param name="maximumVocabularySize">When greater than 0, keeps only this many tokens (those in the most rows). Default 0 (no cap).</param>
    public TokenBagEstimator TokenizeToBag(string outputColumnName, string? inputColumnName = null,
        int minimumCount = TokenBagEstimator.DefaultMinimumCount, int maximumVocabularySize = 0)
        => new TokenBagEstimator(Context, outputColumnName, inputColumnName,
            new TokenBagEstimator.Options { MinimumCount = minimumCount, MaximumVocabularySize = maximumVocabularySize });

    /// <summary>The token bag of <see cref="TokenizeToBag(string, string, int, int)"/> with every option.</summary>
    /// <param name="outputColumnName">The vector column to add.</param>
    /// <param name="inputColumnName">The String column to tokenize.</param>
    /// <param name="options">Vocabulary and case options; read, never modified.</param>
    public TokenBagEstimator TokenizeToBag(string outputColumnName, string inputColumnName, TokenBagEstimator.Options options)
        => new TokenBagEstimator(Context, outputColumnName, inputColumnName, options ?? throw new System.ArgumentNullException(nameof(options)));
}
