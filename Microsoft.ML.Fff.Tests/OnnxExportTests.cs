using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using Microsoft.ML.Data;
using Microsoft.ML.Fff.Dense;
using Microsoft.ML.Fff.FastFeedForward;
using Microsoft.ML.Fff.MixtureOfExperts;
using Microsoft.ML.Fff.Scoring;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using Microsoft.VisualStudio.TestTools.UnitTesting;

namespace Microsoft.ML.Fff.Tests;

/// <summary>
/// ONNX export through ML.NET's own <c>ConvertToOnnx</c> (docs/onnx.md): every network kind and task is exported, scored
/// by ONNX Runtime and compared with ML.NET's Transform column by column (max abs difference ≤ 1e-5 on real rows, the
/// same PredictedLabel). Edited weights put node values at exactly 0 and gate logits in exact ties, so a wrong tie rule,
/// soft routing or another top-k order would fail.
/// </summary>
[TestClass]
public sealed class OnnxExportTests
{
    private const float Tolerance = 1e-5f;

    public TestContext TestContext { get; set; } = null!;

    // ---- helpers ----

    /// <summary>The three ML.NET tasks.</summary>
    public enum OnnxTask { Binary, Multiclass, Regression }

    /// <summary>
    /// Real rows for a task: breast cancer (binary, 30 features), digits (10 classes, 64), diabetes (regression, 10) with
    /// the label in hundreds. The diabetes label runs to 346, where float32 values are 3e-5 apart, so an absolute 1e-5
    /// could only be met bit for bit; in hundreds the predictions stay below 4 (see <see cref="RegressionOnRawDiabetesLabels"/>).
    /// </summary>
    private static IDataView RealRows(MLContext ml, OnnxTask task) => task switch
    {
        OnnxTask.Binary => ml.Fff().SampleData.BreastCancer(),
        OnnxTask.Multiclass => ml.Fff().SampleData.Digits(),
        _ => ml.Transforms.CustomMapping<LabelRow, LabelRow>((from, to) => to.Label = from.Label / 100, contractName: null)
            .Fit(ml.Fff().SampleData.Diabetes()).Transform(ml.Fff().SampleData.Diabetes()),
    };

    private sealed class LabelRow
    {
        public float Label { get; set; }
    }

    /// <summary>
    /// Trains <paramref name="trainer"/> on the task's rows and returns the predictor transformer (the key mapping of a
    /// multiclass label stays outside it) and the Features-only view it scores.
    /// </summary>
    private static (ITransformer Model, IDataView Features) Train(MLContext ml, OnnxTask task, IEstimator<ITransformer> trainer, IDataView? rows = null)
    {
        rows ??= RealRows(ml, task);
        if (task == OnnxTask.Multiclass)
            rows = ml.Transforms.Conversion.MapValueToKey("Label").Fit(rows).Transform(rows);
        ITransformer model = trainer.Fit(rows);
        return (model, FeaturesOnly(ml, rows));
    }

    /// <summary>
    /// The Features column alone, cached: the cache ends ML.NET's walk back through the pipeline, so the exported graph's
    /// only input is Features (not the raw columns of the steps that made the rows, such as the label's key mapping).
    /// </summary>
    private static IDataView FeaturesOnly(MLContext ml, IDataView rows)
        => ml.Data.Cache(ml.Transforms.SelectColumns("Features").Fit(rows).Transform(rows));

    /// <summary>The ONNX bytes of <paramref name="model"/> applied to <paramref name="input"/>, from ML.NET's converter.</summary>
    private static byte[] Export(MLContext ml, ITransformer model, IDataView input)
    {
        using var stream = new MemoryStream();
        ml.Model.ConvertToOnnx(model, input, stream);
        return stream.ToArray();
    }

    /// <summary>The Features column as a dense row-major array.</summary>
    private static float[] DenseFeatures(IDataView view, out int rows, out int width)
    {
        // GetColumn may hand out one reused buffer per row: copy each row as it comes.
        List<float[]> vectors = view.GetColumn<VBuffer<float>>("Features").Select(v => v.DenseValues().ToArray()).ToList();
        rows = vectors.Count;
        width = vectors[0].Length;
        return vectors.SelectMany(v => v).ToArray();
    }

    /// <summary>ONNX Runtime's outputs named <c>{column}.output</c>, by column name.</summary>
    private static Dictionary<string, Array> RunOnnx(byte[] onnx, float[] features, int rows, int width, IEnumerable<string> columns)
    {
        using var session = new InferenceSession(onnx);
        var input = NamedOnnxValue.CreateFromTensor("Features", new DenseTensor<float>(features, new[] { rows, width }));
        string[] names = columns.Select(c => c + ".output").ToArray();
        using IDisposableReadOnlyCollection<DisposableNamedOnnxValue> results = session.Run(new[] { input }, names);
        var outputs = new Dictionary<string, Array>();
        foreach (DisposableNamedOnnxValue result in results)
        {
            string column = result.Name[..^".output".Length];
            outputs[column] = result.Value switch
            {
                Tensor<float> t => t.ToArray(),
                Tensor<bool> t => t.ToArray(),
                Tensor<uint> t => t.ToArray(),
                _ => throw new AssertFailedException($"unexpected ONNX output type for {result.Name}: {result.Value.GetType()}"),
            };
        }
        return outputs;
    }

