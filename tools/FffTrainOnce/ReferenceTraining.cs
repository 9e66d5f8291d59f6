// Shared as source: compiled into tools/FffTrainOnce and (linked) into Microsoft.ML.Fff.Tests, so the separate-process
// runs and the in-process run of the determinism tests train through exactly the same code and options.
using System;
using System.IO;
using Microsoft.ML;
using Microsoft.ML.Fff;
using Microsoft.ML.Fff.FastFeedForward;

namespace MlNetFff.Tools;

/// <summary>The reference training run of each task on the embedded data sets.</summary>
internal static class ReferenceTraining
{
    /// <summary>The tasks, as named on the command line.</summary>
    public static readonly string[] Tasks = { "binary", "multiclass", "regression" };

    /// <summary>
    /// The fixed options: small and quick (depth 2, leaf width 8, 10 epochs of which 4 hard fine-tune, batch 64), or with
    /// <paramref name="full"/> the library defaults (depth 3, leaf width 32, 60 epochs). The seed comes from the
    /// MLContext (Options.Seed unset), the common way to seed a pipeline. <paramref name="threads"/> sets
    /// Options.NumberOfThreads (null: libtorch's default, the number of cores).
    /// </summary>
    public static TOptions Configure<TOptions>(TOptions options, int? threads, bool full)
        where TOptions : FastFeedForwardOptionsBase
    {
        if (!full)
        {
            options.Depth = 2;
            options.LeafWidth = 8;
            options.NumberOfEpochs = 10;
            options.BatchSize = 64;
        }
        options.NumberOfThreads = threads;
        return options;
    }

    /// <summary>The task's embedded data set: breast cancer (binary), digits (multiclass), diabetes (regression).</summary>
    public static IDataView Data(MLContext mlContext, string task)
    {
        FffSampleData samples = mlContext.Fff().SampleData;
        return task switch
        {
            "binary" => samples.BreastCancer(),
            "multiclass" => samples.Digits(),
            "regression" => samples.Diabetes(),
            _ => throw new ArgumentException($"Unknown task '{task}'; use one of: {string.Join(", ", Tasks)}.", nameof(task)),
        };
    }

    /// <summary>Trains the task's model on all of its data with <c>new MLContext(seed)</c>; returns the context, the model and the data.</summary>
    public static (MLContext Context, ITransformer Model, IDataView Data) Train(string task, int seed, int? threads = null, bool full = false)
    {
        var mlContext = new MLContext(seed);
        IDataView data = Data(mlContext, task);
        ITransformer model = task switch
        {
            "binary" => mlContext.BinaryClassification.Trainers.FastFeedForward(
                Configure(new FastFeedForwardBinaryTrainer.Options(), threads, full)).Fit(data),
            "multiclass" => mlContext.Transforms.Conversion.MapValueToKey("Label")
                .Append(mlContext.MulticlassClassification.Trainers.FastFeedForward(
                    Configure(new FastFeedForwardMulticlassTrainer.Options(), threads, full))).Fit(data),
            "regression" => mlContext.Regression.Trainers.FastFeedForward(
                Configure(new FastFeedForwardRegressionTrainer.Options(), threads, full)).Fit(data),
            _ => throw new ArgumentException($"Unknown task '{task}'.", nameof(task)),
        };
        return (mlContext, model, data);
    }

    /// <summary>Trains (see <see cref="Train"/>) and saves the model with <c>mlContext.Model.Save</c> to <paramref name="path"/>.</summary>
    public static void TrainAndSave(string task, int seed, string path, int? threads = null, bool full = false)
    {
        (MLContext mlContext, ITransformer model, IDataView data) = Train(task, seed, threads, full);
        using FileStream file = File.Create(path);
        mlContext.Model.Save(model, data.Schema, file);
    }
}
