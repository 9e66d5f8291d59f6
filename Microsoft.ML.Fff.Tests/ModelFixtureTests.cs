using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text.Json;
using Microsoft.ML.Data;
using Microsoft.ML.Fff.Dense;
using Microsoft.ML.Fff.FastFeedForward;
using Microsoft.ML.Fff.MixtureOfExperts;
using Microsoft.VisualStudio.TestTools.UnitTesting;

namespace Microsoft.ML.Fff.Tests;

/// <summary>
/// Model files of every network kind and task, saved once (Assets/fixtures/*.zip) together with the scores the saving
/// version produced for fixed rows (Assets/fixtures/*.json). Every later version must load them on a fresh
/// <see cref="MLContext"/> and reproduce those scores bit for bit: the file format and the scorers may be refactored,
/// but what a saved model computes may not change.
/// </summary>
/// <remarks>
/// To write the fixtures of a new kind: <c>FFF_WRITE_FIXTURES=$PWD/Microsoft.ML.Fff.Tests/Assets/fixtures
/// dotnet test Microsoft.ML.Fff.Tests -c Release --filter Name=GenerateFixtures</c>; files that exist are kept (they hold what
/// the version that wrote them saved). The first set was written by commit "Fixture model files of every network kind and task".
/// </remarks>
[TestClass]
public sealed class ModelFixtureTests
{
    private const int Width = 6;
    private const int RowCount = 24;

    /// <summary>Every kind (file name prefix) with the options that configure it on a small shape.</summary>
    private static readonly (string Kind, Action<FeedForwardOptionsBase> Configure, Func<MLContext, string, FeedForwardOptionsBase, IEstimator<ITransformer>> Trainer)[] Kinds =
    {
        ("fff", o => Fff(o, f => { }), FastFeedForward),
        ("fff-master", o => Fff(o, f => f.MasterLeafWidth = 3), FastFeedForward),
        ("fff-ensemble", o => Fff(o, f => { f.EnsembleSize = 2; f.MasterLeafWidth = 3; }), FastFeedForward),
        ("neuron-tree", o => Fff(o, f => { f.NodeKind = FffNodeKind.Neurons; f.NumberOfTrees = 2; }), FastFeedForward),
        ("embedding-bag", o => Fff(o, f => f.EmbeddingDimension = 4), FastFeedForward),
        ("embedding-bag-neurons", o => Fff(o, f => { f.EmbeddingDimension = 4; f.NodeKind = FffNodeKind.Neurons; f.NumberOfTrees = 2; }), FastFeedForward),
        ("dense", o => ((DenseFeedForwardOptionsBase)o).HiddenLayerWidths = new[] { 8, 5 }, Dense),
        ("moe-topk", o => Moe(o, MoeGating.SoftmaxTopK), MixtureOfExperts),
        ("moe-sigma", o => Moe(o, MoeGating.Sigma), MixtureOfExperts),
        // Input stages (format 0x00010003): one map or embedding in front of each family.
        ("fff-stage-quantile", o => Fff(o, f => f.FeatureScaling = FffFeatureScaling.QuantileNormal), FastFeedForward),
        ("dense-stage-robust-ple", o => Stage((DenseFeedForwardOptionsBase)o, FffFeatureScaling.RobustSmoothClip, FffNumericEmbedding.PiecewiseLinear).HiddenLayerWidths = new[] { 5 }, Dense),
        ("moe-stage-plr", o => { Moe(o, MoeGating.SoftmaxTopK); Stage(o, FffFeatureScaling.Auto, FffNumericEmbedding.Periodic); }, MixtureOfExperts),
        // The clamp to the training range (format 0x00010005), on by default since; the kinds above were written before it, without
        // it. The rows' large-value row lies outside the training range, so the clamp decides its scores.
        ("fff-clamp", o => Fff(o, f => f.ClampToTrainingRange = true), FastFeedForward),
    };

    private static T Stage<T>(T options, FffFeatureScaling scaling, FffNumericEmbedding embedding) where T : FeedForwardOptionsBase
    {
        options.FeatureScaling = scaling;
        options.NumericEmbedding = embedding;
        options.NumericEmbeddingWidth = 3;
        options.NumericEmbeddingBins = 4;
        options.NumericEmbeddingFrequencies = 3;
        return options;
    }

