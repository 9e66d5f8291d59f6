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
/// Loaders of data sets fetched from outside (MNIST, IMDB) live with the samples (samples/Shared), not in the library.
/// </summary>
public sealed class FffSampleData
{
    private readonly MLContext _mlContext;

    internal FffSampleData(MLContext mlContext) => _mlContext = mlContext;

    /// <summary>Optical digits: 1,797 rows of 8x8 images (64 features, 0..16); Label is the digit as Single (0..9).</summary>
    public IDataView Digits() => Load<float>("digits.csv", 64, float.Parse);

    /// <summary>Wisconsin diagnostic breast cancer: 569 rows, 30 features; Label is Boolean (true = benign).</summary>
    public IDataView BreastCancer() => Load<bool>("breast_cancer.csv", 30, (s, _) => bool.Parse(s));

    /// <summary>Diabetes progression: 442 rows, 10 raw features (age, sex, bmi, bp, s1..s6); Label is the progression as Single.</summary>
    public IDataView Diabetes() => Load<float>("diabetes.csv", 10, float.Parse);

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
