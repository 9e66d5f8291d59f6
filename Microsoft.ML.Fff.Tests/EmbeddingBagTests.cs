using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using Microsoft.ML.Data;
using Microsoft.ML.Fff;
using Microsoft.ML.Fff.FastFeedForward;
using Microsoft.ML.Fff.Kinds;
using Microsoft.ML.Fff.Scoring;
using Microsoft.ML.Fff.Text;
using Microsoft.ML.Fff.Training;
using Microsoft.VisualStudio.TestTools.UnitTesting;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Microsoft.ML.Fff.Tests;

/// <summary>
/// The text model that learns its own token embeddings: the token-bag featurizer (Tiktoken), the embedding-bag network
/// (kind 4) behind an FFF, its torch/C# parity, persistence, corrupt payloads, options and accuracy (docs/text.md).
/// </summary>
[TestClass]
public sealed class EmbeddingBagTests
{
    // ---- network: parity with the TorchSharp module ----

    /// <summary>A bag over <paramref name="inputs"/> slots with random weights in [-1, 1) and an FFF head.</summary>
    internal static EmbeddingBagNetwork RandomBag(int inputs, int dimension, int outputs, int depth, int leafWidth, int seed, int masterWidth = 0)
    {
        var network = new EmbeddingBagNetwork(inputs, ParityTests.RandomNetwork(dimension, outputs, depth, leafWidth, seed, masterWidth));
        var random = new Random(seed + 1);
        for (int i = 0; i < network.Embeddings.Length; i++)
            network.Embeddings[i] = (float)(random.NextDouble() * 2 - 1) / dimension;
        return network;
    }

    private static EmbeddingBagModule ModuleFor(EmbeddingBagNetwork network, FastFeedForwardOptionsBase options)
    {
        FeedForwardModule head = network.Head is FastFeedForwardNetwork
            ? new FastFeedForwardModule(network.Dimension, network.OutputCount, options, CPU)
            : new NeuronTreeModule(network.Dimension, network.OutputCount, options.NumberOfTrees, options.Depth, CPU);
        var module = new EmbeddingBagModule(network.InputCount, network.Dimension, head, CPU);
        module.Import(network);
        return module;
    }

    /// <summary>Rows with about a third of the slots set (mean-bag-like values), as a dense row-major array.</summary>
    private static float[] BagRows(int rows, int inputs, int seed)
    {
        var random = new Random(seed);
        var x = new float[rows * inputs];
        for (int i = 0; i < x.Length; i++)
            x[i] = random.NextDouble() < 0.3 ? (float)random.NextDouble() : 0f;
        return x;
    }

    [TestMethod]
    [DataRow(40, 8, 1, 3, 4, 0)]
    [DataRow(17, 5, 3, 2, 6, 3)]
    [DataRow(9, 1, 2, 0, 2, 0)]
    public void HardAndSoftForwardMatchTheCSharpScorer(int inputs, int dimension, int outputs, int depth, int leafWidth, int masterWidth)
    {
        EmbeddingBagNetwork network = RandomBag(inputs, dimension, outputs, depth, leafWidth, seed: inputs + depth, masterWidth);
        var fff = (FastFeedForwardNetwork)network.Head;
        using EmbeddingBagModule module = ModuleFor(network, ParityTests.ModuleOptions(depth, leafWidth, masterWidth));
        float[] x = BagRows(100, inputs, seed: 5);
        using Tensor input = tensor(x, new long[] { 100, inputs });
        using Tensor embedded = module.Embed(input);
        using Tensor hard = ((FastFeedForwardModule)module.Head).HardForward(embedded);
        using Tensor soft = module.forward(input);
        float[] torchHard = hard.data<float>().ToArray(), torchSoft = soft.data<float>().ToArray();
        var output = new float[outputs];
        var embedding = new float[dimension];
        var scratch = new float[2 * fff.LeafCount];
        for (int r = 0; r < 100; r++)
        {
            ReadOnlySpan<float> row = x.AsSpan(r * inputs, inputs);
            network.Score(row, output);
            for (int o = 0; o < outputs; o++)
                Assert.AreEqual(torchHard[r * outputs + o], output[o], 1e-4f * (1 + Math.Abs(output[o])), $"row {r} output {o} (hard)");
            network.Embed(row, embedding);
            fff.ScoreSoft(embedding, output, scratch);
            for (int o = 0; o < outputs; o++)
                Assert.AreEqual(torchSoft[r * outputs + o], output[o], 1e-4f * (1 + Math.Abs(output[o])), $"row {r} output {o} (soft)");
        }
    }