    private static readonly string[] Tasks = { "binary", "multiclass", "regression" };

    private static void Fff(FeedForwardOptionsBase options, Action<FastFeedForwardOptionsBase> configure)
    {
        var fff = (FastFeedForwardOptionsBase)options;
        fff.Depth = 2;
        fff.LeafWidth = 4;
        configure(fff);
    }

    private static void Moe(FeedForwardOptionsBase options, MoeGating gating)
    {
        var moe = (MixtureOfExpertsOptionsBase)options;
        moe.NumberOfExperts = 4;
        moe.ExpertWidth = 3;
        moe.TopK = 2;
        moe.Gating = gating;
    }

    private static IEstimator<ITransformer> FastFeedForward(MLContext ml, string task, FeedForwardOptionsBase o) => task switch
    {
        "binary" => ml.BinaryClassification.Trainers.FastFeedForward((FastFeedForwardBinaryTrainer.Options)o),
        "multiclass" => ml.MulticlassClassification.Trainers.FastFeedForward((FastFeedForwardMulticlassTrainer.Options)o),
        _ => ml.Regression.Trainers.FastFeedForward((FastFeedForwardRegressionTrainer.Options)o),
    };

    private static IEstimator<ITransformer> Dense(MLContext ml, string task, FeedForwardOptionsBase o) => task switch
    {
        "binary" => ml.BinaryClassification.Trainers.DenseFeedForward((DenseFeedForwardBinaryTrainer.Options)o),
        "multiclass" => ml.MulticlassClassification.Trainers.DenseFeedForward((DenseFeedForwardMulticlassTrainer.Options)o),
        _ => ml.Regression.Trainers.DenseFeedForward((DenseFeedForwardRegressionTrainer.Options)o),
    };

    private static IEstimator<ITransformer> MixtureOfExperts(MLContext ml, string task, FeedForwardOptionsBase o) => task switch
    {
        "binary" => ml.BinaryClassification.Trainers.MixtureOfExperts((MixtureOfExpertsBinaryTrainer.Options)o),
        "multiclass" => ml.MulticlassClassification.Trainers.MixtureOfExperts((MixtureOfExpertsMulticlassTrainer.Options)o),
        _ => ml.Regression.Trainers.MixtureOfExperts((MixtureOfExpertsRegressionTrainer.Options)o),
    };

    private static FeedForwardOptionsBase NewOptions(string kind, string task)
    {
        bool dense = kind.StartsWith("dense", StringComparison.Ordinal), moe = kind.StartsWith("moe", StringComparison.Ordinal);
        FeedForwardOptionsBase options = (task, dense, moe) switch
        {
            ("binary", true, _) => new DenseFeedForwardBinaryTrainer.Options(),
            ("multiclass", true, _) => new DenseFeedForwardMulticlassTrainer.Options(),
            (_, true, _) => new DenseFeedForwardRegressionTrainer.Options(),
            ("binary", _, true) => new MixtureOfExpertsBinaryTrainer.Options(),
            ("multiclass", _, true) => new MixtureOfExpertsMulticlassTrainer.Options(),
            (_, _, true) => new MixtureOfExpertsRegressionTrainer.Options(),
            ("binary", _, _) => new FastFeedForwardBinaryTrainer.Options(),
            ("multiclass", _, _) => new FastFeedForwardMulticlassTrainer.Options(),
            _ => new FastFeedForwardRegressionTrainer.Options(),
        };
        options.NumberOfEpochs = 4;
        options.BatchSize = 32;
        options.Seed = 5;
        options.NumberOfThreads = 1;
        return options;
    }

    public static IEnumerable<object[]> Cases => Kinds.SelectMany(k => Tasks.Select(t => new object[] { k.Kind, t }));

    /// <summary>The fixed rows: seeded features in [-1, 1], one row of zeros and one of large values.</summary>
    private static float[][] Rows()
    {
        var random = new Random(20261206);
        var rows = new float[RowCount][];
        for (int r = 0; r < RowCount; r++)
            rows[r] = Enumerable.Range(0, Width).Select(_ => (float)(random.NextDouble() * 2 - 1)).ToArray();
        rows[0] = new float[Width];
        rows[1] = Enumerable.Range(0, Width).Select(j => j % 2 == 0 ? 3.5f : -2.25f).ToArray();
        return rows;
    }

