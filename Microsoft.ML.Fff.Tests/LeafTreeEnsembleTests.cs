using System;
using System.Buffers.Binary;
using System.Collections.Generic;
using System.IO;
using System.IO.Compression;
using System.Linq;
using Microsoft.ML.Data;
using Microsoft.ML.Fff.FastFeedForward;
using Microsoft.ML.Fff.InputStages;
using Microsoft.ML.Fff.Kinds;
using Microsoft.ML.Fff.Scoring;
using Microsoft.ML.Fff.Sweeps;
using Microsoft.ML.Fff.Training;
using Microsoft.VisualStudio.TestTools.UnitTesting;
using TorchSharp;
using static TorchSharp.torch;

namespace Microsoft.ML.Fff.Tests;

/// <summary>
/// Leaf-tree ensembles (<c>EnsembleSize</c> &gt; 1, kind 6): the C# scorer against the torch module, batches against rows,
/// persistence and corrupt payloads, the trainers and their options, and that one tree still saves exactly as before.
/// </summary>
[TestClass]
public sealed class LeafTreeEnsembleTests
{
    /// <summary>K random members of one shape (weights in [-1, 1)), each drawn from its own seed.</summary>
    internal static LeafTreeEnsembleNetwork RandomEnsemble(int inputs, int outputs, int trees, int depth, int leafWidth, int seed, int masterWidth = 0)
        => new(Enumerable.Range(0, trees).Select(t => ParityTests.RandomNetwork(inputs, outputs, depth, leafWidth, seed + 101 * t, masterWidth)).ToArray());

    private static FastFeedForwardOptionsBase ModuleOptions(int depth, int leafWidth, int masterWidth, int trees)
        => new FastFeedForwardMulticlassTrainer.Options { Depth = depth, LeafWidth = leafWidth, MasterLeafWidth = masterWidth, EnsembleSize = trees };

    private static LeafTreeEnsembleModule ModuleFor(LeafTreeEnsembleNetwork network)
    {
        FastFeedForwardNetwork first = network.Members[0];
        var module = new LeafTreeEnsembleModule(network.InputCount, network.OutputCount,
            ModuleOptions(first.Depth, first.LeafWidth, first.MasterWidth, network.TreeCount), network.TreeCount, CPU);
        module.Import(network);
        return module;
    }

    // ---- the scorer against the torch module ----

    [TestMethod]
    [DataRow(7, 3, 2, 3, 5, 0)]
    [DataRow(17, 4, 3, 2, 5, 4)]
    [DataRow(9, 1, 4, 0, 3, 2)]
    [DataRow(33, 10, 2, 4, 6, 0)]
    public void HardAndSoftForwardMatchTheCSharpScorers(int inputs, int outputs, int trees, int depth, int leafWidth, int masterWidth)
    {
        LeafTreeEnsembleNetwork network = RandomEnsemble(inputs, outputs, trees, depth, leafWidth, seed: inputs + depth, masterWidth);
        using LeafTreeEnsembleModule module = ModuleFor(network);
        float[] x = NetworkChecks.RandomRows(150, inputs, seed: 11);
        using Tensor input = tensor(x, new long[] { 150, inputs });
        using Tensor hard = module.HardForward(input);
        using Tensor soft = module.forward(input);
        float[] torchHard = hard.data<float>().ToArray(), torchSoft = soft.data<float>().ToArray();
        ISoftScorer softScorer = NetworkKinds.Of(network).CreateSoftScorer(network)!;
        var output = new float[outputs];
        for (int r = 0; r < 150; r++)
        {
            ReadOnlySpan<float> row = x.AsSpan(r * inputs, inputs);
            network.Score(row, output);
            for (int o = 0; o < outputs; o++)
                Assert.AreEqual(torchHard[r * outputs + o], output[o], 1e-4f * (1 + Math.Abs(output[o])), $"row {r} output {o} (hard)");
            softScorer.ScoreSoft(row, output);
            for (int o = 0; o < outputs; o++)
                Assert.AreEqual(torchSoft[r * outputs + o], output[o], 1e-4f * (1 + Math.Abs(output[o])), $"row {r} output {o} (soft)");
        }
    }