    [TestMethod]
    public void SparseBatchesMatchTheCSharpSparseScorer()
    {
        // A sparse COO batch through x @ E (what training does with text) against the C# sparse path; neuron-node head too.
        foreach (bool neurons in new[] { false, true })
        {
            const int inputs = 1500, dimension = 6, outputs = 2, rows = 64;
            var options = new FastFeedForwardBinaryTrainer.Options { Depth = 2, LeafWidth = 3, NodeKind = neurons ? FffNodeKind.Neurons : FffNodeKind.Leaves, NumberOfTrees = 2 };
            EmbeddingBagNetwork network = neurons
                ? new EmbeddingBagNetwork(inputs, NeuronTreeTests.RandomNetwork(dimension, outputs, 2, 2, seed: 3))
                : RandomBag(inputs, dimension, outputs, 2, 3, seed: 3);
            for (int i = 0; i < network.Embeddings.Length; i++)
                network.Embeddings[i] = (i % 13 - 6) / 10f;
            using EmbeddingBagModule module = ModuleFor(network, options);

            var random = new Random(7);
            var rowIndices = new List<int[]>();
            var rowValues = new List<float[]>();
            var coo = new List<long>();
            var cooRows = new List<long>();
            var cooValues = new List<float>();
            for (int r = 0; r < rows; r++)
            {
                int[] indices = Enumerable.Range(0, inputs).Where(_ => random.NextDouble() < 0.01).ToArray();
                float[] values = indices.Select(_ => 1f / Math.Max(1, indices.Length)).ToArray();
                rowIndices.Add(indices);
                rowValues.Add(values);
                cooRows.AddRange(indices.Select(_ => (long)r));
                coo.AddRange(indices.Select(i => (long)i));
                cooValues.AddRange(values);
            }
            using Tensor indexTensor = tensor(cooRows.Concat(coo).ToArray(), new long[] { 2, coo.Count });
            using Tensor valueTensor = tensor(cooValues.ToArray());
            using Tensor batch = sparse_coo_tensor(indexTensor, valueTensor, new long[] { rows, inputs });
            using Tensor embedded = module.Embed(batch);
            using Tensor scores = neurons ? module.forward(batch) : ((FastFeedForwardModule)module.Head).HardForward(embedded);
            float[] torchOut = scores.data<float>().ToArray();
            var output = new float[outputs];
            for (int r = 0; r < rows; r++)
            {
                network.Score(rowIndices[r], rowValues[r], output);
                for (int o = 0; o < outputs; o++)
                    Assert.AreEqual(torchOut[r * outputs + o], output[o], 1e-4f * (1 + Math.Abs(output[o])), $"neurons {neurons} row {r} output {o}");
            }
        }
    }

    [TestMethod]
    public void ExportAfterImportIsLosslessAndTheTableTrainsInEveryStage()
    {
        EmbeddingBagNetwork network = RandomBag(12, 4, 3, 2, 5, seed: 2, masterWidth: 2);
        using EmbeddingBagModule module = ModuleFor(network, ParityTests.ModuleOptions(2, 5, 2));
        EmbeddingBagNetwork copy = RandomBag(12, 4, 3, 2, 5, seed: 99, masterWidth: 2);
        module.Export(copy);
        foreach ((float[] expected, float[] actual) in network.Arrays.Zip(copy.Arrays))
            CollectionAssert.AreEqual(expected, actual);
        Parameter[] fineTune = module.ParametersFor(new PhasePlan(FffTrainingPhase.HardFineTune, 1)).ToArray();
        Assert.IsTrue(fineTune.Any(p => p.shape.SequenceEqual(new long[] { 12, 4 })), "the table trains while the nodes are frozen");
        Assert.HasCount(module.parameters().Count() - 2, fineTune, "only the routing nodes are frozen");
    }