    private static IDataView Input(MLContext ml, string task, float[][] rows) => task switch
    {
        "binary" => TestData.Table(ml, rows.Select(x => new TestData.VectorRow<bool> { Features = x }), Width),
        "multiclass" => TestData.Table(ml, rows.Select(x => new TestData.VectorRow<string> { Features = x, Label = "a" }), Width),
        _ => TestData.Table(ml, rows.Select(x => new TestData.VectorRow<float> { Features = x }), Width),
    };

    /// <summary>Score, Probability and PredictedLabel of every row as raw bits (uint), so NaN and -0 compare exactly.</summary>
    private static Dictionary<string, uint[][]> Outputs(ITransformer model, IDataView input, string task)
    {
        IDataView scored = model.Transform(input);
        var outputs = new Dictionary<string, uint[][]>();
        if (task == "multiclass")
        {
            outputs["Score"] = scored.GetColumn<VBuffer<float>>("Score").Select(v => v.DenseValues().Select(Bits).ToArray()).ToArray();
            outputs["PredictedLabel"] = scored.GetColumn<uint>("PredictedLabel").Select(k => new[] { k }).ToArray();
        }
        else
        {
            outputs["Score"] = scored.GetColumn<float>("Score").Select(s => new[] { Bits(s) }).ToArray();
        }
        if (task == "binary")
        {
            outputs["Probability"] = scored.GetColumn<float>("Probability").Select(p => new[] { Bits(p) }).ToArray();
            outputs["PredictedLabel"] = scored.GetColumn<bool>("PredictedLabel").Select(b => new[] { b ? 1u : 0u }).ToArray();
        }
        return outputs;
    }

    private static uint Bits(float value) => BitConverter.SingleToUInt32Bits(value);

    private sealed class Expected
    {
        public float[][] Rows { get; set; } = Array.Empty<float[]>();

        public Dictionary<string, uint[][]> Outputs { get; set; } = new();
    }

    private static string FixturePath(string directory, string kind, string task, string extension)
        => Path.Combine(directory, $"{kind}-{task}.{extension}");

    /// <summary>Every fixture loads on a fresh context and scores its rows exactly as when it was saved.</summary>
    [TestMethod]
    [DynamicData(nameof(Cases))]
    public void FixtureModelsScoreBitForBit(string kind, string task)
    {
        string directory = Path.Combine(AppContext.BaseDirectory, "Assets", "fixtures");
        Expected expected = JsonSerializer.Deserialize<Expected>(File.ReadAllText(FixturePath(directory, kind, task, "json")))!;
        var mlContext = new MLContext(seed: 0);
        ITransformer model = mlContext.Model.Load(FixturePath(directory, kind, task, "zip"), out _);
        Dictionary<string, uint[][]> actual = Outputs(model, Input(mlContext, task, expected.Rows), task);
        CollectionAssert.AreEquivalent(expected.Outputs.Keys.ToArray(), actual.Keys.ToArray());
        foreach ((string column, uint[][] values) in expected.Outputs)
        {
            Assert.HasCount(values.Length, actual[column], column);
            for (int r = 0; r < values.Length; r++)
                CollectionAssert.AreEqual(values[r], actual[column][r], $"{kind}-{task} {column} row {r}");
        }
    }

    /// <summary>
    /// A fixture (saved before the narrow kernels, format 0x00010004) loaded and saved again keeps the kernels it was saved
    /// with: the new file says format 0x00010003 and scores the stored bits on a fresh context.
    /// </summary>
    [TestMethod]
    [DataRow("fff", "binary")]
    [DataRow("fff-ensemble", "multiclass")]
    [DataRow("fff-stage-quantile", "regression")]
    [DataRow("embedding-bag", "binary")]
    public void FixtureModelsSavedAgainKeepTheirScores(string kind, string task)
    {
        string directory = Path.Combine(AppContext.BaseDirectory, "Assets", "fixtures");
        Expected expected = JsonSerializer.Deserialize<Expected>(File.ReadAllText(FixturePath(directory, kind, task, "json")))!;
        var mlContext = new MLContext(seed: 0);
        ITransformer model = mlContext.Model.Load(FixturePath(directory, kind, task, "zip"), out DataViewSchema schema);
        var stream = new MemoryStream();
        mlContext.Model.Save(model, schema, stream);
        Assert.AreEqual(0x00010003u, WrittenVersion(stream.ToArray()), "written in the format of its kernels");
        stream.Position = 0;
        var fresh = new MLContext(seed: 0);
        ITransformer again = fresh.Model.Load(stream, out _);
        Dictionary<string, uint[][]> actual = Outputs(again, Input(fresh, task, expected.Rows), task);
        foreach ((string column, uint[][] values) in expected.Outputs)
        {
            for (int r = 0; r < values.Length; r++)
                CollectionAssert.AreEqual(values[r], actual[column][r], $"{kind}-{task} {column} row {r}");
        }
    }