    /// <summary>
    /// Exports <paramref name="model"/>, scores <paramref name="input"/> with ONNX Runtime and ML.NET, and checks every
    /// score column within <see cref="Tolerance"/> and PredictedLabel equal. Returns the largest score difference.
    /// </summary>
    private float ExportAndCompare(MLContext ml, ITransformer model, IDataView input, OnnxTask task, string what, bool relativeBeyondOne = false)
    {
        byte[] onnx = Export(ml, model, input);
        float[] features = DenseFeatures(input, out int rows, out int width);
        string[] columns = task switch
        {
            OnnxTask.Binary => new[] { "Score", "Probability", "PredictedLabel" },
            OnnxTask.Multiclass => new[] { "Score", "PredictedLabel" },
            _ => new[] { "Score" },
        };
        Dictionary<string, Array> onnxOut = RunOnnx(onnx, features, rows, width, columns);
        IDataView scored = model.Transform(input);
        float worst = 0;
        float[] mlScores = task == OnnxTask.Multiclass
            ? scored.GetColumn<VBuffer<float>>("Score").SelectMany(v => v.DenseValues()).ToArray()
            : scored.GetColumn<float>("Score").ToArray();
        worst = Math.Max(worst, MaxDifference(mlScores, (float[])onnxOut["Score"], what + " Score", relativeBeyondOne, out float relative));
        if (task == OnnxTask.Binary)
        {
            worst = Math.Max(worst, MaxDifference(scored.GetColumn<float>("Probability").ToArray(), (float[])onnxOut["Probability"], what + " Probability", relativeBeyondOne, out float probability));
            relative = Math.Max(relative, probability);
            CollectionAssert.AreEqual(scored.GetColumn<bool>("PredictedLabel").ToArray(), (bool[])onnxOut["PredictedLabel"], what + " PredictedLabel");
        }
        else if (task == OnnxTask.Multiclass)
        {
            CollectionAssert.AreEqual(scored.GetColumn<uint>("PredictedLabel").ToArray(), (uint[])onnxOut["PredictedLabel"], what + " PredictedLabel");
        }
        TestContext.WriteLine($"{what}: {rows} rows, max |ONNX Runtime - ML.NET| = {worst:E2}, scaled by max(1, |score|) {relative:E2}");
        return worst;
    }

    /// <summary>
    /// Checks <c>|expected - actual| ≤ 1e-5</c> for every value, or with <paramref name="relativeBeyondOne"/>
    /// <c>≤ 1e-5 · max(1, |expected|)</c> (for scores far above 1, where float32 spacing exceeds 1e-5). Returns the largest
    /// absolute difference; <paramref name="relative"/> gets the largest difference scaled by <c>max(1, |expected|)</c>.
    /// </summary>
    private static float MaxDifference(float[] expected, float[] actual, string what, bool relativeBeyondOne, out float relative)
    {
        Assert.HasCount(expected.Length, actual, what + ": value count");
        float worst = 0;
        relative = 0;
        for (int i = 0; i < expected.Length; i++)
        {
            Assert.IsTrue(float.IsFinite(expected[i]), $"{what}[{i}] is finite");
            float difference = Math.Abs(expected[i] - actual[i]);
            float scaled = difference / Math.Max(1f, Math.Abs(expected[i]));
            Assert.IsLessThanOrEqualTo(Tolerance, relativeBeyondOne ? scaled : difference, $"{what}[{i}]: ML.NET {expected[i]} vs ONNX Runtime {actual[i]}");
            worst = Math.Max(worst, difference);
            relative = Math.Max(relative, scaled);
        }
        return worst;
    }

    private static T Quick<T>(T options, int epochs = 15) where T : FeedForwardOptionsBase
    {
        options.NumberOfEpochs = epochs;
        options.NumberOfThreads = 1;
        options.Seed = 1;
        return options;
    }

    private static IEstimator<ITransformer> FffTrainer(MLContext ml, OnnxTask task, Action<FastFeedForwardOptionsBase> configure) => task switch
    {
        OnnxTask.Binary => ml.BinaryClassification.Trainers.FastFeedForward(Configure(Quick(new FastFeedForwardBinaryTrainer.Options()), configure)),
        OnnxTask.Multiclass => ml.MulticlassClassification.Trainers.FastFeedForward(Configure(Quick(new FastFeedForwardMulticlassTrainer.Options()), configure)),
        _ => ml.Regression.Trainers.FastFeedForward(Configure(Quick(new FastFeedForwardRegressionTrainer.Options()), configure)),
    };

    private static T Configure<T>(T options, Action<FastFeedForwardOptionsBase> configure) where T : FastFeedForwardOptionsBase
    {
        configure(options);
        return options;
    }

    /// <summary>The model's network; behind the default clamp stage, the network it clamps for (the export covers both).</summary>
    private static FeedForwardNetwork NetworkOf(ITransformer model) => NetworkChecks.Unclamped(model switch
    {
        BinaryPredictionTransformer<FffBinaryModelParameters> b => b.Model.Network,
        MulticlassPredictionTransformer<FffMulticlassModelParameters> m => m.Model.Network,
        RegressionPredictionTransformer<FffRegressionModelParameters> r => r.Model.Network,
        _ => throw new AssertFailedException("not an FFF predictor: " + model.GetType()),
    });