    // ---- network: scoring ----

    [TestMethod]
    public void SparseRowsScoreLikeDenseRowsAndBatchesLikeRows()
    {
        EmbeddingBagNetwork network = RandomBag(300, 8, 3, 3, 4, seed: 9, masterWidth: 2);
        NetworkChecks.SparseRowsScoreLikeDenseRows(network);
        float[] x = BagRows(300, 300, seed: 1);
        x[7 * 300 + 5] = float.NaN;
        var batch = new float[300 * 3];
        network.ScoreBatch(x, 300, batch);
        var row = new float[3];
        for (int r = 0; r < 300; r++)
        {
            network.Score(x.AsSpan(r * 300, 300), row);
            CollectionAssert.AreEqual(EstimatorWorkout.Bits(row), EstimatorWorkout.Bits(batch.AsSpan(r * 3, 3).ToArray()), $"row {r}");
        }
        Assert.IsTrue(batch.AsSpan(7 * 3, 3).ToArray().All(float.IsNaN), "a NaN feature gives NaN scores");
    }

    [TestMethod]
    public void FoldedScalingEqualsScaledInputAndScoringAllocatesNothing()
    {
        NetworkChecks.FoldedScalingEqualsScaledInput(RandomBag(8, 3, 2, 2, 3, seed: 21, masterWidth: 2));
        NetworkChecks.ScoringAllocatesNothingPerRow(RandomBag(64, 16, 10, 3, 8, seed: 3));
    }

    // ---- network: persistence and corrupt payloads ----

    [TestMethod]
    public void SaveLoadRoundTripIsBitIdentical()
    {
        EmbeddingBagNetwork network = RandomBag(30, 5, 2, 2, 3, seed: 4, masterWidth: 2);
        FeedForwardNetwork loaded = NetworkChecks.RoundTripIsBitIdentical(network);
        Assert.IsInstanceOfType<EmbeddingBagNetwork>(loaded);
        Assert.AreEqual("embedding bag 30 x 5 + FFF depth 2 x leaf 3 + master leaf 2", loaded.Describe());
        Assert.AreEqual(network.NeuronsPerRow, loaded.NeuronsPerRow);
    }

    [TestMethod]
    public void TruncatedPaddedAndCorruptPayloadsAreRejected()
    {
        byte[] bytes = NetworkChecks.SaveBytes(RandomBag(6, 2, 1, 1, 2, seed: 1));
        NetworkChecks.TruncatedAndPaddedPayloadsAreRejected(bytes);

        // Layout: kind 4, inputs, dimension, table count, 12 table floats, head kind at 64, head inputs at 68.
        (int Offset, int Value, string Message)[] cases =
        {
            (4, 0, "out of range"),
            (4, 7, "embedding table hold 12 values"),
            (8, EmbeddingBagNetwork.MaxDimension + 1, "out of range"),
            (8, 3, "needs 18"),
            (12, 11, "embedding table hold 11 values"),
            (64, (int)NetworkKind.EmbeddingBag, "head has kind 4"),
            (64, (int)NetworkKind.Dense, "head has kind 1"),
            (68, 3, "holds"),
        };
        foreach ((int offset, int value, string message) in cases)
        {
            byte[] copy = (byte[])bytes.Clone();
            BitConverter.GetBytes(value).CopyTo(copy, offset);
            StringAssert.Contains(NetworkChecks.ExpectCorrupt(copy, copy.Length).Message, message, $"offset {offset} value {value}");
        }

        // 2^28 inputs x 4096 dimensions: rejected from the header alone, before allocating.
        byte[] huge = (byte[])bytes.Clone();
        BitConverter.GetBytes(EmbeddingBagNetwork.MaxInputs).CopyTo(huge, 4);
        BitConverter.GetBytes(EmbeddingBagNetwork.MaxDimension).CopyTo(huge, 8);
        StringAssert.Contains(NetworkChecks.ExpectCorrupt(huge, huge.Length).Message, "more weights than one array can hold");

        // A NaN table weight, and finite ones large enough to overflow the head.
        foreach (float bad in new[] { float.NaN, float.NegativeInfinity, 1e37f })
        {
            EmbeddingBagNetwork network = RandomBag(6, 2, 1, 1, 2, seed: 1);
            network.Embeddings[5] = bad;
            NetworkChecks.ExpectCorrupt(NetworkChecks.SaveBytes(network), null);
        }
    }