    [TestMethod]
    public void TheScoreIsTheMeanOfTheMembersInMemberOrder()
    {
        LeafTreeEnsembleNetwork network = RandomEnsemble(12, 3, 3, 3, 4, seed: 8, masterWidth: 2);
        float[] x = NetworkChecks.RandomRows(40, 12, seed: 9);
        var output = new float[3];
        var member = new float[3];
        var expected = new float[3];
        for (int r = 0; r < 40; r++)
        {
            ReadOnlySpan<float> row = x.AsSpan(r * 12, 12);
            Array.Clear(expected);
            foreach (FastFeedForwardNetwork tree in network.Members)
            {
                tree.Score(row, member);
                for (int o = 0; o < 3; o++)
                    expected[o] += member[o];
            }
            for (int o = 0; o < 3; o++)
                expected[o] *= 1f / 3;
            network.Score(row, output);
            CollectionAssert.AreEqual(expected, output, $"row {r}");
        }
    }

    [TestMethod]
    public void TrainingForwardHandsTheMembersToTheLossAndAveragesThem()
    {
        LeafTreeEnsembleNetwork network = RandomEnsemble(10, 4, 3, 2, 5, seed: 3, masterWidth: 2);
        using LeafTreeEnsembleModule module = ModuleFor(network);
        float[] x = NetworkChecks.RandomRows(20, 10, seed: 4);
        using Tensor input = tensor(x, new long[] { 20, 10 });
        using var generator = new Generator(7, CPU);
        foreach (FffTrainingPhase phase in new[] { FffTrainingPhase.Soft, FffTrainingPhase.HardFineTune })
        {
            using var scope = NewDisposeScope();
            var plan = new PhasePlan(phase, 4);
            StepOutput step = module.TrainingForward(input, new StepContext(plan, 1, 4, generator));
            Assert.IsNotNull(step.Members);
            CollectionAssert.AreEqual(new long[] { 20, 3, 4 }, step.Members.shape);
            float[] mean = step.Members.mean(new long[] { 1 }).data<float>().ToArray();
            CollectionAssert.AreEqual(mean, step.Output.data<float>().ToArray(), $"{phase}: the output is the members' mean");
            // Each member's slice is that member's own step (soft: hardening penalty on; fine-tune: its hard forward).
            for (int t = 0; t < 3; t++)
            {
                float[] own = module.Members[t].TrainingForward(input, new StepContext(plan, 1, 4, generator)).Output.data<float>().ToArray();
                float[] slice = step.Members.select(1, t).contiguous().data<float>().ToArray();
                for (int i = 0; i < own.Length; i++)
                    Assert.AreEqual(own[i], slice[i], 1e-5f, $"{phase}: member {t} value {i}");
            }
            Assert.AreEqual(phase == FffTrainingPhase.Soft, step.Penalty is not null, $"{phase}: hardening penalty");
        }
    }

    [TestMethod]
    public void HardFineTuneLeavesEveryTreesRoutingNodesAlone()
    {
        using var module = new LeafTreeEnsembleModule(10, 4, ModuleOptions(3, 6, 2, 3), 3, CPU);
        int all = module.parameters().Count();
        int soft = module.ParametersFor(new PhasePlan(FffTrainingPhase.Soft, 1)).Count();
        int fineTune = module.ParametersFor(new PhasePlan(FffTrainingPhase.HardFineTune, 1)).Count();
        Assert.AreEqual(3 * 11, all, "three members of 11 parameters each");
        Assert.AreEqual(all, soft);
        Assert.AreEqual(all - 3 * 2, fineTune, "node weights and biases of each tree are frozen");
    }

    // ---- batches, sparse rows, allocation, folding ----