    /// <summary>The regression Score column.</summary>
    private static float[] Scores(ITransformer model, IDataView features) => model.Transform(features).GetColumn<float>("Score").ToArray();

    /// <summary>Fails unless some row's score moved by more than 1e-3: the edited decision matters.</summary>
    private static void AssertSomeScoreMoved(float[] before, float[] after, string what)
        => Assert.IsGreaterThan(1e-3f, before.Zip(after, (a, b) => Math.Abs(a - b)).Max(), what);

    /// <summary>Distinct leaves the rows reach (the C# descent): more than one, so the descent decides the score.</summary>
    private static int DistinctLeaves(FastFeedForwardNetwork fff, IDataView features)
    {
        float[] x = DenseFeatures(features, out int rows, out int width);
        return Enumerable.Range(0, rows).Select(r => fff.FindLeaf(x.AsSpan(r * width, width))).Distinct().Count();
    }

    // ---- input stages ----

    [TestMethod]
    [DataRow(OnnxTask.Binary, FffFeatureScaling.QuantileNormal, FffNumericEmbedding.None)]
    [DataRow(OnnxTask.Regression, FffFeatureScaling.RobustSmoothClip, FffNumericEmbedding.PiecewiseLinear)]
    [DataRow(OnnxTask.Multiclass, FffFeatureScaling.Auto, FffNumericEmbedding.Periodic)]
    [DataRow(OnnxTask.Binary, FffFeatureScaling.None, FffNumericEmbedding.PiecewiseLinear)]
    [DataRow(OnnxTask.Regression, FffFeatureScaling.QuantileNormal, FffNumericEmbedding.Periodic)]
    public void InputStagesMatchOnnxRuntime(OnnxTask task, FffFeatureScaling scaling, FffNumericEmbedding embedding)
    {
        var ml = new MLContext(seed: 1);
        (ITransformer model, IDataView features) = Train(ml, task, FffTrainer(ml, task, o =>
        {
            o.Depth = 2;
            o.LeafWidth = 6;
            o.FeatureScaling = scaling;
            o.NumericEmbedding = embedding;
            o.NumericEmbeddingWidth = 4;
            o.NumericEmbeddingBins = 5;
            o.NumericEmbeddingFrequencies = 3;
        }));
        Assert.IsInstanceOfType<Microsoft.ML.Fff.InputStages.InputStageNetwork>(NetworkOf(model));
        ExportAndCompare(ml, model, features, task, $"input stage {scaling} + {embedding} {task}");
    }

    /// <summary>
    /// The default clamp stage (ClampToTrainingRange) exports as Max and Min per feature: rows pushed far outside the training
    /// range (every feature times 20) score in ONNX Runtime as in ML.NET, and differently from the rows as they were.
    /// </summary>
    [TestMethod]
    public void ClampStageMatchesOnnxRuntimeOnRowsFarOutsideTheTrainingRange()
    {
        var ml = new MLContext(seed: 1);
        (ITransformer model, IDataView features) = Train(ml, OnnxTask.Regression, FffTrainer(ml, OnnxTask.Regression, o => { o.Depth = 2; o.LeafWidth = 6; }));
        var stage = (Microsoft.ML.Fff.InputStages.InputStageNetwork)((RegressionPredictionTransformer<FffRegressionModelParameters>)model).Model.Network;
        Assert.AreEqual(Microsoft.ML.Fff.InputStages.FeatureMapKind.Clamp, stage.Map.Kind);
        float[] x = DenseFeatures(features, out int rows, out int width);
        var far = Enumerable.Range(0, rows).Select(r => new TestData.VectorRow<float> { Features = x.AsSpan(r * width, width).ToArray().Select(v => 20 * v).ToArray() }).ToList();
        IDataView farFeatures = FeaturesOnly(ml, TestData.Table(ml, far, width));
        ExportAndCompare(ml, model, farFeatures, OnnxTask.Regression, "clamp stage, rows 20x outside the range");
        AssertSomeScoreMoved(Scores(model, features), Scores(model, farFeatures), "far rows are clamped to other values than the rows themselves");
    }

    // ---- FFF with leaves ----

    [TestMethod]
    [DataRow(OnnxTask.Binary)]
    [DataRow(OnnxTask.Multiclass)]
    [DataRow(OnnxTask.Regression)]
    public void LeafTreeMatchesOnnxRuntime(OnnxTask task)
    {
        var ml = new MLContext(seed: 1);
        (ITransformer model, IDataView features) = Train(ml, task, FffTrainer(ml, task, o => { o.Depth = 3; o.LeafWidth = 8; }));
        var fff = (FastFeedForwardNetwork)NetworkOf(model);
        Assert.IsGreaterThan(2, DistinctLeaves(fff, features), "rows reach several leaves");
        ExportAndCompare(ml, model, features, task, $"FFF leaves {task}");
    }

    [TestMethod]
    [DataRow(OnnxTask.Binary)]
    [DataRow(OnnxTask.Multiclass)]
    [DataRow(OnnxTask.Regression)]
    public void MasterLeafMatchesOnnxRuntime(OnnxTask task)
    {
        var ml = new MLContext(seed: 1);
        (ITransformer model, IDataView features) = Train(ml, task, FffTrainer(ml, task, o => { o.Depth = 2; o.LeafWidth = 6; o.MasterLeafWidth = 4; }));
        var fff = (FastFeedForwardNetwork)NetworkOf(model);
        Assert.AreEqual(4, fff.MasterWidth);
        float k = fff.LeafShare;
        Assert.IsTrue(k > 0.01f && k < 0.99f, $"both parts count (leaf share {k})");
        ExportAndCompare(ml, model, features, task, $"FFF master leaf {task}");
    }