    [TestMethod]
    public void SeededByteMutationsAreRejectedOrScoreFinitely()
    {
        byte[] bytes = NetworkChecks.SaveBytes(RandomBag(10, 3, 2, 2, 2, seed: 6, masterWidth: 1));
        int loaded = NetworkChecks.MutationsAreRejectedOrScoreFinitely(bytes, BagRows(4, 10, seed: 3), 3000, new Random(12));
        Assert.IsGreaterThan(100, loaded, "most mutations of weights load");
    }

    // ---- trainers ----

    private static T Small<T>(T options, int dimension = 4) where T : FastFeedForwardOptionsBase
    {
        options.EmbeddingDimension = dimension;
        options.Depth = 2;
        options.LeafWidth = 6;
        options.NumberOfEpochs = 20;
        options.LearningRate = 1e-2f;
        options.Seed = 1;
        options.NumberOfThreads = 1;
        return options;
    }

    [TestMethod]
    public void BinaryWorkoutOnDenseFeatures()
    {
        var mlContext = new MLContext(seed: 1);
        var trainer = mlContext.BinaryClassification.Trainers.FastFeedForward(Small(new FastFeedForwardBinaryTrainer.Options()));
        ITransformer model = EstimatorWorkout.Run(trainer, TestData.BinaryData(mlContext), new[] { "Score", "Probability", "PredictedLabel" },
            (ml, scored) => Assert.IsGreaterThan(0.8, ml.BinaryClassification.Evaluate(scored).AreaUnderRocCurve));
        FffBinaryModelParameters parameters = ((BinaryPredictionTransformer<FffBinaryModelParameters>)model).Model;
        Assert.AreEqual("embedding bag 6 x 4 + FFF depth 2 x leaf 6", parameters.Description);
        Assert.AreEqual(2, parameters.Depth);
        Assert.AreEqual(6, parameters.LeafWidth);
        Assert.AreEqual(2 + 6, parameters.NeuronsPerRow);

        // ScoreBatch gives the Score column bit for bit.
        IDataView rows = TestData.BinaryData(mlContext, count: 50, seed: 8);
        float[] features = rows.GetColumn<VBuffer<float>>("Features").SelectMany(v => v.DenseValues().ToArray()).ToArray();
        var scores = new float[50];
        parameters.ScoreBatch(features, scores);
        CollectionAssert.AreEqual(EstimatorWorkout.Bits(model.Transform(rows).GetColumn<float>("Score").ToArray()), EstimatorWorkout.Bits(scores));

        // The soft/hard gap reads the FFF head behind the table: hard equals Evaluate, soft comes from the soft function.
        FffSoftHardGap gap = mlContext.Fff().EvaluateSoftHardGap(model, rows);
        Assert.AreEqual(mlContext.BinaryClassification.Evaluate(model.Transform(rows)).Accuracy, gap.HardMetric, 1e-9);
        Assert.IsGreaterThan(0.5, gap.SoftMetric);
    }

