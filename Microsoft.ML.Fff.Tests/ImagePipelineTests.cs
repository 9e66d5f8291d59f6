using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using Microsoft.ML.Data;
using Microsoft.ML.Fff.FastFeedForward;
using Microsoft.ML.Fff.Samples;
using Microsoft.ML.Fff.Tools;
using Microsoft.ML.Transforms;
using Microsoft.ML.Transforms.Image;
using Microsoft.VisualStudio.TestTools.UnitTesting;

namespace Microsoft.ML.Fff.Tests;

/// <summary>
/// Images on disk through ML.NET's image transforms (Microsoft.ML.ImageAnalytics: LoadImages, ResizeImages, ExtractPixels;
/// SkiaSharp underneath) into our trainers. Small generated PNG folders, so no download is needed; the MNIST folders are
/// covered by SampleTests (samples/FffImages compares with the idx-trained model).
/// </summary>
[TestClass]
public sealed class ImagePipelineTests
{
    private const int Height = 12, Width = 10;

    /// <summary>A folder {root}/{label}/{index}.png of <paramref name="rows"/> grayscale images, three classes (a bright band left, middle or right).</summary>
    private static (string Root, byte[] Pixels, byte[] Labels) WriteImages(int rows, int seed)
    {
        var random = new Random(seed);
        var pixels = new byte[rows * Height * Width];
        var labels = new byte[rows];
        for (int r = 0; r < rows; r++)
        {
            labels[r] = (byte)random.Next(3);
            for (int y = 0; y < Height; y++)
            {
                for (int x = 0; x < Width; x++)
                {
                    bool band = x * 3 / Width == labels[r];
                    pixels[(r * Height + y) * Width + x] = (byte)(band ? random.Next(150, 256) : random.Next(0, 110));
                }
            }
        }
        string root = Path.Combine(Path.GetTempPath(), "fff-images-" + Guid.NewGuid().ToString("N"));
        MnistPng.WriteImages(pixels, labels, Height, Width, root);
        return (root, pixels, labels);
    }

    private static IEstimator<ITransformer> ImageStages(MLContext mlContext, string root)
        => mlContext.Transforms.LoadImages("Image", root, nameof(ImageFile.ImagePath))
            .Append(mlContext.Transforms.ResizeImages("Image", Width, Height, "Image", ImageResizingEstimator.ResizingKind.Fill))
            .Append(mlContext.Transforms.ExtractPixels("Features", "Image", ImagePixelExtractingEstimator.ColorBits.Red));

    [TestMethod]
    public void PngFolderGivesTheExactPixelsInFileNumberOrder()
    {
        (string root, byte[] pixels, byte[] labels) = WriteImages(40, seed: 1);
        try
        {
            List<ImageFile> files = ImageFolder.List(root);
            Assert.HasCount(40, files);
            CollectionAssert.AreEqual(Enumerable.Range(0, 40).Select(i => labels[i].ToString()).ToArray(), files.Select(f => f.Label).ToArray());
            var mlContext = new MLContext(seed: 0);
            IDataView features = ImageStages(mlContext, root).Fit(mlContext.Data.LoadFromEnumerable(files))
                .Transform(mlContext.Data.LoadFromEnumerable(files));
            Assert.AreEqual(Height * Width, ((VectorDataViewType)features.Schema["Features"].Type).Size);
            int r = 0;
            using (DataViewRowCursor cursor = features.GetRowCursor(new[] { features.Schema["Features"] }))
            {
                ValueGetter<VBuffer<float>> getter = cursor.GetGetter<VBuffer<float>>(features.Schema["Features"]);
                var row = default(VBuffer<float>);
                for (; cursor.MoveNext(); r++)
                {
                    getter(ref row);
                    float[] expected = pixels.AsSpan(r * Height * Width, Height * Width).ToArray().Select(p => (float)p).ToArray();
                    CollectionAssert.AreEqual(expected, row.DenseValues().ToArray(), $"image {r}: pixels must round-trip exactly (0..255, row by row)");
                }
            }
            Assert.AreEqual(40, r);
            Assert.HasCount(7, ImageFolder.List(root, maxRows: 7));
        }
        finally
        {
            Directory.Delete(root, recursive: true);
        }
    }

