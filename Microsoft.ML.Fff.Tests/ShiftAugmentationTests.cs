using System;
using System.Linq;
using Microsoft.ML.Data;
using Microsoft.ML.Fff;
using Microsoft.ML.Fff.Dense;
using Microsoft.ML.Fff.FastFeedForward;
using Microsoft.ML.Fff.MixtureOfExperts;
using Microsoft.ML.Fff.Training;
using Microsoft.VisualStudio.TestTools.UnitTesting;

namespace Microsoft.ML.Fff.Tests;

/// <summary>The image shift augmentation (<c>ShiftAugmentation</c>, <c>ImageHeight</c>, <c>ImageWidth</c>) of every trainer.</summary>
[TestClass]
public sealed class ShiftAugmentationTests
{
    [TestMethod]
    public void ShiftImageMovesEveryChannelAndFillsTheBorderWithZero()
    {
        var random = new Random(3);
        foreach ((int channels, int height, int width) in new[] { (1, 1, 1), (1, 5, 7), (3, 4, 9), (2, 8, 8), (1, 13, 3) })
        {
            float[] source = Enumerable.Range(0, channels * height * width).Select(_ => (float)random.NextDouble() + 1).ToArray();
            var actual = new float[source.Length];
            for (int dy = -height + 1; dy < height; dy++)
            {
                for (int dx = -width + 1; dx < width; dx++)
                {
                    Array.Fill(actual, float.NaN);
                    FeedForwardTrainingSession.ShiftImage(source, height, width, dy, dx, actual);
                    for (int c = 0; c < channels; c++)
                    {
                        for (int y = 0; y < height; y++)
                        {
                            for (int x = 0; x < width; x++)
                            {
                                int sy = y - dy, sx = x - dx;
                                float expected = sy >= 0 && sy < height && sx >= 0 && sx < width ? source[(c * height + sy) * width + sx] : 0f;
                                Assert.AreEqual(expected, actual[(c * height + y) * width + x], $"{channels}x{height}x{width}, shift ({dy}, {dx}), pixel ({c}, {y}, {x})");
                            }
                        }
                    }
                }
            }
        }
    }

    /// <summary>
    /// <c>CompareShiftAugmentation</c> (set by <c>Train</c> for images) trains with and without the shifts on the same holdout and
    /// keeps the better; without a holdout it decides on a check slice and trains the winner on all rows. Here the class is which of three adjacent columns holds the ink, so a one-pixel shift blurs the
    /// classes: the kept model is the one trained without shifts, bit for bit, and the log says so.
    /// </summary>
    [TestMethod]
    public void CompareShiftAugmentation_KeepsTheModelThatScoresBetterOnTheHoldout()
    {
        var mlContext = new MLContext(seed: 0);
        var messages = new System.Collections.Concurrent.ConcurrentQueue<string>();
        mlContext.Log += (_, e) => messages.Enqueue(e.Message);
        var random = new Random(5);
        var rows = Enumerable.Range(0, 1_200).Select(i =>
        {
            int label = i % 3;
            var pixels = new float[16 * 16];
            for (int y = 2; y < 14; y++)
                pixels[y * 16 + 6 + label] = 200 + random.Next(50);
            return new ImageRow { Pixels = pixels, Label = label };
        }).ToArray();
        SchemaDefinition schema = SchemaDefinition.Create(typeof(ImageRow));
        schema[nameof(ImageRow.Pixels)].ColumnType = new VectorDataViewType(NumberDataViewType.Single, 256);
        IDataView raw = mlContext.Data.LoadFromEnumerable(rows, schema);
        IDataView data = mlContext.Transforms.Conversion.MapValueToKey("Label").Fit(raw).Transform(raw);

        FastFeedForwardMulticlassTrainer.Options Options(int shift, bool compare, double holdout = 0.2) => new()
        {
            FeatureColumnName = nameof(ImageRow.Pixels), Depth = 1, LeafWidth = 4, NumberOfEpochs = 4, NumberOfThreads = 1, Seed = 3,
            ImageHeight = 16, ImageWidth = 16, ShiftAugmentation = shift, HoldoutFraction = holdout, CompareShiftAugmentation = compare,
        };
        float[] Scores(FastFeedForwardMulticlassTrainer.Options options)
            => mlContext.MulticlassClassification.Trainers.FastFeedForward(options).Fit(data).Transform(data)
                .GetColumn<float[]>("Score").SelectMany(s => s).ToArray();

        float[] compared = Scores(Options(1, compare: true));
        Assert.IsTrue(messages.Any(m => m.Contains("Shift augmentation dropped", StringComparison.Ordinal)), string.Join(Environment.NewLine, messages.TakeLast(5)));
        CollectionAssert.AreEqual(Scores(Options(0, compare: false)), compared, "the kept model is the unshifted run");
        CollectionAssert.AreNotEqual(Scores(Options(1, compare: false)), compared, "the shifted run is another model");

        // Without a validation set: judged on a check slice, then the winner trains on all rows, as if it had been set.
        messages.Clear();
        float[] checkedOnSlice = Scores(Options(1, compare: true, holdout: 0));
        Assert.IsTrue(messages.Any(m => m.Contains("Shift augmentation dropped", StringComparison.Ordinal)), string.Join(Environment.NewLine, messages.TakeLast(5)));
        CollectionAssert.AreEqual(Scores(Options(0, compare: false, holdout: 0)), checkedOnSlice, "the unshifted model trained on all rows");
    }

