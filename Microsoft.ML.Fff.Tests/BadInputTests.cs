using System;
using System.IO;
using System.Linq;
using Microsoft.ML.Data;
using Microsoft.ML.Fff;
using Microsoft.ML.Fff.FastFeedForward;
using Microsoft.ML.Fff.Scoring;
using Microsoft.VisualStudio.TestTools.UnitTesting;

namespace Microsoft.ML.Fff.Tests;

/// <summary>Every bad input gets a clear .NET exception that names the column or option — before any training starts.</summary>
[TestClass]
public sealed class BadInputTests
{
    [TestMethod]
    public void MissingFeatureColumn()
    {
        var mlContext = new MLContext(seed: 0);
        var trainer = mlContext.BinaryClassification.Trainers.FastFeedForward(featureColumnName: "Pixels");
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => trainer.Fit(TestData.BinaryData(mlContext)));
        StringAssert.Contains(e.Message, "Pixels");
    }

    [TestMethod]
    public void MissingLabelColumn()
    {
        var mlContext = new MLContext(seed: 0);
        var trainer = mlContext.Regression.Trainers.FastFeedForward(labelColumnName: "Target");
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => trainer.Fit(TestData.RegressionData(mlContext)));
        StringAssert.Contains(e.Message, "Target");
    }

    [TestMethod]
    public void WrongLabelType()
    {
        var mlContext = new MLContext(seed: 0);
        // A Single label for binary classification, and a non-key label for multiclass.
        var binary = Assert.Throws<ArgumentOutOfRangeException>(() =>
            mlContext.BinaryClassification.Trainers.FastFeedForward().Fit(TestData.RegressionData(mlContext)));
        StringAssert.Contains(binary.Message, "Label");
        var multiclass = Assert.Throws<ArgumentOutOfRangeException>(() =>
            mlContext.MulticlassClassification.Trainers.FastFeedForward().Fit(TestData.MulticlassData(mlContext)));
        StringAssert.Contains(multiclass.Message, "MapValueToKey");
    }

    [TestMethod]
    public void WrongFeatureType()
    {
        var mlContext = new MLContext(seed: 0);
        IDataView data = TestData.BinaryData(mlContext);
        IDataView doubles = mlContext.Transforms.Conversion.ConvertType("Features", outputKind: DataKind.Double).Fit(data).Transform(data);
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => mlContext.BinaryClassification.Trainers.FastFeedForward().Fit(doubles));
        StringAssert.Contains(e.Message, "Features");
    }

    [TestMethod]
    public void NaNAndInfiniteFeatures()
    {
        var mlContext = new MLContext(seed: 0);
        foreach (float bad in new[] { float.NaN, float.PositiveInfinity })
        {
            var rows = TestData.Synthetic(50, 4, 1, x => x[0] > 0);
            rows[17].Features[2] = bad;
            var e = Assert.ThrowsExactly<InvalidOperationException>(() =>
                mlContext.BinaryClassification.Trainers.FastFeedForward(numberOfEpochs: 1).Fit(TestData.Table(mlContext, rows, 4)));
            StringAssert.Contains(e.Message, "'Features'");
            StringAssert.Contains(e.Message, "row 17, slot 2");
            StringAssert.Contains(e.Message, "ReplaceMissingValues");
        }
    }

    [TestMethod]
    public void NaNRegressionLabel()
    {
        var mlContext = new MLContext(seed: 0);
        var rows = TestData.Synthetic(50, 4, 1, x => x[0]);
        rows[5].Label = float.NaN;
        var e = Assert.ThrowsExactly<InvalidOperationException>(() =>
            mlContext.Regression.Trainers.FastFeedForward(numberOfEpochs: 1).Fit(TestData.Table(mlContext, rows, 4)));
        StringAssert.Contains(e.Message, "'Label'");
        StringAssert.Contains(e.Message, "row 5");
    }

    [TestMethod]
    public void NegativeExampleWeight()
    {
        var mlContext = new MLContext(seed: 0);
        var rows = TestData.Synthetic(50, 4, 1, x => x[0] > 0);
        rows[3].Weight = -1;
        var e = Assert.ThrowsExactly<InvalidOperationException>(() =>
            mlContext.BinaryClassification.Trainers.FastFeedForward(exampleWeightColumnName: "Weight", numberOfEpochs: 1).Fit(TestData.Table(mlContext, rows, 4)));
        StringAssert.Contains(e.Message, "'Weight'");
    }

    [TestMethod]
    public void EmptyData()
    {
        var mlContext = new MLContext(seed: 0);
        IDataView empty = TestData.Table(mlContext, Array.Empty<TestData.VectorRow<bool>>(), 4);
        var e = Assert.ThrowsExactly<InvalidOperationException>(() => mlContext.BinaryClassification.Trainers.FastFeedForward().Fit(empty));
        StringAssert.Contains(e.Message, "no rows");
    }

    [TestMethod]
    public void SingleClassBinaryData()
    {
        var mlContext = new MLContext(seed: 0);
        IDataView allTrue = TestData.Table(mlContext, TestData.Synthetic(40, 4, 1, _ => true), 4);
        var e = Assert.ThrowsExactly<InvalidOperationException>(() => mlContext.BinaryClassification.Trainers.FastFeedForward().Fit(allTrue));
        StringAssert.Contains(e.Message, "The label column 'Label' has only one class");
    }

    [TestMethod]
    [DataRow(nameof(FastFeedForwardOptionsBase.Depth), -1)]
    [DataRow(nameof(FastFeedForwardOptionsBase.Depth), 40)]
    [DataRow(nameof(FastFeedForwardOptionsBase.LeafWidth), 0)]
    [DataRow(nameof(FastFeedForwardOptionsBase.LeafWidth), -5)]
    [DataRow(nameof(FastFeedForwardOptionsBase.NumberOfEpochs), 0)]
    [DataRow(nameof(FastFeedForwardOptionsBase.BatchSize), 0)]
    [DataRow(nameof(FastFeedForwardOptionsBase.LearningRate), 0)]
    [DataRow(nameof(FastFeedForwardOptionsBase.LearningRate), -1)]
    [DataRow(nameof(FastFeedForwardOptionsBase.LearningRate), float.NaN)]
    [DataRow(nameof(FastFeedForwardOptionsBase.WeightDecay), -1)]
    [DataRow(nameof(FastFeedForwardOptionsBase.HardeningWeight), float.PositiveInfinity)]
    [DataRow(nameof(FastFeedForwardOptionsBase.RegionLeak), 0.5f)]
    [DataRow(nameof(FastFeedForwardOptionsBase.HardFineTuneFraction), 1f)]
    [DataRow(nameof(FastFeedForwardOptionsBase.EarlyStoppingPatience), -1)]
    [DataRow(nameof(FastFeedForwardOptionsBase.NumberOfThreads), 0)]
    public void InvalidOptionsAreRejectedWhenTheTrainerIsCreated(string option, object value)
    {
        var mlContext = new MLContext(seed: 0);
        var options = new FastFeedForwardBinaryTrainer.Options();
        var property = typeof(FastFeedForwardOptionsBase).GetProperty(option)!;
        Type target = Nullable.GetUnderlyingType(property.PropertyType) ?? property.PropertyType;
        property.SetValue(options, Convert.ChangeType(value, target, System.Globalization.CultureInfo.InvariantCulture));
        var e = Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => mlContext.BinaryClassification.Trainers.FastFeedForward(options));
        Assert.AreEqual(option, e.ParamName);
        StringAssert.Contains(e.Message, option);
    }

    [TestMethod]
    public void SimpleOverloadValidatesToo()
    {
        var mlContext = new MLContext(seed: 0);
        var e = Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => mlContext.Regression.Trainers.FastFeedForward(depth: 17));
        Assert.AreEqual("Depth", e.ParamName);
    }

    [TestMethod]
    public void OptionsAreNotModifiedByTraining()
    {
        var mlContext = new MLContext(seed: 0);
        var options = new FastFeedForwardBinaryTrainer.Options { BatchSize = 10_000, NumberOfEpochs = 2, Depth = 1, LeafWidth = 2 };
        mlContext.BinaryClassification.Trainers.FastFeedForward(options).Fit(TestData.BinaryData(mlContext, count: 50));
        Assert.AreEqual(10_000, options.BatchSize, "a batch larger than the data is cut for the run, not written back");
        Assert.IsNull(options.Seed);
    }

    [TestMethod]
    [DataRow(1e10f)]
    [DataRow(1e30f)]
    public void DivergenceStopsTrainingWithinOneEpoch(float learningRate)
    {
        var mlContext = new MLContext(seed: 0);
        var reports = new System.Collections.Generic.List<FffTrainingProgress>();
        var trainer = mlContext.Regression.Trainers.FastFeedForward(new FastFeedForwardRegressionTrainer.Options
        {
            LearningRate = learningRate,
            LearningRateSchedule = FffLearningRateSchedule.Constant,
            NumberOfEpochs = 5,
            Progress = new System.Progress<FffTrainingProgress>(reports.Add),
        });
        var e = Assert.ThrowsExactly<InvalidOperationException>(() => trainer.Fit(TestData.RegressionData(mlContext)));
        StringAssert.Contains(e.Message, "diverged in epoch 1");
        StringAssert.Contains(e.Message, "LearningRate");
    }

    [TestMethod]
    public void MissingOrOutOfRangeKeyLabels()
    {
        var mlContext = new MLContext(seed: 0);
        // A key label with a missing value (0): MapValueToKey with a fixed key set maps unseen values to missing.
        var rows = TestData.Synthetic(30, 3, 1, x => x[0] > 0 ? "a" : "b");
        rows[7].Label = "zzz";
        IDataView data = TestData.Table(mlContext, rows, 3);
        var keys = mlContext.Data.LoadFromEnumerable(new[] { new { Label = "a" }, new { Label = "b" } });
        var pipeline = mlContext.Transforms.Conversion.MapValueToKey("Label", keyData: keys)
            .Append(mlContext.MulticlassClassification.Trainers.FastFeedForward(numberOfEpochs: 1));
        var e = Assert.ThrowsExactly<InvalidOperationException>(() => pipeline.Fit(data));
        StringAssert.Contains(e.Message, "row 7");
    }

    [TestMethod]
    public void CudaWithoutAGpuFailsClearly()
    {
        if (TorchSharp.torch.cuda.is_available())
            Assert.Inconclusive("This machine has a CUDA device.");
        var mlContext = new MLContext(seed: 0);
        var trainer = mlContext.BinaryClassification.Trainers.FastFeedForward(new FastFeedForwardBinaryTrainer.Options { Device = FffDevice.Cuda, NumberOfEpochs = 1 });
        var e = Assert.ThrowsExactly<InvalidOperationException>(() => trainer.Fit(TestData.BinaryData(mlContext, count: 20)));
        StringAssert.Contains(e.Message, "Device");
    }

    [TestMethod]
    public void ScoringAVectorOfTheWrongLengthIsRejected()
    {
        var mlContext = new MLContext(seed: 0);
        var model = mlContext.BinaryClassification.Trainers.FastFeedForward(depth: 1, leafWidth: 2, numberOfEpochs: 1).Fit(TestData.BinaryData(mlContext, width: 6));
        IDataView wider = TestData.BinaryData(mlContext, width: 7);
        // ML.NET's prediction transformer checks the vector type before our mapper sees a row.
        var e = Assert.ThrowsExactly<InvalidOperationException>(() => model.Transform(wider));
        StringAssert.Contains(e.Message, "features");
    }

    [TestMethod]
    public void ScoringNaNGivesNaNScoresAndAMissingColumnThrows()
    {
        var mlContext = new MLContext(seed: 0);
        var model = mlContext.BinaryClassification.Trainers.FastFeedForward(depth: 1, leafWidth: 2, numberOfEpochs: 1).Fit(TestData.BinaryData(mlContext, width: 6));
        var rows = TestData.Synthetic(3, 6, 9, x => x[0] > 0);
        rows[1].Features[4] = float.NaN;
        IDataView scored = model.Transform(TestData.Table(mlContext, rows, 6));
        float[] scores = scored.GetColumn<float>("Score").ToArray();
        float[] probabilities = scored.GetColumn<float>("Probability").ToArray();
        bool[] predicted = scored.GetColumn<bool>("PredictedLabel").ToArray();
        Assert.IsTrue(float.IsFinite(scores[0]) && float.IsFinite(scores[2]), "the other rows still score");
        Assert.IsTrue(float.IsNaN(scores[1]) && float.IsNaN(probabilities[1]));
        Assert.IsFalse(predicted[1]);

        IDataView noFeatures = mlContext.Transforms.DropColumns("Features").Fit(TestData.BinaryData(mlContext)).Transform(TestData.BinaryData(mlContext));
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => model.Transform(noFeatures));
        StringAssert.Contains(e.Message, "Features");
    }

    [TestMethod]
    public void CorruptOrTruncatedNetworkStreamsAreRejected()
    {
        FastFeedForwardNetwork network = ParityTests.RandomNetwork(5, 2, 2, 3, seed: 1);
        var stream = new MemoryStream();
        using (var writer = new BinaryWriter(stream, System.Text.Encoding.UTF8, leaveOpen: true))
            network.Save(writer);
        byte[] bytes = stream.ToArray();

        // Truncated anywhere.
        foreach (int length in new[] { 0, 3, 19, 20, 24, 44, bytes.Length - 5, bytes.Length - 1 })
            Assert.Throws<Exception>(() => FeedForwardNetwork.Load(new BinaryReader(new MemoryStream(bytes, 0, length))), $"length {length}");
        // An absurd declared shape is refused before allocating (fields after the 4-byte network kind).
        byte[] huge = (byte[])bytes.Clone();
        BitConverter.GetBytes(1 << 27).CopyTo(huge, 4);
        BitConverter.GetBytes(20).CopyTo(huge, 12);
        var e = Assert.ThrowsExactly<InvalidDataException>(() => FeedForwardNetwork.Load(new BinaryReader(new MemoryStream(huge))));
        StringAssert.Contains(e.Message, "Corrupt FFF model");
        // An unknown network kind is refused.
        byte[] kind = (byte[])bytes.Clone();
        BitConverter.GetBytes(99).CopyTo(kind, 0);
        e = Assert.ThrowsExactly<InvalidDataException>(() => FeedForwardNetwork.Load(new BinaryReader(new MemoryStream(kind))));
        StringAssert.Contains(e.Message, "unknown network kind 99");
        // A NaN weight is refused.
        byte[] nan = (byte[])bytes.Clone();
        BitConverter.GetBytes(float.NaN).CopyTo(nan, 28);
        Assert.ThrowsExactly<InvalidDataException>(() => FeedForwardNetwork.Load(new BinaryReader(new MemoryStream(nan))));
        // A master leaf round-trips, and its mixing logit is validated like any weight.
        FastFeedForwardNetwork master = ParityTests.RandomNetwork(5, 2, 2, 3, seed: 2, masterWidth: 4);
        var masterStream = new MemoryStream();
        using (var writer = new BinaryWriter(masterStream, System.Text.Encoding.UTF8, leaveOpen: true))
            master.Save(writer);
        byte[] masterBytes = masterStream.ToArray();
        var loaded = (FastFeedForwardNetwork)FeedForwardNetwork.Load(new BinaryReader(new MemoryStream(masterBytes)), masterBytes.Length);
        Assert.AreEqual(4, loaded.MasterWidth);
        foreach ((float[] expected, float[] actual) in master.Arrays.Zip(loaded.Arrays))
            CollectionAssert.AreEqual(expected, actual);
        BitConverter.GetBytes(float.PositiveInfinity).CopyTo(masterBytes, masterBytes.Length - 4);
        Assert.ThrowsExactly<InvalidDataException>(() => FeedForwardNetwork.Load(new BinaryReader(new MemoryStream(masterBytes))));
    }
}