    [TestMethod]
    [DataRow(OnnxTask.Binary, 0)]
    [DataRow(OnnxTask.Multiclass, 3)]
    [DataRow(OnnxTask.Regression, 2)]
    public void LeafTreeEnsembleMatchesOnnxRuntime(OnnxTask task, int masterWidth)
    {
        var ml = new MLContext(seed: 1);
        (ITransformer model, IDataView features) = Train(ml, task, FffTrainer(ml, task, o => { o.Depth = 2; o.LeafWidth = 6; o.MasterLeafWidth = masterWidth; o.EnsembleSize = 3; }));
        var ensemble = (LeafTreeEnsembleNetwork)NetworkOf(model);
        Assert.AreEqual(3, ensemble.TreeCount);
        foreach (FastFeedForwardNetwork member in ensemble.Members)
            Assert.IsGreaterThan(1, DistinctLeaves(member, features), "rows reach several leaves of every member");
        ExportAndCompare(ml, model, features, task, $"FFF ensemble of 3 trees {task}");
    }

    [TestMethod]
    public void EmbeddingBagWithAnEnsembleHeadMatchesOnnxRuntime()
    {
        var ml = new MLContext(seed: 1);
        (ITransformer model, IDataView features) = Train(ml, OnnxTask.Binary, FffTrainer(ml, OnnxTask.Binary, o => { o.EmbeddingDimension = 6; o.Depth = 2; o.LeafWidth = 4; o.EnsembleSize = 2; }));
        var bag = (EmbeddingBagNetwork)NetworkOf(model);
        Assert.IsInstanceOfType<LeafTreeEnsembleNetwork>(bag.Head);
        ExportAndCompare(ml, model, features, OnnxTask.Binary, "embedding bag with a 2-tree ensemble head");
    }

    /// <summary>
    /// Offsets for repeated rows (kind 7) around the clamp stage and a tree: trained on 150 real rows seen three times, scored on
    /// those rows (each matches a stored row) and on 150 rows with one slot moved (none matches), so both the match and the miss
    /// of the graph's comparisons are checked.
    /// </summary>
    [TestMethod]
    [DataRow(OnnxTask.Binary)]
    [DataRow(OnnxTask.Multiclass)]
    [DataRow(OnnxTask.Regression)]
    public void RepeatedRowOffsetsMatchOnnxRuntime(OnnxTask task)
    {
        var ml = new MLContext(seed: 1);
        IDataView real = ml.Data.TakeRows(RealRows(ml, task), 150);
        float[][] x = real.GetColumn<VBuffer<float>>("Features").Select(v => v.DenseValues().ToArray()).ToArray();
        IDataView rows = task == OnnxTask.Binary
            ? Thrice(ml, x, real.GetColumn<bool>("Label").ToArray())
            : Thrice(ml, x, real.GetColumn<float>("Label").ToArray());
        (ITransformer model, _) = Train(ml, task, FffTrainer(ml, task, o => { o.Depth = 2; o.LeafWidth = 6; o.RepeatedRowOffsets = true; }), rows);
        var table = (Microsoft.ML.Fff.RepeatedRows.RepeatedRowNetwork)NetworkOf(model);
        Assert.AreEqual(x.Select(r => string.Join(",", r)).Distinct().Count(), table.RowCount);
        float[][] moved = x.Select(r => r.Select((v, j) => j == 0 ? v + 0.25f : v).ToArray()).ToArray();
        IDataView input = ml.Data.Cache(FeatureView(ml, x.Concat(moved).ToArray()));
        float[] features = DenseFeatures(input, out int count, out int width);
        Assert.AreEqual(150, Enumerable.Range(0, count).Count(r => table.Find(features.AsSpan(r * width, width)) >= 0), "the first 150 rows match, the moved ones do not");
        ExportAndCompare(ml, model, input, task, $"repeated-row offsets {task}");
    }

    private sealed class LabeledRow<T>
    {
        public float[] Features { get; set; } = Array.Empty<float>();
        public T Label { get; set; } = default!;
    }

    /// <summary>The rows three times over, with their labels.</summary>
    private static IDataView Thrice<T>(MLContext ml, float[][] x, T[] labels)
    {
        var schema = Microsoft.ML.Data.SchemaDefinition.Create(typeof(LabeledRow<T>));
        schema[nameof(LabeledRow<T>.Features)].ColumnType = new VectorDataViewType(NumberDataViewType.Single, x[0].Length);
        var rows = Enumerable.Range(0, 3 * x.Length).Select(i => new LabeledRow<T> { Features = x[i % x.Length], Label = labels[i % x.Length] }).ToList();
        return ml.Data.LoadFromEnumerable(rows, schema);
    }

    private sealed class FeatureRow
    {
        public float[] Features { get; set; } = Array.Empty<float>();
    }