    /// <summary>A model trained now is written in the current format (0x00010006, offsets for repeated rows) and scores the same bits after a round trip.</summary>
    [TestMethod]
    public void NewModelsAreWrittenInTheCurrentFormat()
    {
        var mlContext = new MLContext(seed: 1);
        IDataView data = TestData.BinaryData(mlContext);
        ITransformer model = mlContext.BinaryClassification.Trainers.FastFeedForward(depth: 2, leafWidth: 8, numberOfEpochs: 2).Fit(data);
        var stream = new MemoryStream();
        mlContext.Model.Save(model, data.Schema, stream);
        Assert.AreEqual(0x00010006u, WrittenVersion(stream.ToArray()));
        stream.Position = 0;
        ITransformer loaded = new MLContext(seed: 0).Model.Load(stream, out _);
        float[] before = model.Transform(data).GetColumn<float>("Score").ToArray();
        float[] after = loaded.Transform(data).GetColumn<float>("Score").ToArray();
        CollectionAssert.AreEqual(before.Select(Bits).ToArray(), after.Select(Bits).ToArray());
    }

    /// <summary>The written format version (ML.NET's ModelVerWritten at 0x48 of the model header) of the entry that carries our signature.</summary>
    private static uint WrittenVersion(byte[] zip) => BitConverter.ToUInt32(NetworkChecks.OurModelEntry(zip), 0x48);

    /// <summary>
    /// Writes the fixtures into the folder named by FFF_WRITE_FIXTURES; does nothing without it. Run only when the
    /// saved format is meant to change, and say why in the commit.
    /// </summary>
    [TestMethod]
    [DoNotParallelize]
    public void GenerateFixtures()
    {
        string? directory = Environment.GetEnvironmentVariable("FFF_WRITE_FIXTURES");
        if (string.IsNullOrEmpty(directory))
        {
            Assert.Inconclusive("Set FFF_WRITE_FIXTURES to a folder to (re)write the fixture model files.");
            return;
        }
        Directory.CreateDirectory(directory);
        float[][] rows = Rows();
        foreach ((string kind, Action<FeedForwardOptionsBase> configure, var trainer) in Kinds)
        {
            foreach (string task in Tasks)
            {
                string zip = FixturePath(directory, kind, task, "zip");
                if (File.Exists(zip))
                    continue;
                var mlContext = new MLContext(seed: 1);
                FeedForwardOptionsBase options = NewOptions(kind, task);
                configure(options);
                (IDataView data, IEstimator<ITransformer> estimator) = task switch
                {
                    "binary" => (TestData.BinaryData(mlContext), trainer(mlContext, task, options)),
                    "multiclass" => (TestData.MulticlassData(mlContext), (IEstimator<ITransformer>)TestData.MulticlassPrefix(mlContext).Append(trainer(mlContext, task, options))),
                    _ => (TestData.RegressionData(mlContext), trainer(mlContext, task, options)),
                };
                ITransformer model = estimator.Fit(data);
                mlContext.Model.Save(model, data.Schema, zip);
                // The expectations come from the reloaded model, which is what the test compares against.
                var fresh = new MLContext(seed: 0);
                ITransformer loaded = fresh.Model.Load(zip, out _);
                var expected = new Expected { Rows = rows, Outputs = Outputs(loaded, Input(fresh, task, rows), task) };
                File.WriteAllText(FixturePath(directory, kind, task, "json"), JsonSerializer.Serialize(expected));
                Console.WriteLine($"{kind}-{task}: {new FileInfo(zip).Length} bytes");
            }
        }
    }
}