    [TestMethod]
    public void MulticlassAndRegressionWorkouts()
    {
        var mlContext = new MLContext(seed: 1);
        EstimatorWorkout.Run(TestData.MulticlassPrefix(mlContext).Append(mlContext.MulticlassClassification.Trainers.FastFeedForward(
                Small(new FastFeedForwardMulticlassTrainer.Options()))),
            TestData.MulticlassData(mlContext), new[] { "Score", "PredictedLabel" },
            (ml, scored) => Assert.IsGreaterThan(0.7, ml.MulticlassClassification.Evaluate(scored).MicroAccuracy));
        // Neuron-node head; the label standardization folds into the head's output.
        EstimatorWorkout.Run(mlContext.Regression.Trainers.FastFeedForward(Small(new FastFeedForwardRegressionTrainer.Options { NodeKind = FffNodeKind.Neurons, NumberOfTrees = 2 })),
            TestData.RegressionData(mlContext), new[] { "Score" },
            (ml, scored) => Assert.IsGreaterThan(0.5, ml.Regression.Evaluate(scored).RSquared));
    }

    [TestMethod]
    public void EmbeddingDimensionIsValidatedAndOptionsAreNotModified()
    {
        var mlContext = new MLContext(seed: 1);
        foreach (int bad in new[] { -1, EmbeddingBagNetwork.MaxDimension + 1 })
        {
            var e = Assert.Throws<ArgumentOutOfRangeException>(() => mlContext.BinaryClassification.Trainers.FastFeedForward(
                new FastFeedForwardBinaryTrainer.Options { EmbeddingDimension = bad }));
            Assert.AreEqual("EmbeddingDimension", e.ParamName);
        }
        var options = Small(new FastFeedForwardBinaryTrainer.Options());
        mlContext.BinaryClassification.Trainers.FastFeedForward(options).Fit(TestData.BinaryData(mlContext, count: 100));
        Assert.AreEqual(4, options.EmbeddingDimension);
        Assert.AreEqual(20, options.NumberOfEpochs);
    }

    // ---- the token bag ----

    private static IDataView Reviews(MLContext mlContext, int count, int seed) => mlContext.Data.LoadFromEnumerable(TextPipelineTests.Reviews(count, seed));

    [TestMethod]
    public void TokenBagIsAMeanBagOverTheFittedVocabularyAndDropsUnknownTokens()
    {
        var mlContext = new MLContext(seed: 0);
        TokenBagTransformer bag = mlContext.Fff().TokenizeToBag("Features", "Text", minimumCount: 2).Fit(Reviews(mlContext, 300, seed: 1));
        Assert.IsGreaterThan(30, bag.VocabularySize);
        Assert.IsTrue(bag.LowerCase);
        var tokenizer = Microsoft.ML.Tokenizers.TiktokenTokenizer.CreateForEncoding("cl100k_base");
        int loved = tokenizer.EncodeToIds(" loved").Single();
        Assert.Contains(loved, bag.TokenIds.ToList());
        CollectionAssert.AreEqual(bag.TokenIds.OrderBy(id => id).ToArray(), bag.TokenIds.ToArray(), "slots in tokenizer-id order");

        var texts = new[]
        {
            new TextPipelineTests.ReviewRow { Text = "I loved it, loved the cast" },
            new TextPipelineTests.ReviewRow { Text = "xyzzyq qwzxv" },
            new TextPipelineTests.ReviewRow { Text = "" },
        };
        VBuffer<float>[] vectors = bag.Transform(mlContext.Data.LoadFromEnumerable(texts)).GetColumn<VBuffer<float>>("Features")
            .Select(v => { VBuffer<float> copy = default; v.CopyTo(ref copy); return copy; }).ToArray();
        Assert.AreEqual(bag.VocabularySize, vectors[0].Length);
        Assert.IsFalse(vectors[0].IsDense, "the bag is sparse");
        Assert.AreEqual(1f, vectors[0].GetValues().ToArray().Sum(), 1e-6f, "a mean bag sums to 1");
        int lovedSlot = bag.TokenIds.ToList().IndexOf(loved);
        float lovedShare = vectors[0].GetItemOrDefault(lovedSlot);
        Assert.AreEqual(2 * vectors[0].GetValues().ToArray().Min(), lovedShare, 1e-6f, "'loved' twice (lower-cased), the other known tokens once");
        Assert.AreEqual(0, vectors[1].GetValues().ToArray().Count(v => v != 0), "unknown tokens are dropped");
        Assert.AreEqual(0, vectors[2].GetValues().Length, "empty text gives an empty bag");
        VBuffer<ReadOnlyMemory<char>> slotNames = default;
        bag.GetOutputSchema(mlContext.Data.LoadFromEnumerable(texts).Schema)["Features"].GetSlotNames(ref slotNames);
        Assert.AreEqual(bag.VocabularySize, slotNames.Length);
        Assert.AreEqual(" loved", slotNames.GetItemOrDefault(lovedSlot).ToString(), "slot names are the decoded tokens");

        // The cap keeps the tokens in the most rows.
        TokenBagTransformer capped = mlContext.Fff().TokenizeToBag("Features", "Text", new TokenBagEstimator.Options { MinimumCount = 1, MaximumVocabularySize = 10 })
            .Fit(Reviews(mlContext, 300, seed: 1));
        Assert.AreEqual(10, capped.VocabularySize);
    }