    [TestMethod]
    [DataRow(37, 3, 3, 4, 7, 0, 40)]
    [DataRow(37, 3, 2, 4, 7, 5, 40)]
    [DataRow(70, 10, 4, 5, 16, 3, 1500)]
    [DataRow(9, 2, 2, 0, 3, 0, 300)]
    [DataRow(5, 300, 2, 2, 3, 0, 60)]
    public void GroupedBatchEqualsOneRowScoringBitForBit(int inputs, int outputs, int trees, int depth, int leafWidth, int masterWidth, int rows)
    {
        LeafTreeEnsembleNetwork network = RandomEnsemble(inputs, outputs, trees, depth, leafWidth, seed: 11, masterWidth);
        float[] features = NetworkChecks.RandomRows(rows, inputs, seed: 12);
        int nanRow = Math.Min(rows - 1, 3);
        features[nanRow * inputs + inputs / 2] = float.NaN;
        var batch = new float[rows * outputs];
        network.ScoreBatch(features, rows, batch);
        var one = new float[outputs];
        for (int r = 0; r < rows; r++)
        {
            network.Score(features.AsSpan(r * inputs, inputs), one);
            CollectionAssert.AreEqual(one, batch.AsSpan(r * outputs, outputs).ToArray(), $"row {r}");
        }
        Assert.IsTrue(batch.AsSpan(nanRow * outputs, outputs).ToArray().All(float.IsNaN), "the NaN row scores NaN");
        // The last rows alone, at the front of another batch.
        int tail = Math.Min(rows, 25);
        var part = new float[tail * outputs];
        network.ScoreBatch(features.AsSpan((rows - tail) * inputs), tail, part);
        CollectionAssert.AreEqual(batch.AsSpan((rows - tail) * outputs).ToArray(), part);
    }

    [TestMethod]
    public void SparseRowsScoreLikeDenseRowsAndScoringAllocatesNothing()
    {
        NetworkChecks.SparseRowsScoreLikeDenseRows(RandomEnsemble(300, 3, 3, 4, 7, seed: 9, masterWidth: 2));
        LeafTreeEnsembleNetwork network = RandomEnsemble(64, 10, 3, 4, 16, seed: 3, masterWidth: 4);
        NetworkChecks.ScoringAllocatesNothingPerRow(network);
        // 80 rows: below two threads' worth (2 x 256 / 3 rows), so one thread, each member grouped by leaf.
        float[] features = NetworkChecks.RandomRows(80, 64, seed: 4);
        var outputs = new float[80 * 10];
        network.ScoreBatch(features, 80, outputs);
        Assert.AreEqual(0L, NetworkChecks.AllocatedBytesOnceWarm(() =>
        {
            for (int i = 0; i < 5; i++)
                network.ScoreBatch(features, 80, outputs);
        }), "a serial batch allocates nothing once warm");
    }

    [TestMethod]
    public void FoldedScalingEqualsScaledInput()
        => NetworkChecks.FoldedScalingEqualsScaledInput(RandomEnsemble(8, 2, 3, 2, 3, seed: 21, masterWidth: 2));

    // ---- persistence ----

    [TestMethod]
    public void SaveLoadRoundTripIsBitIdentical()
    {
        LeafTreeEnsembleNetwork network = RandomEnsemble(12, 3, 3, 2, 4, seed: 5, masterWidth: 2);
        FeedForwardNetwork loaded = NetworkChecks.RoundTripIsBitIdentical(network);
        Assert.IsInstanceOfType<LeafTreeEnsembleNetwork>(loaded);
        Assert.AreEqual(NetworkKind.LeafTreeEnsemble, loaded.Kind);
        Assert.AreEqual((int)NetworkKind.LeafTreeEnsemble, BitConverter.ToInt32(NetworkChecks.SaveBytes(network), 0));
        Assert.AreEqual("FFF ensemble of 3 trees, each depth 2 x leaf 4 + master leaf 2", loaded.Describe());
        Assert.AreEqual(3 * (2 + 4 + 2), loaded.NeuronsPerRow);
        Assert.AreEqual(3 * (4 * 4 + 2), loaded.TrainingWidth);

        // Behind an embedding table too (head kind 6).
        var bag = new EmbeddingBagNetwork(20, RandomEnsemble(4, 2, 2, 1, 3, seed: 6));
        FeedForwardNetwork loadedBag = NetworkChecks.RoundTripIsBitIdentical(bag);
        Assert.IsInstanceOfType<LeafTreeEnsembleNetwork>(((EmbeddingBagNetwork)loadedBag).Head);
    }

