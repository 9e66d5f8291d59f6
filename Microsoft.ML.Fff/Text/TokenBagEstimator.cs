using System;
using System.Collections.Generic;
using System.Linq;
using Microsoft.ML.Data;
using Microsoft.ML.Runtime;

namespace Microsoft.ML.Fff.Text;

/// <summary>
/// Builds a <see cref="TokenBagTransformer"/>: <c>Fit</c> tokenizes the text column once (Tiktoken, <c>cl100k_base</c>) and
/// keeps the tokens that occur in at least <see cref="Options.MinimumCount"/> rows (the most frequent
/// <see cref="Options.MaximumVocabularySize"/> of them when that is set). Made by <c>mlContext.Fff().TokenizeToBag(...)</c>.
/// </summary>
public sealed class TokenBagEstimator : IEstimator<TokenBagTransformer>
{
    /// <summary>Options of <see cref="TokenBagEstimator"/>.</summary>
    public sealed class Options
    {
        /// <summary>
        /// A token becomes a slot when it occurs in at least this many training rows; rarer tokens are dropped like unknown
        /// ones. Default <see cref="DefaultMinimumCount"/>; range 1 .. <see cref="int.MaxValue"/>.
        /// </summary>
        public int MinimumCount { get; set; } = DefaultMinimumCount;

        /// <summary>
        /// When greater than 0, at most this many tokens are kept: those in the most rows (ties to the lower tokenizer id).
        /// Default 0 (no cap); range 0 .. 16,777,216.
        /// </summary>
        public int MaximumVocabularySize { get; set; }

        /// <summary>Whether the text is lower-cased (invariant culture) before tokenizing, so "Good" and "good" share a token. Default true.</summary>
        public bool LowerCase { get; set; } = true;
    }

    /// <summary>Default of <see cref="Options.MinimumCount"/>.</summary>
    public const int DefaultMinimumCount = 3;

    private readonly IHost _host;
    private readonly string _outputColumnName;
    private readonly string _inputColumnName;
    private readonly int _minimumCount;
    private readonly int _maximumVocabularySize;
    private readonly bool _lowerCase;

    internal TokenBagEstimator(IHostEnvironment env, string outputColumnName, string? inputColumnName, Options? options)
    {
        _host = Contracts.CheckRef(env, nameof(env)).Register(nameof(TokenBagEstimator));
        if (string.IsNullOrWhiteSpace(outputColumnName))
            throw new ArgumentException("The output column name must not be empty.", nameof(outputColumnName));
        inputColumnName ??= outputColumnName;
        if (string.IsNullOrWhiteSpace(inputColumnName))
            throw new ArgumentException("The input column name must not be empty.", nameof(inputColumnName));
        options ??= new Options();
        // Read once: the caller's options are never written and later changes to them do not reach this estimator.
        _minimumCount = options.MinimumCount;
        _maximumVocabularySize = options.MaximumVocabularySize;
        _lowerCase = options.LowerCase;
        if (_minimumCount < 1)
            throw new ArgumentOutOfRangeException(nameof(Options.MinimumCount), _minimumCount, $"Option MinimumCount must be at least 1; it is {_minimumCount}.");
        if (_maximumVocabularySize < 0 || _maximumVocabularySize > TokenBagTransformer.MaxVocabulary)
        {
            throw new ArgumentOutOfRangeException(nameof(Options.MaximumVocabularySize), _maximumVocabularySize,
                $"Option MaximumVocabularySize must be between 0 (no cap) and {TokenBagTransformer.MaxVocabulary}; it is {_maximumVocabularySize}.");
        }
        _outputColumnName = outputColumnName;
        _inputColumnName = inputColumnName;
    }

    /// <summary>Tokenizes every row of the input column once and keeps the tokens seen in enough rows.</summary>
    /// <exception cref="ArgumentOutOfRangeException">The input column is missing or is not text.</exception>
    /// <exception cref="InvalidOperationException">No token occurs in <c>MinimumCount</c> rows.</exception>
    public TokenBagTransformer Fit(IDataView input)
    {
        if (input is null)
            throw new ArgumentNullException(nameof(input));
        DataViewSchema.Column column = input.Schema.GetColumnOrNull(_inputColumnName)
            ?? throw new ArgumentOutOfRangeException(nameof(input), $"Input column '{_inputColumnName}' of the token bag is not in the data.");
        TokenBagTransformer.CheckTextColumn(column.Name, column.Type);

        var rowsWithToken = new int[TokenBagTransformer.TokenIdLimit];
        var lastRow = new long[rowsWithToken.Length];
        char[] lowered = Array.Empty<char>();
        long rows = 0;
        using (DataViewRowCursor cursor = input.GetRowCursor(new[] { column }))
        {
            ValueGetter<ReadOnlyMemory<char>> getText = cursor.GetGetter<ReadOnlyMemory<char>>(column);
            ReadOnlyMemory<char> text = default;
            while (cursor.MoveNext())
            {
                rows++;
                getText(ref text);
                if (text.IsEmpty)
                    continue;
                foreach (int id in TokenBagTransformer.Encode(text.Span, _lowerCase, ref lowered))
                {
                    if ((uint)id >= (uint)rowsWithToken.Length)
                        throw new InvalidOperationException($"The tokenizer returned id {id}, outside the {rowsWithToken.Length} ids of {TokenBagTransformer.EncodingName}.");
                    // Count each token once per row: lastRow holds the 1-based row that last counted it.
                    if (lastRow[id] != rows)
                    {
                        lastRow[id] = rows;
                        rowsWithToken[id]++;
                    }
                }
            }
        }

        IEnumerable<int> kept = Enumerable.Range(0, rowsWithToken.Length).Where(id => rowsWithToken[id] >= _minimumCount);
        if (_maximumVocabularySize > 0)
            kept = kept.OrderByDescending(id => rowsWithToken[id]).ThenBy(id => id).Take(_maximumVocabularySize);
        int[] tokenIds = kept.OrderBy(id => id).ToArray();
        if (tokenIds.Length == 0)
        {
            throw new InvalidOperationException(
                $"No token of column '{_inputColumnName}' occurs in {_minimumCount} or more of the {rows} rows (MinimumCount), so the token bag would be empty; "
                + "lower MinimumCount or train on more text.");
        }
        return new TokenBagTransformer(_host, _outputColumnName, _inputColumnName, _lowerCase, tokenIds);
    }

    /// <summary>The output column: a known-size vector of <see cref="float"/> (its size is known after <c>Fit</c>).</summary>
    /// <exception cref="ArgumentOutOfRangeException">The input column is missing or is not text.</exception>
    public SchemaShape GetOutputSchema(SchemaShape inputSchema)
    {
        if (!inputSchema.TryFindColumn(_inputColumnName, out SchemaShape.Column column))
            throw new ArgumentOutOfRangeException(nameof(inputSchema), $"Input column '{_inputColumnName}' of the token bag is not in the schema.");
        if (column.Kind != SchemaShape.Column.VectorKind.Scalar || column.ItemType is not TextDataViewType)
        {
            throw new ArgumentOutOfRangeException(nameof(inputSchema),
                $"Column '{_inputColumnName}' is not a scalar String (text) column, which the token bag needs; convert it or pick the text column.");
        }
        var columns = inputSchema.ToDictionary(c => c.Name);
        columns[_outputColumnName] = new SchemaShape.Column(_outputColumnName, SchemaShape.Column.VectorKind.Vector, NumberDataViewType.Single, isKey: false);
        return new SchemaShape(columns.Values);
    }
}