    /// <summary>A view of the Features column alone.</summary>
    private static IDataView FeatureView(MLContext ml, float[][] x)
    {
        var schema = Microsoft.ML.Data.SchemaDefinition.Create(typeof(FeatureRow));
        schema[nameof(FeatureRow.Features)].ColumnType = new VectorDataViewType(NumberDataViewType.Single, x[0].Length);
        return ml.Data.LoadFromEnumerable(x.Select(r => new FeatureRow { Features = r }).ToList(), schema);
    }

    /// <summary>The shallow shapes have their own graphs: depth 0 (one leaf, plain layers), depth 1 (the root only), neuron trees of depth 0.</summary>
    [TestMethod]
    [DataRow(0, false)]
    [DataRow(1, false)]
    [DataRow(0, true)]
    [DataRow(1, true)]
    public void ShallowTreesMatchOnnxRuntime(int depth, bool neurons)
    {
        var ml = new MLContext(seed: 1);
        (ITransformer model, IDataView features) = Train(ml, OnnxTask.Multiclass, FffTrainer(ml, OnnxTask.Multiclass, o =>
        {
            o.Depth = depth;
            o.LeafWidth = 8;
            o.MasterLeafWidth = neurons ? 0 : 2;
            o.NodeKind = neurons ? FffNodeKind.Neurons : FffNodeKind.Leaves;
            o.NumberOfTrees = 2;
        }));
        ExportAndCompare(ml, model, features, OnnxTask.Multiclass, $"FFF {(neurons ? "neuron trees" : "leaves")} depth {depth}");
    }

    /// <summary>
    /// Node values of exactly 0 send every row right (<c>z &gt;= 0</c>) at every level; the subtrees give different scores, so
    /// an export with the other tie rule at any level (or soft routing, which would mix them) fails the comparison.
    /// </summary>
    [TestMethod]
    public void LeafTreeTieAtZeroGoesRightAsInCSharp()
    {
        var ml = new MLContext(seed: 1);
        (ITransformer model, IDataView features) = Train(ml, OnnxTask.Regression, FffTrainer(ml, OnnxTask.Regression, o => { o.Depth = 2; o.LeafWidth = 6; }));
        var fff = (FastFeedForwardNetwork)NetworkOf(model);
        // Every node (the root and both of level 1) at exactly 0: the root level and the deeper levels are separate graph parts.
        Array.Clear(fff.NodeWeights);
        Array.Clear(fff.NodeBiases);
        fff.WeightsChanged();
        float[] right = Scores(model, features);
        ExportAndCompare(ml, model, features, OnnxTask.Regression, "FFF leaves, every node at exactly 0");

        // The same rows sent left by the smallest negative root value score differently: the tie decides.
        fff.NodeBiases[0] = -float.Epsilon;
        fff.WeightsChanged();
        AssertSomeScoreMoved(right, Scores(model, features), "the subtrees give different scores");
    }

    // ---- FFF with neuron nodes ----

    [TestMethod]
    [DataRow(OnnxTask.Binary)]
    [DataRow(OnnxTask.Multiclass)]
    [DataRow(OnnxTask.Regression)]
    public void NeuronTreesMatchOnnxRuntime(OnnxTask task)
    {
        var ml = new MLContext(seed: 1);
        (ITransformer model, IDataView features) = Train(ml, task, FffTrainer(ml, task, o => { o.NodeKind = FffNodeKind.Neurons; o.NumberOfTrees = 3; o.Depth = 2; }));
        Assert.IsInstanceOfType<NeuronTreeNetwork>(NetworkOf(model));
        ExportAndCompare(ml, model, features, task, $"FFF neuron trees {task}");
    }

    /// <summary>Neuron trees go right only when the value is strictly positive: nodes at exactly 0 (root and level 1) go left.</summary>
    [TestMethod]
    public void NeuronTreeTieAtZeroGoesLeftAsInCSharp()
    {
        var ml = new MLContext(seed: 1);
        (ITransformer model, IDataView features) = Train(ml, OnnxTask.Regression,
            FffTrainer(ml, OnnxTask.Regression, o => { o.NodeKind = FffNodeKind.Neurons; o.NumberOfTrees = 2; o.Depth = 2; }));
        var trees = (NeuronTreeNetwork)NetworkOf(model);
        // The first tree's root and level-1 nodes at exactly 0 (root and deeper levels are separate graph parts); its level-2 nodes differ.
        Array.Clear(trees.NodeWeights, 0, 3 * trees.InputCount);
        Array.Clear(trees.NodeBiases, 0, 3);
        float[] left = Scores(model, features);
        ExportAndCompare(ml, model, features, OnnxTask.Regression, "FFF neuron trees, root and level 1 at exactly 0");

        trees.NodeBiases[0] = float.Epsilon;
        AssertSomeScoreMoved(left, Scores(model, features), "the subtrees give different scores");
    }

    // ---- embedding bag on sparse text rows ----