    [TestMethod]
    public void TruncatedPaddedAndCorruptPayloadsAreRejected()
    {
        // Two members of 2 inputs, 1 output, depth 1, leaf width 2, no master leaf: each member payload is 5 fields, six
        // arrays (counts and 2, 1, 8, 4, 4, 2 floats) and the master width, 132 bytes. Layout: kind at 0, count at 4, member 0 at 8.
        LeafTreeEnsembleNetwork network = RandomEnsemble(2, 1, 2, 1, 2, seed: 1);
        byte[] bytes = NetworkChecks.SaveBytes(network);
        Assert.AreEqual(8 + 2 * 132, bytes.Length);
        NetworkChecks.TruncatedAndPaddedPayloadsAreRejected(bytes);

        (int Offset, int Value, string Message)[] cases =
        {
            (4, 1, "member count 1 is out of range"),
            (4, 0, "member count 0 is out of range"),
            (4, LeafTreeEnsembleNetwork.MaxStoredMembers + 1, "out of range"),
            (4, 3, "the file ends"),
            (8 + 132 + 12, 3, "the model block holds"),             // member 1's leaf width: its arrays no longer fit
            (8 + 132 + 8, 0, "node weights hold 2 values"),         // member 1's depth
            (8 + 128, 3, "master hidden weights hold"),             // member 0's master width: member 1's bytes are not its master leaf
            (8 + 132 + 16, 1, "unknown activation code 1"),
        };
        foreach ((int offset, int value, string message) in cases)
        {
            byte[] copy = (byte[])bytes.Clone();
            BitConverter.GetBytes(value).CopyTo(copy, offset);
            StringAssert.Contains(NetworkChecks.ExpectCorrupt(copy, copy.Length).Message, message, $"offset {offset} value {value}");
        }

        // Members of two shapes, each payload consistent in itself.
        var mixed = new MemoryStream();
        using (var writer = new BinaryWriter(mixed, System.Text.Encoding.UTF8, leaveOpen: true))
        {
            writer.Write((int)NetworkKind.LeafTreeEnsemble);
            writer.Write(2);
            ParityTests.RandomNetwork(2, 1, 1, 2, seed: 1).SavePayload(writer);
            ParityTests.RandomNetwork(2, 1, 1, 3, seed: 2).SavePayload(writer);
        }
        StringAssert.Contains(NetworkChecks.ExpectCorrupt(mixed.ToArray(), mixed.Length).Message, "differs in shape from member 0");

        // A NaN weight in the second member, and finite ones large enough to overflow.
        foreach (float bad in new[] { float.NaN, float.PositiveInfinity, 1e37f })
        {
            LeafTreeEnsembleNetwork copy = RandomEnsemble(2, 1, 2, 1, 2, seed: 1);
            copy.Members[1].HiddenWeights[3] = bad;
            NetworkChecks.ExpectCorrupt(NetworkChecks.SaveBytes(copy), null);
        }
    }

    [TestMethod]
    public void SeededByteMutationsAreRejectedOrScoreFinitely()
    {
        byte[] bytes = NetworkChecks.SaveBytes(RandomEnsemble(6, 2, 3, 2, 2, seed: 6, masterWidth: 1));
        var random = new Random(13);
        float[] x = NetworkChecks.RandomRows(4, 6, seed: 3);
        var output = new float[2];
        int loaded = 0;
        for (int trial = 0; trial < 3000; trial++)
        {
            byte[] copy = (byte[])bytes.Clone();
            for (int k = random.Next(1, 4); k > 0; k--)
                copy[random.Next(copy.Length)] = (byte)random.Next(256);
            FeedForwardNetwork network;
            try
            {
                network = NetworkChecks.LoadBytes(copy);
            }
            catch (InvalidDataException e)
            {
                StringAssert.StartsWith(e.Message, "Corrupt FFF model:", $"trial {trial}");
                continue;
            }
            loaded++;
            for (int r = 0; r < 4; r++)
            {
                network.Score(x.AsSpan(r * 6, 6), output);
                Assert.IsTrue(output.All(float.IsFinite), $"trial {trial}: a loaded model scores finitely");
            }
        }
        Assert.IsGreaterThan(100, loaded, "most mutations of weights load");
    }

