using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Fff;
using Microsoft.ML.Fff.FastFeedForward;

namespace FffLoadTest;

/// <summary>A model file the service may serve, with the scores it must give on <see cref="ServedModels.Features"/>.</summary>
/// <param name="Name">A short label for reports.</param>
/// <param name="Bytes">The zip, as written to the watched path.</param>
/// <param name="Version">What the service reports for these bytes: the first 16 hex digits of their SHA-256.</param>
/// <param name="Expected">Row-major scores of every digits row, from an in-process PredictionEngine on the loaded zip.</param>
internal sealed record ServedModel(string Name, byte[] Bytes, string Version, float[] Expected);

/// <summary>
/// The models of the load runs: A and B are multiclass FFFs on the embedded digits data with different seeds and shapes
/// (so their scores differ on every row), and C is a binary breast-cancer model (30 features) that the service must refuse
/// as a swap because its schema differs. Trained here, so every run is self-contained.
/// </summary>
internal sealed class ServedModels
{
    public const int FeatureCount = 64;
    public const int OutputCount = 10;

    private ServedModels(float[] features, ServedModel a, ServedModel b, byte[] wrongSchema)
    {
        Features = features;
        A = a;
        B = b;
        WrongSchema = wrongSchema;
        ByVersion = new Dictionary<string, ServedModel> { [a.Version] = a, [b.Version] = b };
    }

    /// <summary>Every digits row, row-major (1,797 x 64).</summary>
    public float[] Features { get; }

    public int RowCount => Features.Length / FeatureCount;

    public ServedModel A { get; }

    public ServedModel B { get; }

    /// <summary>A valid model with another schema (30 features, one score).</summary>
    public byte[] WrongSchema { get; }

    public IReadOnlyDictionary<string, ServedModel> ByVersion { get; }

    /// <summary>Trains the models (a few seconds with the default 4 epochs).</summary>
    public static ServedModels Train(int epochs = 4)
    {
        var mlContext = new MLContext(seed: 0);
        IDataView digits = mlContext.Fff().SampleData.Digits();
        float[] features = mlContext.Data.CreateEnumerable<DigitRow>(digits, reuseRowObject: false).SelectMany(r => r.Features).ToArray();
        ServedModel a = Score("A", TrainDigits(mlContext, digits, seed: 1, depth: 3, leafWidth: 16, epochs), features);
        ServedModel b = Score("B", TrainDigits(mlContext, digits, seed: 2, depth: 2, leafWidth: 24, epochs), features);
        if (a.Version == b.Version)
            throw new InvalidOperationException("models A and B have the same bytes");
        for (int r = 0; r < features.Length / FeatureCount; r++)
        {
            if (a.Expected.AsSpan(r * OutputCount, OutputCount).SequenceEqual(b.Expected.AsSpan(r * OutputCount, OutputCount)))
                throw new InvalidOperationException($"models A and B score row {r} identically; a mixed response could go unnoticed");
        }

        IDataView cancer = mlContext.Fff().SampleData.BreastCancer();
        var binary = mlContext.BinaryClassification.Trainers.FastFeedForward(new FastFeedForwardBinaryTrainer.Options
        {
            Depth = 2, LeafWidth = 4, NumberOfEpochs = 1, Seed = 3, NumberOfThreads = 1,
        }).Fit(cancer);
        return new ServedModels(features, a, b, Save(mlContext, binary, cancer.Schema));
    }

    /// <summary>The serving form of a digits model: the trainer alone, reading only Features (the key label mapping is
    /// fitted on the side, so the saved pipeline needs no Label column at scoring time).</summary>
    private static byte[] TrainDigits(MLContext mlContext, IDataView digits, int seed, int depth, int leafWidth, int epochs)
    {
        IDataView keyed = mlContext.Transforms.Conversion.MapValueToKey("Label").Fit(digits).Transform(digits);
        var model = mlContext.MulticlassClassification.Trainers.FastFeedForward(new FastFeedForwardMulticlassTrainer.Options
        {
            Depth = depth, LeafWidth = leafWidth, NumberOfEpochs = epochs, Seed = seed, NumberOfThreads = 1,
        }).Fit(keyed);
        return Save(mlContext, model, keyed.Schema);
    }

    private static byte[] Save(MLContext mlContext, ITransformer model, DataViewSchema schema)
    {
        var stream = new MemoryStream();
        mlContext.Model.Save(model, schema, stream);
        return stream.ToArray();
    }

    /// <summary>Scores every row through a PredictionEngine on the zip loaded in a fresh context: the in-process reference.</summary>
    private static ServedModel Score(string name, byte[] bytes, float[] features)
    {
        var expected = new float[features.Length / FeatureCount * OutputCount];
        var engine = InProcessEngine(bytes);
        var row = new FeaturesRow();
        var output = new ScoreRow();
        for (int r = 0; r < features.Length / FeatureCount; r++)
        {
            row.Features = features.AsSpan(r * FeatureCount, FeatureCount).ToArray();
            engine.Predict(row, ref output);
            output.Score.CopyTo(expected.AsSpan(r * OutputCount, OutputCount));
        }
        string version = Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(bytes))[..16];
        return new ServedModel(name, bytes, version, expected);
    }

    /// <summary>A PredictionEngine over a model loaded from <paramref name="bytes"/> on a fresh MLContext.</summary>
    public static PredictionEngine<FeaturesRow, ScoreRow> InProcessEngine(byte[] bytes)
    {
        var mlContext = new MLContext(seed: 0);
        ITransformer model = mlContext.Model.Load(new MemoryStream(bytes), out _);
        var definition = SchemaDefinition.Create(typeof(FeaturesRow));
        definition[nameof(FeaturesRow.Features)].ColumnType = new VectorDataViewType(NumberDataViewType.Single, FeatureCount);
        return mlContext.Model.CreatePredictionEngine<FeaturesRow, ScoreRow>(model, inputSchemaDefinition: definition);
    }

    /// <summary>Checks <paramref name="scores"/> (rows starting at <paramref name="firstRow"/>) against the model the
    /// response claims; returns what is wrong, or null when every score is the claimed model's, bit for bit.</summary>
    public string? Check(string version, int firstRow, ReadOnlySpan<float> scores)
    {
        if (!ByVersion.TryGetValue(version, out ServedModel? model))
            return $"version {version} is neither A ({A.Version}) nor B ({B.Version})";
        ReadOnlySpan<float> want = model.Expected.AsSpan(firstRow * OutputCount, scores.Length);
        for (int i = 0; i < scores.Length; i++)
        {
            if (BitConverter.SingleToInt32Bits(scores[i]) != BitConverter.SingleToInt32Bits(want[i]))
            {
                ServedModel other = model == A ? B : A;
                bool otherMatches = scores.SequenceEqual(other.Expected.AsSpan(firstRow * OutputCount, scores.Length));
                return $"claims {model.Name} but row {firstRow + i / OutputCount} score {i % OutputCount} is {scores[i]}, not {want[i]}"
                    + (otherMatches ? $" (the whole response is {other.Name}'s)" : "");
            }
        }
        return null;
    }

    internal sealed class FeaturesRow
    {
        public float[] Features { get; set; } = Array.Empty<float>();
    }

    internal sealed class ScoreRow
    {
        public float[] Score { get; set; } = Array.Empty<float>();
    }

    private sealed class DigitRow
    {
        [VectorType(FeatureCount)]
        public float[] Features { get; set; } = Array.Empty<float>();

        public float Label { get; set; }
    }
}