    [TestMethod]
    public void TokenBagRejectsBadColumnsAndOptionsWithTheirNames()
    {
        var mlContext = new MLContext(seed: 0);
        IDataView data = Reviews(mlContext, 50, seed: 1);
        var missing = Assert.Throws<ArgumentOutOfRangeException>(() => mlContext.Fff().TokenizeToBag("Features", "Review").Fit(data));
        StringAssert.Contains(missing.Message, "'Review'");
        var notText = Assert.Throws<ArgumentOutOfRangeException>(() => mlContext.Fff().TokenizeToBag("Features", "Label").Fit(data));
        StringAssert.Contains(notText.Message, "'Label'");
        Assert.Throws<ArgumentOutOfRangeException>(() => mlContext.Fff().TokenizeToBag("Features", "Label").GetOutputSchema(EstimatorWorkout.ShapeOf(data.Schema)));
        TokenBagTransformer fitted = mlContext.Fff().TokenizeToBag("Features", "Text").Fit(data);
        IDataView renamed = mlContext.Transforms.CopyColumns("Other", "Text").Fit(data).Transform(data);
        renamed = mlContext.Transforms.DropColumns("Text").Fit(renamed).Transform(renamed);
        StringAssert.Contains(Assert.Throws<ArgumentOutOfRangeException>(() => fitted.Transform(renamed)).Message, "Text");

        Assert.AreEqual("MinimumCount", Assert.Throws<ArgumentOutOfRangeException>(() => mlContext.Fff().TokenizeToBag("Features", "Text", minimumCount: 0)).ParamName);
        Assert.AreEqual("MaximumVocabularySize", Assert.Throws<ArgumentOutOfRangeException>(
            () => mlContext.Fff().TokenizeToBag("Features", "Text", maximumVocabularySize: -1)).ParamName);
        Assert.AreEqual("outputColumnName", Assert.Throws<ArgumentException>(() => mlContext.Fff().TokenizeToBag(" ", "Text")).ParamName);
        Assert.AreEqual("options", Assert.Throws<ArgumentNullException>(() => mlContext.Fff().TokenizeToBag("Features", "Text", null!)).ParamName);
        var tooRare = Assert.Throws<InvalidOperationException>(() => mlContext.Fff().TokenizeToBag("Features", "Text", minimumCount: 1000).Fit(data));
        StringAssert.Contains(tooRare.Message, "MinimumCount");

        var options = new TokenBagEstimator.Options { MinimumCount = 2 };
        mlContext.Fff().TokenizeToBag("Features", "Text", options).Fit(data);
        Assert.AreEqual(2, options.MinimumCount);
        Assert.AreEqual(0, options.MaximumVocabularySize);
    }

