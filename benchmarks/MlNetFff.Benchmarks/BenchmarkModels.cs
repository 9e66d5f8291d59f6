using System;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Fff;
using Microsoft.ML.Fff.Dense;
using Microsoft.ML.Fff.FastFeedForward;
using Microsoft.ML.Fff.MixtureOfExperts;

namespace MlNetFff.Benchmarks;

/// <summary>The models compared by the benchmarks.</summary>
public enum ModelKind
{
    /// <summary>Fast feedforward: leaf width 16, depth log2(width / 16), scored by hard descent.</summary>
    Fff,
    /// <summary>Mixture of experts: experts of 64 neurons, width / 64 of them, top-2.</summary>
    Moe,
    /// <summary>Dense feedforward: one hidden layer of the full width (ReLU).</summary>
    Dense,
    /// <summary>ML.NET LightGBM, default options (its cost does not depend on the width parameter).</summary>
    LightGbm,
}

/// <summary>One MNIST-shaped input row (784 pixels).</summary>
public sealed class PixelRow
{
    /// <summary>The 784 pixels, 0..255.</summary>
    [VectorType(BenchmarkModels.Inputs)]
    public float[] Features { get; set; } = Array.Empty<float>();
}

/// <summary>A multiclass prediction: class probabilities and the predicted key.</summary>
public sealed class DigitPrediction
{
    /// <summary>One probability per class.</summary>
    public float[] Score { get; set; } = Array.Empty<float>();

    /// <summary>The predicted class as a key (1-based).</summary>
    public uint PredictedLabel { get; set; }
}

/// <summary>
/// Trains and caches the benchmarked models. Every model is trained through the public trainers on the same MNIST-shaped
/// data: the first rows of MNIST when its cache exists (scripts/fetch-mnist.sh), otherwise seeded synthetic digit-like
/// images (10 class prototypes with noise; about 80 % zero pixels like MNIST). Neural models get one epoch: scoring cost
/// does not depend on how well a model is trained, only on its shape (and, for FFF and MoE, on how rows spread over
/// leaves and experts, which one epoch already makes realistic). LightGBM is trained with its defaults.
/// </summary>
public static class BenchmarkModels
{
    /// <summary>Inputs of an MNIST row.</summary>
    public const int Inputs = 784;

    /// <summary>Classes.</summary>
    public const int Classes = 10;

    /// <summary>FFF leaf width.</summary>
    public const int LeafWidth = 16;

    /// <summary>MoE expert width.</summary>
    public const int ExpertWidth = 64;

    /// <summary>MoE experts per row.</summary>
    public const int TopK = 2;

    /// <summary>
    /// Smoke mode (set by the test suite): tiny training sets and batches, so every benchmark runs once in seconds. The
    /// widths are still those of <see cref="Widths"/> restricted to the smallest.
    /// </summary>
    public static bool Smoke { get; set; }

    /// <summary>Training widths benchmarked (smoke mode: the smallest only; <see cref="OnlyWidths"/> restricts them).</summary>
    public static IEnumerable<int> Widths => Smoke ? new[] { 512 } : new[] { 512, 1024, 2048, 4096, 8192 }.Where(w => OnlyWidths == null || OnlyWidths.Contains(w));

    /// <summary>The neural models benchmarked (<c>--models</c> restricts them).</summary>
    public static IEnumerable<ModelKind> NeuralModels => new[] { ModelKind.Fff, ModelKind.Moe, ModelKind.Dense }
        .Where(m => OnlyModels == null || OnlyModels.Contains(m));

    /// <summary>When set (<c>--models</c>), only these neural models are benchmarked.</summary>
    public static ModelKind[]? OnlyModels { get; set; }

    /// <summary>When set (<c>--widths</c>), only these widths are benchmarked.</summary>
    public static int[]? OnlyWidths { get; set; }

    /// <summary>Rows the models are trained on.</summary>
    public static int TrainingRows => Smoke ? 300 : 10_000;

    /// <summary>Which data the models were trained on (printed with the results).</summary>
    public static string DataDescription { get; private set; } = "";

    private static readonly ConcurrentDictionary<(ModelKind, int), ITransformer> s_models = new();
    private static readonly object s_dataLock = new();
    private static (float[][] Rows, float[] Labels)? s_data;

    /// <summary>MNIST-shaped rows and labels (cached; at least <see cref="TrainingRows"/> rows).</summary>
    public static (float[][] Rows, float[] Labels) Data()
    {
        lock (s_dataLock)
        {
            if (s_data is { } cached && cached.Rows.Length >= TrainingRows)
                return cached;
            s_data = LoadData(TrainingRows);
            return s_data.Value;
        }
    }