    [TestMethod]
    [DataRow(false)]
    [DataRow(true)]
    public void EmbeddingBagOnSparseTextRowsMatchesOnnxRuntime(bool neurons)
    {
        var ml = new MLContext(seed: 1);
        IDataView reviews = ml.Data.LoadFromEnumerable(TextPipelineTests.Reviews(240, seed: 3));
        IDataView text = ml.Transforms.Text.FeaturizeText("Features", "Text").Fit(reviews).Transform(reviews);
        var trainer = ml.BinaryClassification.Trainers.FastFeedForward(Quick(new FastFeedForwardBinaryTrainer.Options
        {
            EmbeddingDimension = 8, Depth = 2, LeafWidth = 6, NodeKind = neurons ? FffNodeKind.Neurons : FffNodeKind.Leaves, NumberOfTrees = 2,
            LearningRate = 1e-2f,
        }, epochs: 10));
        (ITransformer model, IDataView features) = Train(ml, OnnxTask.Binary, trainer, text);
        var bag = (EmbeddingBagNetwork)NetworkOf(model);
        Assert.IsInstanceOfType(bag.Head, neurons ? typeof(NeuronTreeNetwork) : typeof(FastFeedForwardNetwork));
        Assert.IsTrue(features.GetColumn<VBuffer<float>>("Features").All(r => !r.IsDense && r.GetValues().Length < r.Length / 10), "ML.NET scores sparse rows");
        ExportAndCompare(ml, model, features, OnnxTask.Binary, $"embedding bag ({(neurons ? "neuron trees" : "leaves")}) on FeaturizeText rows");
    }

    // ---- mixture of experts ----

    private static IEstimator<ITransformer> MoeTrainer(MLContext ml, OnnxTask task, MoeGating gating)
    {
        T Set<T>(T o) where T : MixtureOfExpertsOptionsBase
        {
            o.NumberOfExperts = 4;
            o.ExpertWidth = 8;
            o.TopK = 2;
            o.Gating = gating;
            return Quick(o);
        }
        return task switch
        {
            OnnxTask.Binary => ml.BinaryClassification.Trainers.MixtureOfExperts(Set(new MixtureOfExpertsBinaryTrainer.Options())),
            OnnxTask.Multiclass => ml.MulticlassClassification.Trainers.MixtureOfExperts(Set(new MixtureOfExpertsMulticlassTrainer.Options())),
            _ => ml.Regression.Trainers.MixtureOfExperts(Set(new MixtureOfExpertsRegressionTrainer.Options())),
        };
    }

    [TestMethod]
    [DataRow(OnnxTask.Binary, MoeGating.SoftmaxTopK)]
    [DataRow(OnnxTask.Multiclass, MoeGating.SoftmaxTopK)]
    [DataRow(OnnxTask.Regression, MoeGating.SoftmaxTopK)]
    [DataRow(OnnxTask.Binary, MoeGating.Sigma)]
    [DataRow(OnnxTask.Multiclass, MoeGating.Sigma)]
    [DataRow(OnnxTask.Regression, MoeGating.Sigma)]
    public void MixtureOfExpertsMatchesOnnxRuntime(OnnxTask task, MoeGating gating)
    {
        var ml = new MLContext(seed: 1);
        (ITransformer model, IDataView features) = Train(ml, task, MoeTrainer(ml, task, gating));
        var moe = (MoeNetwork)NetworkOf(model);
        float[] x = DenseFeatures(features, out int rows, out int width);
        var experts = new int[moe.TopK];
        var weights = new float[moe.TopK];
        int choices = Enumerable.Range(0, rows).Select(r =>
        {
            Assert.IsTrue(moe.SelectExperts(x.AsSpan(r * width, width), experts, weights));
            return string.Join(",", experts);
        }).Distinct().Count();
        Assert.IsGreaterThan(1, choices, "rows choose different experts");
        ExportAndCompare(ml, model, features, task, $"MoE {gating} {task}");
    }

    /// <summary>All gate logits equal: the C# top-k keeps the lowest expert indices, and so must the export.</summary>
    [TestMethod]
    [DataRow(MoeGating.SoftmaxTopK)]
    [DataRow(MoeGating.Sigma)]
    public void MixtureOfExpertsTiesGoToTheLowerExpertAsInCSharp(MoeGating gating)
    {
        var ml = new MLContext(seed: 1);
        (ITransformer model, IDataView features) = Train(ml, OnnxTask.Regression, MoeTrainer(ml, OnnxTask.Regression, gating));
        var moe = (MoeNetwork)NetworkOf(model);
        Array.Clear(moe.GateWeights);
        Array.Clear(moe.GateBiases);
        float[] lowest = Scores(model, features);
        ExportAndCompare(ml, model, features, OnnxTask.Regression, $"MoE {gating}, all gate logits tied");

        // Other experts score differently: a higher last gate bias picks expert 3 instead of expert 1.
        moe.GateBiases[moe.ExpertCount - 1] = 1e-6f;
        AssertSomeScoreMoved(lowest, Scores(model, features), "the chosen experts decide the score");
    }

    // ---- dense ----

    [TestMethod]
    [DataRow(OnnxTask.Binary, DenseActivation.ReLU)]
    [DataRow(OnnxTask.Multiclass, DenseActivation.Gelu)]
    [DataRow(OnnxTask.Regression, DenseActivation.Tanh)]
    public void DenseMatchesOnnxRuntime(OnnxTask task, DenseActivation activation)
    {
        var ml = new MLContext(seed: 1);
        T Set<T>(T o) where T : DenseFeedForwardOptionsBase
        {
            o.HiddenLayerWidths = new[] { 16, 8 };
            o.Activation = activation;
            return Quick(o);
        }
        IEstimator<ITransformer> trainer = task switch
        {
            OnnxTask.Binary => ml.BinaryClassification.Trainers.DenseFeedForward(Set(new DenseFeedForwardBinaryTrainer.Options())),
            OnnxTask.Multiclass => ml.MulticlassClassification.Trainers.DenseFeedForward(Set(new DenseFeedForwardMulticlassTrainer.Options())),
            _ => ml.Regression.Trainers.DenseFeedForward(Set(new DenseFeedForwardRegressionTrainer.Options())),
        };
        (ITransformer model, IDataView features) = Train(ml, task, trainer);
        ExportAndCompare(ml, model, features, task, $"dense {activation} {task}");
    }