    private sealed class ImageRow
    {
        public float[] Pixels { get; set; } = Array.Empty<float>();
        public float Label { get; set; }
    }

    [TestMethod]
    public void OptionsAreValidatedWithTheOptionNamed()
    {
        var mlContext = new MLContext(seed: 0);
        void Rejected(string option, string message, Action<FastFeedForwardMulticlassTrainer.Options> set)
        {
            var options = new FastFeedForwardMulticlassTrainer.Options();
            set(options);
            var e = Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => mlContext.MulticlassClassification.Trainers.FastFeedForward(options));
            Assert.AreEqual(option, e.ParamName);
            StringAssert.Contains(e.Message, message);
        }
        Rejected("ShiftAugmentation", "must be at least 0", o => o.ShiftAugmentation = -1);
        Rejected("ImageHeight", "must be at least 0", o => o.ImageHeight = -8);
        Rejected("ImageWidth", "must be at least 0", o => o.ImageWidth = -8);
        Rejected("ShiftAugmentation", "set ImageHeight and ImageWidth", o => o.ShiftAugmentation = 2);
        Rejected("ShiftAugmentation", "set ImageHeight and ImageWidth", o => { o.ShiftAugmentation = 2; o.ImageHeight = 8; });
        Rejected("ShiftAugmentation", "smaller than the image's height and width (8 x 3)", o => { o.ShiftAugmentation = 3; o.ImageHeight = 8; o.ImageWidth = 3; });
        // The image size alone, without a shift, is accepted (it describes the data).
        mlContext.MulticlassClassification.Trainers.FastFeedForward(new FastFeedForwardMulticlassTrainer.Options { ImageHeight = 8, ImageWidth = 8 });
    }

    [TestMethod]
    public void AFeatureColumnThatIsNotWholeImagesIsRejectedAtFit()
    {
        var mlContext = new MLContext(seed: 0);
        IDataView digits = mlContext.Transforms.Conversion.MapValueToKey("Label").Fit(mlContext.Fff().SampleData.Digits())
            .Transform(mlContext.Fff().SampleData.Digits());
        var trainer = mlContext.MulticlassClassification.Trainers.FastFeedForward(new FastFeedForwardMulticlassTrainer.Options
        {
            Depth = 1, LeafWidth = 2, NumberOfEpochs = 1, NumberOfThreads = 1, ShiftAugmentation = 1, ImageHeight = 7, ImageWidth = 7,
        });
        var e = Assert.ThrowsExactly<InvalidOperationException>(() => trainer.Fit(digits));
        StringAssert.Contains(e.Message, "ImageHeight x ImageWidth = 7 x 7 = 49 pixels per channel, but it has 64 values");
        StringAssert.Contains(e.Message, "'Features'");
    }

    [TestMethod]
    public void SparseFeaturesAreRejectedAtFit()
    {
        var mlContext = new MLContext(seed: 0);
        IDataView data = SparseInputTests.SparseData(mlContext, 400, seed: 1);
        var trainer = mlContext.BinaryClassification.Trainers.FastFeedForward(new FastFeedForwardBinaryTrainer.Options
        {
            Depth = 1, LeafWidth = 2, NumberOfEpochs = 1, NumberOfThreads = 1, ShiftAugmentation = 1, ImageHeight = 10, ImageWidth = 10,
        });
        var e = Assert.ThrowsExactly<InvalidOperationException>(() => trainer.Fit(data));
        StringAssert.Contains(e.Message, "needs dense image features");
    }

    [TestMethod]
    public void TheShiftIsSeededAndMakesEveryModelKindRobustToShiftedDigits()
    {
        var mlContext = new MLContext(seed: 0);
        var split = mlContext.Data.TrainTestSplit(mlContext.Fff().SampleData.Digits(), testFraction: 0.2, seed: 0);
        // The test images moved by one pixel in a random direction: what the augmentation trains for.
        var random = new Random(5);
        var shiftedRows = mlContext.Data.CreateEnumerable<DigitsRow>(split.TestSet, reuseRowObject: false).Select(row =>
        {
            int dy, dx;
            do { dy = random.Next(-1, 2); dx = random.Next(-1, 2); } while (dy == 0 && dx == 0);
            var moved = new float[64];
            FeedForwardTrainingSession.ShiftImage(row.Features, 8, 8, dy, dx, moved);
            return new DigitsRow { Features = moved, Label = row.Label };
        }).ToList();
        IDataView shiftedTest = mlContext.Data.LoadFromEnumerable(shiftedRows);

        (float[] Scores, double Accuracy, double ShiftedAccuracy) Run(Func<MLContext, int, IEstimator<ITransformer>> trainer, int shift)
        {
            var ml = new MLContext(seed: 0);
            var model = ml.Transforms.Conversion.MapValueToKey("Label").Append(trainer(ml, shift)).Fit(split.TrainSet);
            IDataView scored = model.Transform(split.TestSet);
            return (EstimatorWorkout.ReadScores(scored), ml.MulticlassClassification.Evaluate(scored).MicroAccuracy,
                ml.MulticlassClassification.Evaluate(model.Transform(shiftedTest)).MicroAccuracy);
        }
        var kinds = new (string Name, Func<MLContext, int, IEstimator<ITransformer>> Trainer)[]
        {
            ("FFF", (ml, shift) => ml.MulticlassClassification.Trainers.FastFeedForward(new FastFeedForwardMulticlassTrainer.Options
                { Depth = 3, LeafWidth = 16, NumberOfEpochs = 30, NumberOfThreads = 1, ShiftAugmentation = shift, ImageHeight = 8, ImageWidth = 8 })),
            ("MoE", (ml, shift) => ml.MulticlassClassification.Trainers.MixtureOfExperts(new MixtureOfExpertsMulticlassTrainer.Options
                { NumberOfExperts = 8, ExpertWidth = 16, NumberOfEpochs = 20, NumberOfThreads = 1, ShiftAugmentation = shift, ImageHeight = 8, ImageWidth = 8 })),
            ("dense", (ml, shift) => ml.MulticlassClassification.Trainers.DenseFeedForward(new DenseFeedForwardMulticlassTrainer.Options
                { HiddenLayerWidths = new[] { 64 }, NumberOfEpochs = 20, NumberOfThreads = 1, ShiftAugmentation = shift, ImageHeight = 8, ImageWidth = 8 })),
        };
        foreach ((string name, var trainer) in kinds)
        {
            var plain = Run(trainer, 0);
            var shifted = Run(trainer, 1);
            Console.WriteLine($"digits, {name}: test accuracy {plain.Accuracy:F4} plain / {shifted.Accuracy:F4} with ShiftAugmentation 1; " +
                              $"on the shifted test images {plain.ShiftedAccuracy:F4} / {shifted.ShiftedAccuracy:F4}");
            CollectionAssert.AreEqual(EstimatorWorkout.Bits(shifted.Scores), EstimatorWorkout.Bits(Run(trainer, 1).Scores), $"{name}: the shifts are seeded");
            CollectionAssert.AreNotEqual(EstimatorWorkout.Bits(plain.Scores), EstimatorWorkout.Bits(shifted.Scores), $"{name}: the shift is applied");
            Assert.IsGreaterThan(plain.ShiftedAccuracy + 0.1, shifted.ShiftedAccuracy, $"{name}: trained on shifted images, it reads shifted images better");
            Assert.IsGreaterThanOrEqualTo(0.75, shifted.Accuracy, name);
        }
    }
}