    [TestMethod]
    public void AnEnsembleNeedsTwoMembersOfOneShape()
    {
        Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => new LeafTreeEnsembleNetwork(new[] { ParityTests.RandomNetwork(3, 1, 1, 2, seed: 1) }));
        var e = Assert.ThrowsExactly<ArgumentException>(() => new LeafTreeEnsembleNetwork(new[]
        {
            ParityTests.RandomNetwork(3, 1, 1, 2, seed: 1), ParityTests.RandomNetwork(3, 1, 2, 2, seed: 2),
        }));
        StringAssert.Contains(e.Message, "shape of the first");
    }

    // ---- one tree: the file and the model are exactly as before ----

    /// <summary>
    /// Every committed one-tree fixture (kind 0, with and without a master leaf, saved before ensembles existed), loaded and
    /// saved again, writes exactly its original model block: the kind-0 payload is unchanged. (The ML.NET header around the
    /// block carries the format version, which may move on without changing the payload.)
    /// </summary>
    [TestMethod]
    [DataRow("fff-binary")]
    [DataRow("fff-multiclass")]
    [DataRow("fff-regression")]
    [DataRow("fff-master-binary")]
    [DataRow("fff-master-regression")]
    public void OneTreeFixturesSaveTheirModelBlockByteForByte(string fixture)
    {
        string path = Path.Combine(AppContext.BaseDirectory, "Assets", "fixtures", fixture + ".zip");
        var mlContext = new MLContext(seed: 0);
        ITransformer model = mlContext.Model.Load(path, out DataViewSchema schema);
        var saved = new MemoryStream();
        mlContext.Model.Save(model, schema, saved);
        byte[] before = ModelBlock(File.ReadAllBytes(path)), after = ModelBlock(saved.ToArray());
        Assert.AreEqual((int)NetworkKind.FastFeedForward, BitConverter.ToInt32(before, 4), "kind 0 after ML.NET's sizeof(float)");
        CollectionAssert.AreEqual(before, after);
    }

    /// <summary>The model block (after ML.NET's 256-byte header) of the one entry that carries our model signature.</summary>
    private static byte[] ModelBlock(byte[] zip)
    {
        byte[] data = NetworkChecks.OurModelEntry(zip);
        return data.AsSpan(0x100, (int)BinaryPrimitives.ReadInt64LittleEndian(data.AsSpan(0x18))).ToArray();
    }

    [TestMethod]
    public void EnsembleSizeOneTrainsTheSingleTreeBitForBit()
    {
        byte[] Saved(Action<FastFeedForwardBinaryTrainer.Options> configure)
        {
            var mlContext = new MLContext(seed: 1);
            var options = new FastFeedForwardBinaryTrainer.Options { Depth = 2, LeafWidth = 4, MasterLeafWidth = 2, NumberOfEpochs = 4, Seed = 5, NumberOfThreads = 1 };
            configure(options);
            IDataView data = TestData.BinaryData(mlContext);
            ITransformer model = mlContext.BinaryClassification.Trainers.FastFeedForward(options).Fit(data);
            Assert.IsInstanceOfType<FastFeedForwardNetwork>(NetworkChecks.Unclamped(((BinaryPredictionTransformer<FffBinaryModelParameters>)model).Model.Network));
            var stream = new MemoryStream();
            mlContext.Model.Save(model, data.Schema, stream);
            return ModelBlock(stream.ToArray());
        }
        CollectionAssert.AreEqual(Saved(_ => { }), Saved(o => o.EnsembleSize = 1));
    }

    // ---- trainers ----

    private static T Small<T>(T options, int trees = 3) where T : FastFeedForwardOptionsBase
    {
        options.Depth = 2;
        options.LeafWidth = 8;
        options.MasterLeafWidth = 2;
        options.EnsembleSize = trees;
        options.NumberOfEpochs = 30;
        options.NumberOfThreads = 1;
        return options;
    }

    [TestMethod]
    public void BinaryWorkoutReportsTheEnsemblesCost()
    {
        var mlContext = new MLContext(seed: 1);
        var trainer = mlContext.BinaryClassification.Trainers.FastFeedForward(Small(new FastFeedForwardBinaryTrainer.Options()));
        ITransformer model = EstimatorWorkout.Run(trainer, TestData.BinaryData(mlContext), new[] { "Score", "Probability", "PredictedLabel" },
            (ml, scored) => Assert.IsGreaterThan(0.8, ml.BinaryClassification.Evaluate(scored).AreaUnderRocCurve));
        FffBinaryModelParameters parameters = ((BinaryPredictionTransformer<FffBinaryModelParameters>)model).Model;
        Assert.AreEqual("FFF ensemble of 3 trees, each depth 2 x leaf 8 + master leaf 2, inputs clamped to the training range", parameters.Description);
        Assert.AreEqual(3 * (2 + 8 + 2), parameters.NeuronsPerRow);
        Assert.AreEqual(3 * (4 * 8 + 2), parameters.TrainingWidth);
        Assert.AreEqual(2, parameters.Depth);
        Assert.AreEqual(8, parameters.LeafWidth);
        Assert.AreEqual(FffArchitecture.FastFeedForward, parameters.Architecture);
        // The members train from different initial weights, so they differ.
        var ensemble = (LeafTreeEnsembleNetwork)NetworkChecks.Unclamped(parameters.Network);
        CollectionAssert.AreNotEqual(ensemble.Members[0].HiddenWeights, ensemble.Members[1].HiddenWeights);
    }

    [TestMethod]
    public void MulticlassWorkout()
    {
        var mlContext = new MLContext(seed: 1);
        var estimator = TestData.MulticlassPrefix(mlContext).Append(mlContext.MulticlassClassification.Trainers.FastFeedForward(Small(new FastFeedForwardMulticlassTrainer.Options(), trees: 2)));
        EstimatorWorkout.Run(estimator, TestData.MulticlassData(mlContext), new[] { "Score", "PredictedLabel" },
            (ml, scored) => Assert.IsGreaterThan(0.7, ml.MulticlassClassification.Evaluate(scored).MicroAccuracy));
    }

    [TestMethod]
    public void RegressionWorkoutWithDistillationFromADenseTeacher()
    {
        // Regression folds the label scaling into every member; distillation's teacher targets reach every member.
        var mlContext = new MLContext(seed: 1);
        FastFeedForwardRegressionTrainer.Options options = Small(new FastFeedForwardRegressionTrainer.Options());
        options.DistillationTeacherWidth = 16;
        EstimatorWorkout.Run(mlContext.Regression.Trainers.FastFeedForward(options), TestData.RegressionData(mlContext), new[] { "Score" },
            (ml, scored) => Assert.IsGreaterThan(0.5, ml.Regression.Evaluate(scored).RSquared));
    }

    /// <summary>
    /// On one libtorch thread the trees' passes run side by side (one per core), each accumulating its own gradients: the model
    /// must not depend on which tree finished first, and it must still learn. Region leak draws from the step's shared
    /// generator, so with it the trees run in turn (the test above).
    /// </summary>
    [TestMethod]
    public void TreesTrainedSideBySide_GiveTheSameModelEveryTime()
    {
        (float[] Scores, double Auc) Train()
        {
            var mlContext = new MLContext(seed: 1);
            FastFeedForwardBinaryTrainer.Options options = Small(new FastFeedForwardBinaryTrainer.Options(), trees: 4);
            options.Seed = 3;
            options.NumberOfEpochs = 8;
            IDataView data = TestData.BinaryData(mlContext);
            IDataView scored = mlContext.BinaryClassification.Trainers.FastFeedForward(options).Fit(data).Transform(data);
            return (EstimatorWorkout.ReadScores(scored), mlContext.BinaryClassification.Evaluate(scored).AreaUnderRocCurve);
        }
        (float[] first, double auc) = Train();
        for (int run = 0; run < 3; run++)
            CollectionAssert.AreEqual(EstimatorWorkout.Bits(first), EstimatorWorkout.Bits(Train().Scores), $"run {run + 2}");
        Assert.IsGreaterThan(0.8, auc, "four trees trained side by side learn the task");

        using var independent = new LeafTreeEnsembleModule(10, 2, ModuleOptions(2, 4, 0, 3), 3, CPU);
        Assert.AreEqual(3, independent.IndependentMembers!.Count);
        FastFeedForwardOptionsBase leaking = ModuleOptions(2, 4, 0, 3);
        leaking.RegionLeak = 0.1f;
        using var shared = new LeafTreeEnsembleModule(10, 2, leaking, 3, CPU);
        Assert.IsNull(shared.IndependentMembers, "region leak draws from the shared generator: the trees run in turn");

        // Behind the clamp of ClampToTrainingRange (a stage without an embedding: rows pass unchanged in training) the trees stay
        // independent; behind an embedding, which they all read and train, they are not.
        using var clamped = new InputStageModule(null, new LeafTreeEnsembleModule(10, 2, ModuleOptions(2, 4, 0, 3), 3, CPU), CPU);
        Assert.AreEqual(3, clamped.IndependentMembers!.Count);
        var layer = new NumericEmbeddingLayer(FffNumericEmbedding.Periodic, 10, Enumerable.Range(0, 10).ToArray(), 4, 3, null);
        using var embedded = new InputStageModule(layer, new LeafTreeEnsembleModule(layer.OutputCount, 2, ModuleOptions(2, 4, 0, 3), 3, CPU), CPU);
        Assert.IsNull(embedded.IndependentMembers, "the trees share the embedding's parameters");
    }

    [TestMethod]
    public void SameSeedGivesTheSameModelAndAnotherSeedAnother()
    {
        float[] Scores(int seed)
        {
            var mlContext = new MLContext(seed: 1);
            FastFeedForwardBinaryTrainer.Options options = Small(new FastFeedForwardBinaryTrainer.Options());
            options.Seed = seed;
            options.NumberOfEpochs = 6;
            options.RegionLeak = 0.1f;
            IDataView data = TestData.BinaryData(mlContext);
            return EstimatorWorkout.ReadScores(mlContext.BinaryClassification.Trainers.FastFeedForward(options).Fit(data).Transform(data));
        }
        float[] first = Scores(3);
        CollectionAssert.AreEqual(EstimatorWorkout.Bits(first), EstimatorWorkout.Bits(Scores(3)));
        CollectionAssert.AreNotEqual(EstimatorWorkout.Bits(first), EstimatorWorkout.Bits(Scores(4)));
    }

    /// <summary>
    /// The leaf FFF's stages with K &gt; 1: soft training with hardening, load balancing and region leak, then hard fine-tuning
    /// with self-distillation; the hard ensemble reaches the single tree's digits floor and its soft/hard gap stays small.
    /// </summary>
    [TestMethod]
    public void DigitsEnsembleKeepsTheSoftAndHardStagesWorking()
    {
        var mlContext = new MLContext(seed: 0);
        var split = mlContext.Data.TrainTestSplit(mlContext.Fff().SampleData.Digits(), testFraction: 0.2, seed: 0);
        var progress = new System.Collections.Generic.List<FffTrainingProgress>();
        var options = new FastFeedForwardMulticlassTrainer.Options
        {
            EnsembleSize = 2, LoadBalancingWeight = 0.5f, RegionLeak = 0.05f, FineTuneSoftTargetWeight = 0.5f, NumberOfEpochs = 30,
            NumberOfThreads = 1, Progress = new Progress(progress),
        };
        var model = mlContext.Transforms.Conversion.MapValueToKey("Label")
            .Append(mlContext.MulticlassClassification.Trainers.FastFeedForward(options))
            .Fit(split.TrainSet);
        var metrics = mlContext.MulticlassClassification.Evaluate(model.Transform(split.TestSet));
        FffSoftHardGap gap = mlContext.Fff().EvaluateSoftHardGap(model, split.TestSet);
        Console.WriteLine($"digits, 2 trees: hard {metrics.MicroAccuracy:F4}, soft {gap.SoftMetric:F4}");
        Assert.IsGreaterThanOrEqualTo(0.95, metrics.MicroAccuracy);
        Assert.AreEqual(metrics.MicroAccuracy, gap.HardMetric, 1e-9, "EvaluateSoftHardGap must score like the model");
        Assert.IsLessThan(0.03, Math.Abs(gap.Gap));
        Assert.IsTrue(progress.Any(p => p.Phase == FffTrainingPhase.HardFineTune), "the hard fine-tune stage ran");
        Assert.IsTrue(progress.Any(p => p.BalanceLoss > 0), "load balancing ran");
        Assert.IsLessThan(progress.First().NodeEntropy, progress.Last(p => p.Phase == FffTrainingPhase.Soft).NodeEntropy, "hardening lowered the members' node entropy");
    }

    private sealed class Progress(System.Collections.Generic.List<FffTrainingProgress> into) : IProgress<FffTrainingProgress>
    {
        public void Report(FffTrainingProgress value) => into.Add(value);
    }

    // ---- sweeps ----

    [TestMethod]
    public void SweepsDrawEnsembleSizesAndCountTheirNeurons()
    {
        var ml = new MLContext(seed: 0);
        var space = new FffSearchSpace { Depths = new[] { 2 }, LeafWidths = new[] { 8 }, MasterLeafWidths = new[] { 0 }, EnsembleSizes = new[] { 1, 3 } };
        IReadOnlyList<FffTrialConfiguration> drawn = ml.Fff().CreateExperiment().SetModelKinds(FffArchitecture.FastFeedForward).SetSearchSpace(space)
            .SetSeed(3).SetMaxNeuronsPerRow(40).PreviewConfigurations(30);
        Assert.IsTrue(drawn.Any(c => c.EnsembleSize == 3) && drawn.Any(c => c.EnsembleSize == 1), "both sizes are drawn");
        foreach (FffTrialConfiguration c in drawn)
        {
            Assert.AreEqual(c.EnsembleSize * (2 + 8), c.NeuronsPerRow);
            StringAssert.StartsWith(c.Shape, c.EnsembleSize == 3 ? "FFF 3 trees x depth 2 x leaf 8" : "FFF depth 2 x leaf 8");
        }
        // The neurons-per-row limit applies to the ensemble's cost: 3 x 10 = 30 fits under 40, not under 20.
        Assert.IsTrue(ml.Fff().CreateExperiment().SetModelKinds(FffArchitecture.FastFeedForward).SetSearchSpace(space).SetSeed(3)
            .SetMaxNeuronsPerRow(20).PreviewConfigurations(30).All(c => c.EnsembleSize == 1));

        space.EnsembleSizes = new[] { 0 };
        var e = Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => ml.Fff().CreateExperiment().SetModelKinds(FffArchitecture.FastFeedForward)
            .SetDataset(ml.Fff().SampleData.Digits()).SetMulticlassClassificationMetric().SetSearchSpace(space).Run());
        Assert.AreEqual("EnsembleSizes", e.ParamName);
    }

    // ---- options ----

    [TestMethod]
    public void EnsembleSizeIsValidatedWithItsName()
    {
        var mlContext = new MLContext(seed: 1);
        foreach (Action<FastFeedForwardBinaryTrainer.Options> bad in new Action<FastFeedForwardBinaryTrainer.Options>[]
        {
            o => o.EnsembleSize = 0,
            o => o.EnsembleSize = LeafTreeEnsembleNetwork.MaxTrainedMembers + 1,
            o => { o.EnsembleSize = 2; o.NodeKind = FffNodeKind.Neurons; },
        })
        {
            var options = new FastFeedForwardBinaryTrainer.Options();
            bad(options);
            var e = Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => mlContext.BinaryClassification.Trainers.FastFeedForward(options));
            Assert.AreEqual("EnsembleSize", e.ParamName);
            StringAssert.Contains(e.Message, "Option EnsembleSize");
        }
        var neurons = Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => mlContext.BinaryClassification.Trainers.FastFeedForward(
            new FastFeedForwardBinaryTrainer.Options { EnsembleSize = 2, NodeKind = FffNodeKind.Neurons }));
        StringAssert.Contains(neurons.Message, "NumberOfTrees");

        var auto = Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => mlContext.Fff().Train(TestData.BinaryData(mlContext), "Label",
            new FffAutoTrainOptions { EnsembleSize = 0 }));
        Assert.AreEqual("EnsembleSize", auto.ParamName);
    }

    [TestMethod]
    public void TrainPassesEnsembleSizeAndLeavesOptionsAlone()
    {
        OneTorchThread.Enter();
        try
        {
            TrainPasses();
        }
        finally
        {
            OneTorchThread.Exit();
        }
    }

    private static void TrainPasses()
    {
        var mlContext = new MLContext(seed: 1);
        var options = new FffAutoTrainOptions { EnsembleSize = 2, NumberOfEpochs = 5 };
        ITransformer model = mlContext.Fff().Train(TestData.BinaryData(mlContext), "Label", options);
        Assert.AreEqual(2, options.EnsembleSize);
        FeedForwardNetwork network = ModelSteps.Flatten(model).OfType<ISingleFeaturePredictionTransformer<object>>()
            .Select(t => NetworkChecks.Unclamped(((IFffScoringModel)t.Model).Network)).Single();
        var ensemble = (LeafTreeEnsembleNetwork)network;
        Assert.AreEqual(2, ensemble.TreeCount);
        Assert.AreEqual(2 * ensemble.Members[0].NeuronsPerRow, ensemble.NeuronsPerRow);

        ITransformer single = mlContext.Fff().Train(TestData.BinaryData(mlContext), "Label", new FffAutoTrainOptions { NumberOfEpochs = 5 });
        Assert.IsInstanceOfType<FastFeedForwardNetwork>(ModelSteps.Flatten(single).OfType<ISingleFeaturePredictionTransformer<object>>()
            .Select(t => NetworkChecks.Unclamped(((IFffScoringModel)t.Model).Network)).Single(), "null keeps one tree");
    }
}
