using System;
using System.IO;
using System.Linq;
using Microsoft.ML.Data;
using Microsoft.ML.Fff.Data;
using Microsoft.VisualStudio.TestTools.UnitTesting;

namespace Microsoft.ML.Fff.Tests;

/// <summary>The idx reader on small files made here, and the real MNIST when scripts/fetch-mnist.sh has fetched it.</summary>
[TestClass]
public sealed class MnistDataTests
{
    [TestMethod]
    public void IdxReaderReadsAndValidates()
    {
        string directory = Directory.CreateTempSubdirectory("fff-idx-").FullName;
        try
        {
            string good = Path.Combine(directory, "good");
            File.WriteAllBytes(good, new byte[] { 0, 0, 8, 2, 0, 0, 0, 2, 0, 0, 0, 3, 1, 2, 3, 4, 5, 6 });
            (int[] shape, byte[] values) = IdxReader.ReadBytes(good);
            CollectionAssert.AreEqual(new[] { 2, 3 }, shape);
            CollectionAssert.AreEqual(new byte[] { 1, 2, 3, 4, 5, 6 }, values);

            foreach (byte[] bad in new[]
            {
                new byte[] { 1, 0, 8, 1, 0, 0, 0, 1, 9 },              // bad magic
                new byte[] { 0, 0, 13, 1, 0, 0, 0, 1, 0, 0, 0, 0 },   // float data: unsupported
                new byte[] { 0, 0, 8, 2, 0, 0, 0, 2, 0, 0, 0, 3, 1 }, // truncated
                new byte[] { 0, 0, 8, 1, 0x7F, 0xFF, 0xFF, 0xFF, 1 }, // huge declared size, no data
                new byte[] { 0, 0, 8, 1, 0 },                         // header cut short
            })
            {
                string path = Path.Combine(directory, "bad");
                File.WriteAllBytes(path, bad);
                Assert.ThrowsExactly<InvalidDataException>(() => IdxReader.ReadBytes(path));
            }
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    [TestMethod]
    public void MissingMnistGivesAClearMessage()
    {
        var mlContext = new MLContext(seed: 0);
        var e = Assert.ThrowsExactly<FileNotFoundException>(() => mlContext.Fff().SampleData.Mnist(Path.Combine(Path.GetTempPath(), "no-such-mnist")));
        StringAssert.Contains(e.Message, "scripts/fetch-mnist.sh");
    }

    /// <summary>The MNIST cache, or Inconclusive (skipped) with the command that fetches it.</summary>
    private static string RequireMnist()
    {
        string directory = FffSampleData.DefaultMnistDirectory;
        if (!File.Exists(Path.Combine(directory, "t10k-labels-idx1-ubyte")))
            Assert.Inconclusive($"MNIST is not in {directory}; run scripts/fetch-mnist.sh to include this test.");
        return directory;
    }

    [TestMethod]
    [TestCategory("Mnist")]
    public void FetchedMnistHasTheOfficialSplit()
    {
        string directory = RequireMnist();
        var mlContext = new MLContext(seed: 0);
        IDataView test = mlContext.Fff().SampleData.Mnist(directory, test: true);
        float[] labels = test.GetColumn<float>("Label").ToArray();
        Assert.HasCount(10_000, labels);
        CollectionAssert.AreEquivalent(Enumerable.Range(0, 10).Select(d => (float)d).ToArray(), labels.Distinct().ToArray());
        Assert.AreEqual(784, ((VectorDataViewType)test.Schema["Features"].Type).Size);
        IDataView train = mlContext.Fff().SampleData.Mnist(directory, maxRows: 100);
        float[] first = train.GetColumn<VBuffer<float>>("Features").First().DenseValues().ToArray();
        Assert.IsTrue(first.All(p => p >= 0 && p <= 255) && first.Any(p => p > 0));
        Assert.AreEqual(5f, train.GetColumn<float>("Label").First(), "the first training image of MNIST is a 5");
    }

    [TestMethod]
    [TestCategory("Mnist")]
    public void EveryArchitectureLearnsAnMnistSubset()
    {
        // 6,000 training images, 3 epochs: a smoke test that MNIST-shaped data (784 pixels, 0..255) trains with every
        // architecture; the full comparison is tools/FffMnistComparison (docs/results.md).
        string directory = RequireMnist();
        var mlContext = new MLContext(seed: 0);
        IDataView train = mlContext.Data.Cache(mlContext.Fff().SampleData.Mnist(directory, maxRows: 6000));
        IDataView test = mlContext.Fff().SampleData.Mnist(directory, test: true, maxRows: 2000);
        var trainers = new (string Name, IEstimator<ITransformer> Trainer)[]
        {
            ("FFF", mlContext.MulticlassClassification.Trainers.FastFeedForward(new FastFeedForward.FastFeedForwardMulticlassTrainer.Options
                { Depth = 4, LeafWidth = 16, NumberOfEpochs = 3, BatchSize = 128, NumberOfThreads = 1 })),
            ("MoE", mlContext.MulticlassClassification.Trainers.MixtureOfExperts(new MixtureOfExperts.MixtureOfExpertsMulticlassTrainer.Options
                { NumberOfExperts = 8, ExpertWidth = 16, NumberOfEpochs = 3, BatchSize = 128, NumberOfThreads = 1 })),
            ("Dense", mlContext.MulticlassClassification.Trainers.DenseFeedForward(new Dense.DenseFeedForwardMulticlassTrainer.Options
                { HiddenLayerWidths = new[] { 64 }, NumberOfEpochs = 3, BatchSize = 128, NumberOfThreads = 1 })),
        };
        foreach ((string name, IEstimator<ITransformer> trainer) in trainers)
        {
            ITransformer model = mlContext.Transforms.Conversion.MapValueToKey("Label").Append(trainer).Fit(train);
            double accuracy = mlContext.MulticlassClassification.Evaluate(model.Transform(test)).MicroAccuracy;
            Console.WriteLine($"{name}: MNIST subset accuracy {accuracy:F4}");
            Assert.IsGreaterThan(0.85, accuracy, name);
        }
    }
}