    [TestMethod]
    public void TokenBagSavesAndLoadsOnAFreshContextAndRejectsACorruptVocabulary()
    {
        var mlContext = new MLContext(seed: 0);
        IDataView data = Reviews(mlContext, 200, seed: 2);
        TokenBagTransformer bag = mlContext.Fff().TokenizeToBag("Features", "Text").Fit(data);
        var stream = new MemoryStream();
        mlContext.Model.Save(bag, data.Schema, stream);
        byte[] zip = stream.ToArray();
        ITransformer loaded = new MLContext(seed: 5).Model.Load(new MemoryStream(zip), out _);
        Assert.IsInstanceOfType<TokenBagTransformer>(loaded);
        Assert.AreEqual(bag.VocabularySize, ((TokenBagTransformer)loaded).VocabularySize);
        IDataView unseen = Reviews(mlContext, 50, seed: 3);
        float[][] expected = Dense(bag.Transform(unseen)), actual = Dense(loaded.Transform(unseen));
        for (int r = 0; r < expected.Length; r++)
            CollectionAssert.AreEqual(EstimatorWorkout.Bits(expected[r]), EstimatorWorkout.Bits(actual[r]), $"row {r}");

        // The transformer's model block (after ML.NET's 256-byte header): column pairs (3 int32), tokenizer code, lower-case
        // byte, vocabulary size, then the ids. Each patch keeps the entry's size.
        (int Offset, byte[] Bytes, string Message)[] patches =
        {
            (12, BitConverter.GetBytes(7), "unknown tokenizer code 7"),
            (16, new byte[] { 2 }, "lower-case flag is 2"),
            (17, BitConverter.GetBytes(0), "vocabulary size 0 is out of range"),
            (-4, BitConverter.GetBytes(int.MaxValue), "is out of range"),
            (25, BitConverter.GetBytes(0), "not above the previous one"),
        };
        foreach ((int offset, byte[] bytes, string message) in patches)
        {
            byte[] bad = PatchModelBlock(zip, offset, bytes);
            Exception e = Assert.ThrowsExactly<InvalidOperationException>(() => new MLContext().Model.Load(new MemoryStream(bad), out _));
            while (e.InnerException is not null)
                e = e.InnerException;
            Assert.IsInstanceOfType<InvalidDataException>(e, message);
            StringAssert.StartsWith(e.Message, "Corrupt FFF token-bag transformer:");
            StringAssert.Contains(e.Message, message);
        }
    }

    /// <summary>
    /// The zip with <paramref name="bytes"/> written into the model block of the step whose signature is <paramref name="signature"/>
    /// (the token bag's by default) at <paramref name="offset"/> (from the block's end when negative); the block follows ML.NET's
    /// 256-byte header, whose int64 at 0x18 is the block size.
    /// </summary>
    internal static byte[] PatchModelBlock(byte[] zip, int offset, byte[] bytes, string signature = "FFFTOKBG")
    {
        var output = new MemoryStream();
        using (var source = new System.IO.Compression.ZipArchive(new MemoryStream(zip), System.IO.Compression.ZipArchiveMode.Read))
        using (var target = new System.IO.Compression.ZipArchive(output, System.IO.Compression.ZipArchiveMode.Create, leaveOpen: true))
        {
            foreach (System.IO.Compression.ZipArchiveEntry entry in source.Entries)
            {
                var copy = new MemoryStream();
                using (Stream read = entry.Open())
                    read.CopyTo(copy);
                byte[] content = copy.ToArray();
                if (content.Length > 256 && System.Text.Encoding.ASCII.GetString(content, 0x40, 8) == signature)
                {
                    int blockEnd = 256 + (int)BitConverter.ToInt64(content, 0x18);
                    bytes.CopyTo(content, offset >= 0 ? 256 + offset : blockEnd + offset);
                }
                using Stream write = target.CreateEntry(entry.FullName).Open();
                write.Write(content);
            }
        }
        return output.ToArray();
    }

    private static float[][] Dense(IDataView scored)
        => scored.GetColumn<VBuffer<float>>("Features").Select(v => v.DenseValues().ToArray()).ToArray();

    // ---- end to end ----

    private static IEstimator<ITransformer> TextPipeline(MLContext mlContext, int seed) => mlContext.Fff().TokenizeToBag("Features", "Text", minimumCount: 2)
        .Append(mlContext.BinaryClassification.Trainers.FastFeedForward(new FastFeedForwardBinaryTrainer.Options
        {
            EmbeddingDimension = 16, Depth = 2, LeafWidth = 8, NumberOfEpochs = 8, LearningRate = 1e-2f, Seed = seed, NumberOfThreads = 1,
        }));