    private static (float[][] Rows, float[] Labels) LoadData(int rows)
    {
        var mlContext = new MLContext(seed: 0);
        string mnist = FffSampleData.DefaultMnistDirectory;
        if (File.Exists(Path.Combine(mnist, "train-images-idx3-ubyte")))
        {
            IDataView view = mlContext.Fff().SampleData.Mnist(maxRows: rows);
            float[][] features = view.GetColumn<float[]>("Features").ToArray();
            float[] labels = view.GetColumn<float>("Label").ToArray();
            DataDescription = $"the first {features.Length:N0} MNIST training images";
            return (features, labels);
        }
        var random = new Random(0);
        float[][] prototypes = Enumerable.Range(0, Classes)
            .Select(_ => Enumerable.Range(0, Inputs).Select(_ => random.NextDouble() < 0.2 ? (float)(random.NextDouble() * 255) : 0f).ToArray())
            .ToArray();
        var data = new float[rows][];
        var targets = new float[rows];
        for (int r = 0; r < rows; r++)
        {
            int label = r % Classes;
            targets[r] = label;
            data[r] = prototypes[label].Select(p => p > 0 || random.NextDouble() < 0.02 ? Math.Clamp(p + (float)(random.NextDouble() * 120 - 60), 0, 255) : 0f).ToArray();
        }
        DataDescription = $"{rows:N0} synthetic MNIST-shaped rows (no MNIST cache; run scripts/fetch-mnist.sh for real images)";
        return (data, targets);
    }

    /// <summary>Rows for scoring: <paramref name="count"/> rows drawn from the data (cycled), row-major in one array.</summary>
    public static float[] ScoringRows(int count)
    {
        float[][] rows = Data().Rows;
        var flat = new float[count * Inputs];
        for (int r = 0; r < count; r++)
            rows[(r * 7919) % rows.Length].CopyTo(flat, r * Inputs);
        return flat;
    }

    /// <summary>The training data as an IDataView with a key Label column.</summary>
    public static IDataView TrainingView(MLContext mlContext)
    {
        (float[][] rows, float[] labels) = Data();
        var items = rows.Take(TrainingRows).Select((features, i) => new LabeledRow { Features = features, Label = labels[i] });
        IDataView view = mlContext.Data.LoadFromEnumerable(items);
        return mlContext.Transforms.Conversion.MapValueToKey("Label").Fit(view).Transform(view);
    }

    /// <summary>The trained prediction transformer of a model kind and width (trained once per process).</summary>
    public static ITransformer Model(ModelKind kind, int width)
        => s_models.GetOrAdd((kind, kind == ModelKind.LightGbm ? 0 : width), key => Train(key.Item1, key.Item2));

    /// <summary>The estimator of a model kind at a training width, trained for <paramref name="epochs"/> epochs.</summary>
    public static IEstimator<ITransformer> Trainer(MLContext mlContext, ModelKind kind, int width, int epochs)
    {
        switch (kind)
        {
            case ModelKind.Fff:
                int depth = (int)Math.Round(Math.Log2(width / (double)LeafWidth));
                return mlContext.MulticlassClassification.Trainers.FastFeedForward(new FastFeedForwardMulticlassTrainer.Options
                {
                    Depth = depth,
                    LeafWidth = LeafWidth,
                    NumberOfEpochs = epochs,
                    Seed = 1,
                });
            case ModelKind.Moe:
                return mlContext.MulticlassClassification.Trainers.MixtureOfExperts(new MixtureOfExpertsMulticlassTrainer.Options
                {
                    NumberOfExperts = width / ExpertWidth,
                    ExpertWidth = ExpertWidth,
                    TopK = TopK,
                    NumberOfEpochs = epochs,
                    Seed = 1,
                });
            case ModelKind.Dense:
                return mlContext.MulticlassClassification.Trainers.DenseFeedForward(new DenseFeedForwardMulticlassTrainer.Options
                {
                    HiddenLayerWidths = new[] { width },
                    NumberOfEpochs = epochs,
                    Seed = 1,
                });
            default:
                return mlContext.MulticlassClassification.Trainers.LightGbm();
        }
    }

    private static ITransformer Train(ModelKind kind, int width)
    {
        var mlContext = new MLContext(seed: 0);
        IDataView data = TrainingView(mlContext);
        return Trainer(mlContext, kind, width, epochs: 1).Fit(data);
    }

    /// <summary>The model parameters behind an FFF, MoE or dense prediction transformer.</summary>
    public static FffMulticlassModelParameters Parameters(ITransformer model)
        => ((MulticlassPredictionTransformer<FffMulticlassModelParameters>)model).Model;

    /// <summary>A label and features, for training.</summary>
    public sealed class LabeledRow
    {
        /// <summary>The 784 pixels.</summary>
        [VectorType(Inputs)]
        public float[] Features { get; set; } = Array.Empty<float>();

        /// <summary>The digit.</summary>
        public float Label { get; set; }
    }
}