    /// <summary>
    /// Regression on the raw diabetes label (up to 346): ONNX Runtime sums in another order, so predictions near 170 may
    /// differ in their last bits (1.5e-5 apart there); they agree within 1e-5 relative.
    /// </summary>
    [TestMethod]
    public void RegressionOnRawDiabetesLabels()
    {
        var ml = new MLContext(seed: 1);
        IDataView rows = ml.Fff().SampleData.Diabetes();
        (ITransformer model, IDataView features) = Train(ml, OnnxTask.Regression, FffTrainer(ml, OnnxTask.Regression, o => { o.Depth = 3; o.LeafWidth = 8; o.MasterLeafWidth = 4; }), rows);
        Assert.IsGreaterThan(100f, Scores(model, features).Max(), "predictions on the label's scale");
        ExportAndCompare(ml, model, features, OnnxTask.Regression, "FFF master leaf, raw diabetes label", relativeBeyondOne: true);
    }

    // ---- pipelines ----

    /// <summary>
    /// A whole pipeline exports: ML.NET's min-max normalizer in front of the FFF (its graph takes the raw features), and the
    /// FFF's scores match the pipeline's.
    /// </summary>
    [TestMethod]
    public void PipelineWithMinMaxNormalizerExports()
    {
        var ml = new MLContext(seed: 1);
        IDataView rows = ml.Transforms.SelectColumns("Features", "Label").Fit(RealRows(ml, OnnxTask.Regression)).Transform(RealRows(ml, OnnxTask.Regression));
        var pipeline = ml.Transforms.NormalizeMinMax("Features")
            .Append(FffTrainer(ml, OnnxTask.Regression, o => { o.Depth = 2; o.LeafWidth = 6; }));
        ITransformer model = pipeline.Fit(rows);
        ExportAndCompare(ml, model, FeaturesOnly(ml, rows), OnnxTask.Regression, "NormalizeMinMax + FFF");
    }

    /// <summary>
    /// The pipeline of <c>mlContext.Fff().Train</c> on a numeric table exports whole (Concatenate, ReplaceMissingValues,
    /// NormalizeMeanVariance, the FFF, DropColumns): the graph takes the raw Features column.
    /// </summary>
    [TestMethod]
    public void AutoTrainPipelineExports()
    {
        var ml = new MLContext(seed: 1);
        IDataView rows = ml.Data.Cache(RealRows(ml, OnnxTask.Binary));
        ITransformer model = ml.Fff().Train(rows, options: new FffAutoTrainOptions { Depth = 2, LeafWidth = 8, NumberOfEpochs = 5, Seed = 1 });
        ExportAndCompare(ml, model, FeaturesOnly(ml, rows), OnnxTask.Binary, "Fff().Train on breast cancer");
    }

    /// <summary>
    /// The pipeline of <c>Fff().Train</c> on images (digits' 8 x 8 pixels: raw pixels, no normalization, the image recipe's tree)
    /// exports whole too.
    /// </summary>
    [TestMethod]
    public void AutoTrainPipelineOnImagesExports()
    {
        var ml = new MLContext(seed: 1);
        IDataView digits = RealRows(ml, OnnxTask.Multiclass);
        // A key label, so the model's PredictedLabel is the key the comparison reads (a Single label would come back as Single).
        IDataView rows = ml.Data.Cache(ml.Transforms.Conversion.MapValueToKey("Label").Fit(digits).Transform(digits));
        var options = new FffAutoTrainOptions { NumberOfEpochs = 3, Seed = 1 };
        Assert.AreEqual(8, ml.Fff().CreatePlan(rows, options: options).Training.ImageHeight, "digits are taken as images");
        ITransformer model = ml.Fff().Train(rows, options: options);
        ExportAndCompare(ml, model, FeaturesOnly(ml, rows), OnnxTask.Multiclass, "Fff().Train on digits as images");
    }

    /// <summary>The token bag (Tiktoken) cannot be exported: ConvertToOnnx throws NotSupportedException naming the step.</summary>
    [TestMethod]
    public void TokenBagRefusesWithANotSupportedExceptionNamingTheStep()
    {
        var ml = new MLContext(seed: 1);
        IDataView reviews = ml.Data.LoadFromEnumerable(TextPipelineTests.Reviews(120, seed: 3));
        var pipeline = ml.Fff().TokenizeToBag("Features", "Text")
            .Append(ml.BinaryClassification.Trainers.FastFeedForward(Quick(new FastFeedForwardBinaryTrainer.Options { Depth = 1, LeafWidth = 2 }, epochs: 1)));
        ITransformer model = pipeline.Fit(reviews);
        using var stream = new MemoryStream();
        NotSupportedException e = Assert.ThrowsExactly<NotSupportedException>(() => ml.Model.ConvertToOnnx(model, reviews, stream));
        StringAssert.Contains(e.Message, "TokenBag step");
        StringAssert.Contains(e.Message, "'Text' -> 'Features'");
    }