    [TestMethod]
    public void SyntheticReviewsLearnedEndToEndScoreLikeThatAfterAReload()
    {
        var mlContext = new MLContext(seed: 0);
        IDataView train = Reviews(mlContext, 1000, seed: 1);
        List<TextPipelineTests.ReviewRow> testRows = TextPipelineTests.Reviews(300, seed: 2);
        ITransformer model = TextPipeline(mlContext, seed: 1).Fit(train);
        IDataView scored = model.Transform(mlContext.Data.LoadFromEnumerable(testRows));
        double accuracy = mlContext.BinaryClassification.Evaluate(scored).Accuracy;
        Assert.IsGreaterThanOrEqualTo(0.9, accuracy, $"accuracy {accuracy:F3}");

        var stream = new MemoryStream();
        mlContext.Model.Save(model, train.Schema, stream);
        byte[] first = stream.ToArray();
        stream.Position = 0;
        var fresh = new MLContext(seed: 9);
        var engine = fresh.Model.CreatePredictionEngine<TextPipelineTests.ReviewRow, Prediction>(fresh.Model.Load(stream, out _));
        float[] batch = scored.GetColumn<float>("Score").ToArray();
        for (int i = 0; i < 30; i++)
            Assert.AreEqual(batch[i], engine.Predict(new TextPipelineTests.ReviewRow { Text = testRows[i].Text }).Score, $"review {i}: single-row score after reload");
        Assert.IsTrue(engine.Predict(new TextPipelineTests.ReviewRow { Text = "A wonderful film, loved the cast!" }).PredictedLabel);
        Assert.IsFalse(engine.Predict(new TextPipelineTests.ReviewRow { Text = "Boring and dull, a waste of time." }).PredictedLabel);
        Assert.IsFalse(float.IsNaN(engine.Predict(new TextPipelineTests.ReviewRow { Text = "zzqx unseen vocabulary only" }).Score), "a row of unknown tokens still scores");

        // Determinism: the same seed gives the same bytes; another seed another model.
        var again = new MemoryStream();
        mlContext.Model.Save(TextPipeline(new MLContext(seed: 0), seed: 1).Fit(train), train.Schema, again);
        CollectionAssert.AreEqual(FastFeedForwardTrainerTests.ModelPayload(first), FastFeedForwardTrainerTests.ModelPayload(again.ToArray()), "same seed, same model entries");
        float[] other = TextPipeline(new MLContext(seed: 0), seed: 2).Fit(train).Transform(mlContext.Data.LoadFromEnumerable(testRows)).GetColumn<float>("Score").ToArray();
        CollectionAssert.AreNotEqual(batch, other, "another seed, another model");
    }

    [TestMethod]
    [TestCategory("Imdb")]
    public void TokenBagEmbeddingLearnsAnImdbSubset()
    {
        string directory = TextPipelineTests.RequireImdb();
        var mlContext = new MLContext(seed: 0);
        IDataView train = mlContext.Fff().SampleData.Imdb(directory, maxRows: 2000);
        IDataView test = mlContext.Fff().SampleData.Imdb(directory, test: true, maxRows: 1000);
        ITransformer model = mlContext.Fff().TokenizeToBag("Features", "Text", minimumCount: 3)
            .Append(mlContext.BinaryClassification.Trainers.FastFeedForward(new FastFeedForwardBinaryTrainer.Options
            {
                EmbeddingDimension = 32, Depth = 2, LeafWidth = 8, NumberOfEpochs = 6, LearningRate = 1e-2f, Seed = 1, NumberOfThreads = 1,
            }))
            .Fit(train);
        double accuracy = mlContext.BinaryClassification.Evaluate(model.Transform(test)).Accuracy;
        Assert.IsGreaterThanOrEqualTo(0.75, accuracy, $"2,000 reviews, 6 epochs: accuracy {accuracy:F4}");
    }

    private sealed class Prediction
    {
        public bool PredictedLabel { get; set; }

        public float Score { get; set; }
    }
}