    [TestMethod]
    public void EveryArchitectureTrainsFromImageFilesAndScoresSingleImagesAfterReload()
    {
        (string root, _, _) = WriteImages(300, seed: 2);
        try
        {
            var mlContext = new MLContext(seed: 0);
            List<ImageFile> files = ImageFolder.List(root);
            IDataView train = mlContext.Data.LoadFromEnumerable(files.Take(220));
            IDataView test = mlContext.Data.LoadFromEnumerable(files.Skip(220));
            var trainers = new (string Name, IEstimator<ITransformer> Trainer)[]
            {
                ("FFF", mlContext.MulticlassClassification.Trainers.FastFeedForward(new FastFeedForwardMulticlassTrainer.Options { Depth = 2, LeafWidth = 8, NumberOfEpochs = 15, Seed = 1, NumberOfThreads = 1 })),
                ("MoE", mlContext.MulticlassClassification.Trainers.MixtureOfExperts(new MixtureOfExperts.MixtureOfExpertsMulticlassTrainer.Options { NumberOfExperts = 4, ExpertWidth = 8, NumberOfEpochs = 15, Seed = 1, NumberOfThreads = 1 })),
                ("dense", mlContext.MulticlassClassification.Trainers.DenseFeedForward(new Dense.DenseFeedForwardMulticlassTrainer.Options { HiddenLayerWidths = new[] { 16 }, NumberOfEpochs = 15, Seed = 1, NumberOfThreads = 1 })),
            };
            foreach ((string name, IEstimator<ITransformer> trainer) in trainers)
            {
                ITransformer model = mlContext.Transforms.Conversion.MapValueToKey("Label", keyOrdinality: ValueToKeyMappingEstimator.KeyOrdinality.ByValue)
                    .Append(ImageStages(mlContext, root))
                    .Append(trainer)
                    .Append(mlContext.Transforms.Conversion.MapKeyToValue("PredictedLabel"))
                    .Fit(train);
                IDataView scored = model.Transform(test);
                double accuracy = mlContext.MulticlassClassification.Evaluate(scored).MicroAccuracy;
                Assert.IsGreaterThanOrEqualTo(0.9, accuracy, $"{name}: accuracy from image files");

                string path = Path.Combine(root, name + ".zip");
                mlContext.Model.Save(model, train.Schema, path);
                var fresh = new MLContext(seed: 5);
                var engine = fresh.Model.CreatePredictionEngine<ImageFile, ImagePrediction>(fresh.Model.Load(path, out _));
                float[][] batchScores = mlContext.Data.CreateEnumerable<ImagePrediction>(scored, reuseRowObject: false).Select(p => p.Score).ToArray();
                List<ImageFile> testFiles = files.Skip(220).ToList();
                for (int i = 0; i < 10; i++)
                {
                    // The label is unknown when scoring: MapValueToKey maps the empty string to the missing key.
                    ImagePrediction single = engine.Predict(new ImageFile { ImagePath = testFiles[i].ImagePath });
                    CollectionAssert.AreEqual(batchScores[i], single.Score, $"{name}: single image {i} after reload");
                }
            }
        }
        finally
        {
            Directory.Delete(root, recursive: true);
        }
    }

    [TestMethod]
    public void MissingOrEmptyImageFolderIsNamed()
    {
        string missing = Path.Combine(Path.GetTempPath(), "no-such-images-" + Guid.NewGuid().ToString("N"));
        var e = Assert.ThrowsExactly<DirectoryNotFoundException>(() => ImageFolder.List(missing));
        StringAssert.Contains(e.Message, missing);
        Directory.CreateDirectory(missing);
        try
        {
            Assert.ThrowsExactly<InvalidDataException>(() => ImageFolder.List(missing));
        }
        finally
        {
            Directory.Delete(missing);
        }
    }

    [TestMethod]
    public void PngEncoderWritesValidGrayscaleFiles()
    {
        byte[] gray = Enumerable.Range(0, 6).Select(i => (byte)(i * 40)).ToArray();
        byte[] png = MnistPng.EncodeGray(gray, 3, 2);
        string path = Path.Combine(Path.GetTempPath(), "fff-" + Guid.NewGuid().ToString("N") + ".png");
        File.WriteAllBytes(path, png);
        try
        {
            using MLImage image = MLImage.CreateFromFile(path);
            Assert.AreEqual(3, image.Width);
            Assert.AreEqual(2, image.Height);
            ReadOnlySpan<byte> bgra = image.Pixels;
            for (int i = 0; i < gray.Length; i++)
                Assert.AreEqual(gray[i], bgra[i * 4 + (image.PixelFormat == MLPixelFormat.Bgra32 ? 2 : 0)], $"pixel {i}");
        }
        finally
        {
            File.Delete(path);
        }
        Assert.ThrowsExactly<ArgumentException>(() => MnistPng.EncodeGray(gray, 4, 2));
    }

    private sealed class ImagePrediction
    {
        public string PredictedLabel { get; set; } = "";

        public float[] Score { get; set; } = Array.Empty<float>();
    }
}