    /// <summary>The batch-scoring wrapper exports as the model it wraps: the same graph, the same scores.</summary>
    [TestMethod]
    public void BatchScoringWrapperExportsAsTheWrappedModel()
    {
        var ml = new MLContext(seed: 1);
        (ITransformer model, IDataView features) = Train(ml, OnnxTask.Multiclass, FffTrainer(ml, OnnxTask.Multiclass, o => { o.Depth = 2; o.LeafWidth = 4; }));
        ExportAndCompare(ml, ml.Fff().WithBatchScoring(model), features, OnnxTask.Multiclass, "WithBatchScoring(FFF multiclass)");
    }

    /// <summary>
    /// A NaN feature: the C# scorer cannot route the row and gives NaN scores (and, for multiclass, ML.NET's PredictedLabel
    /// key 0); the export gives the same NaN row and label, for every kind.
    /// </summary>
    [TestMethod]
    [DataRow("leaves")]
    [DataRow("neurons")]
    [DataRow("moe")]
    [DataRow("dense")]
    public void NaNFeatureRowsMatch(string kind)
    {
        var ml = new MLContext(seed: 1);
        IEstimator<ITransformer> trainer = kind switch
        {
            "leaves" => FffTrainer(ml, OnnxTask.Multiclass, o => { o.Depth = 2; o.LeafWidth = 4; o.MasterLeafWidth = 2; }),
            "neurons" => FffTrainer(ml, OnnxTask.Multiclass, o => { o.NodeKind = FffNodeKind.Neurons; o.NumberOfTrees = 2; o.Depth = 2; }),
            "moe" => MoeTrainer(ml, OnnxTask.Multiclass, MoeGating.SoftmaxTopK),
            _ => ml.MulticlassClassification.Trainers.DenseFeedForward(Quick(new DenseFeedForwardMulticlassTrainer.Options { HiddenLayerWidths = new[] { 8 } })),
        };
        (ITransformer model, IDataView features) = Train(ml, OnnxTask.Multiclass, trainer);
        float[] x = DenseFeatures(features, out int rows, out int width);
        rows = 20;
        var withNaN = new List<DigitsRow>();
        for (int r = 0; r < rows; r++)
        {
            float[] row = x.AsSpan(r * width, width).ToArray();
            if (r % 3 == 0)
                row[r % width] = float.NaN;
            withNaN.Add(new DigitsRow { Features = row });
        }
        IDataView input = ml.Data.Cache(ml.Transforms.SelectColumns("Features").Fit(ml.Data.LoadFromEnumerable(withNaN)).Transform(ml.Data.LoadFromEnumerable(withNaN)));
        IDataView scored = model.Transform(input);
        float[] mlScores = scored.GetColumn<VBuffer<float>>("Score").SelectMany(v => v.DenseValues()).ToArray();
        uint[] mlLabels = scored.GetColumn<uint>("PredictedLabel").ToArray();
        Dictionary<string, Array> onnx = RunOnnx(Export(ml, model, input), DenseFeatures(input, out _, out _), rows, width, new[] { "Score", "PredictedLabel" });
        var onnxScores = (float[])onnx["Score"];
        for (int i = 0; i < mlScores.Length; i++)
        {
            if (float.IsNaN(mlScores[i]))
                Assert.IsTrue(float.IsNaN(onnxScores[i]), $"{kind} score {i}: ML.NET NaN, ONNX Runtime {onnxScores[i]}");
            else
                Assert.AreEqual(mlScores[i], onnxScores[i], Tolerance, $"{kind} score {i}");
        }
        Assert.AreEqual(7, mlLabels.Count(l => l == 0), "the NaN rows have no label in ML.NET");
        CollectionAssert.AreEqual(mlLabels, (uint[])onnx["PredictedLabel"], kind + " PredictedLabel");
    }

    /// <summary>A model saved and loaded on a fresh context exports the same way (the export reads only the loaded weights).</summary>
    [TestMethod]
    public void LoadedModelExports()
    {
        var ml = new MLContext(seed: 1);
        (ITransformer model, IDataView features) = Train(ml, OnnxTask.Binary, FffTrainer(ml, OnnxTask.Binary, o => { o.Depth = 3; o.LeafWidth = 4; o.MasterLeafWidth = 2; }));
        using var file = new MemoryStream();
        ml.Model.Save(model, features.Schema, file);
        file.Position = 0;
        var fresh = new MLContext(seed: 2);
        ITransformer loaded = fresh.Model.Load(file, out _);
        ExportAndCompare(fresh, loaded, features, OnnxTask.Binary, "FFF master leaf binary, saved and loaded");
    }

    /// <summary>The opset is checked: below 11 (TopK's attributes) the export refuses with ML.NET's message.</summary>
    [TestMethod]
    public void OpsetBelowElevenIsRefused()
    {
        var ml = new MLContext(seed: 1);
        (ITransformer model, IDataView features) = Train(ml, OnnxTask.Regression, FffTrainer(ml, OnnxTask.Regression, o => { o.Depth = 1; o.LeafWidth = 2; o.NumberOfEpochs = 1; }));
        using var stream = new MemoryStream();
        Exception e = Assert.Throws<ArgumentException>(() => ml.Model.ConvertToOnnx(model, features, 10, stream));
        StringAssert.Contains(e.Message, "minimum OpSet version requirement: 11");
    }
}
