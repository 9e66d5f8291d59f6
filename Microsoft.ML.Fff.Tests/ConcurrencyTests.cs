using System;
using System.Diagnostics;
using System.IO;
using System.Linq;
using System.Runtime.InteropServices;
using System.Threading;
using Microsoft.ML.Data;
using Microsoft.ML.Fff;
using Microsoft.ML.Fff.FastFeedForward;
using Microsoft.VisualStudio.TestTools.UnitTesting;

namespace Microsoft.ML.Fff.Tests;

/// <summary>
/// Scoring one loaded model from many threads at once: a PredictionEngine per thread, and ScoreBatch shared by several
/// threads on the same model parameters, must give exactly the single-threaded scores.
/// </summary>
[TestClass]
public sealed class ConcurrencyTests
{
    private const int EngineThreads = 4;
    private const int BatchThreads = 4;
    private const int TotalPredictions = 1_000_000;

    [TestMethod]
    public void PredictionEnginesPerThreadAndSharedScoreBatchMatchSingleThreadedScoring()
    {
        var clock = Stopwatch.StartNew();
        var mlContext = new MLContext(seed: 0);
        IDataView data = mlContext.Fff().SampleData.Digits();
        ITransformer trained = TestData.MulticlassPrefix(mlContext)
            .Append(mlContext.MulticlassClassification.Trainers.FastFeedForward(new FastFeedForwardMulticlassTrainer.Options
            {
                Depth = 3,
                LeafWidth = 16,
                NumberOfEpochs = 4,
                NumberOfThreads = 1,
            }))
            .Fit(data);
        var stream = new MemoryStream();
        mlContext.Model.Save(trained, data.Schema, stream);
        stream.Position = 0;

        // Everything below scores through the model loaded on a fresh context.
        var fresh = new MLContext(seed: 1);
        ITransformer loaded = fresh.Model.Load(stream, out DataViewSchema inputSchema);
        var chain = (TransformerChain<ITransformer>)loaded;
        // ML.NET loads the last step as MulticlassPredictionTransformer<T> with T the model's runtime type, so the typed
        // cast works on a loaded model just as on a freshly trained one.
        FffMulticlassModelParameters parameters = ((MulticlassPredictionTransformer<FffMulticlassModelParameters>)chain.Last()).Model;
        Assert.AreSame(parameters, ((ISingleFeaturePredictionTransformer<object>)chain.Last()).Model);
        Assert.AreEqual(10, parameters.OutputCount);
        Assert.AreEqual(64, parameters.FeatureCount);
        long trainMs = clock.ElapsedMilliseconds;

        DigitRow[] rows = fresh.Data.CreateEnumerable<DigitRow>(data, reuseRowObject: false).ToArray();
        int rowCount = rows.Length, classes = parameters.OutputCount, width = parameters.FeatureCount;
        float[] features = rows.SelectMany(r => r.Features).ToArray();

        // Single-threaded reference: one PredictionEngine, row by row.
        var referenceEngine = fresh.Model.CreatePredictionEngine<DigitRow, DigitScore>(loaded, inputSchema);
        var expected = new int[rowCount * classes];
        for (int r = 0; r < rowCount; r++)
        {
            float[] score = referenceEngine.Predict(rows[r]).Score;
            Assert.HasCount(classes, score);
            MemoryMarshal.Cast<float, int>(score.AsSpan()).CopyTo(expected.AsSpan(r * classes, classes));
        }
        // ScoreBatch over all rows equals the PredictionEngine's Score column bit for bit.
        var batchAll = new float[rowCount * classes];
        parameters.ScoreBatch(features, batchAll);
        CollectionAssert.AreEqual(expected, EstimatorWorkout.Bits(batchAll), "ScoreBatch differs from PredictionEngine");

        // 4 threads with a PredictionEngine each, 4 threads sharing the model parameters' ScoreBatch; each scores rows
        // round-robin from its own starting row, 1,000,000 predictions in all, each compared with the reference.
        const int threadCount = EngineThreads + BatchThreads;
        const int perThread = TotalPredictions / threadCount;
        var engines = Enumerable.Range(0, EngineThreads)
            .Select(_ => fresh.Model.CreatePredictionEngine<DigitRow, DigitScore>(loaded, inputSchema)).ToArray();
        var predictions = new long[threadCount];
        var mismatches = new long[threadCount];
        var firstMismatch = new string?[threadCount];
        var failures = new Exception?[threadCount];
        var busyMs = new long[threadCount];
        using var go = new ManualResetEventSlim();

        void Engine(int t)
        {
            PredictionEngine<DigitRow, DigitScore> engine = engines[t];
            var prediction = new DigitScore();
            go.Wait();
            int row = t * rowCount / threadCount;
            for (int i = 0; i < perThread; i++, row = row + 1 == rowCount ? 0 : row + 1)
            {
                engine.Predict(rows[row], ref prediction);
                if (!MemoryMarshal.Cast<float, int>(prediction.Score.AsSpan()).SequenceEqual(expected.AsSpan(row * classes, classes)))
                {
                    if (mismatches[t]++ == 0)
                        firstMismatch[t] = $"engine thread {t}, row {row}: [{string.Join(", ", prediction.Score)}]";
                }
                predictions[t]++;
            }
        }

        void Batch(int t)
        {
            int[] batchSizes = { 1, 3, 17, 64, 250 };
            var scores = new float[batchSizes.Max() * classes];
            go.Wait();
            int row = t * rowCount / threadCount, done = 0;
            for (int call = 0; done < perThread; call++)
            {
                int count = Math.Min(Math.Min(batchSizes[(call + t) % batchSizes.Length], rowCount - row), perThread - done);
                Span<float> output = scores.AsSpan(0, count * classes);
                parameters.ScoreBatch(features.AsSpan(row * width, count * width), output);
                ReadOnlySpan<int> want = expected.AsSpan(row * classes, count * classes);
                if (!MemoryMarshal.Cast<float, int>(output).SequenceEqual(want))
                {
                    for (int k = 0; k < count; k++)
                    {
                        if (!MemoryMarshal.Cast<float, int>(output.Slice(k * classes, classes)).SequenceEqual(want.Slice(k * classes, classes)) && mismatches[t]++ == 0)
                            firstMismatch[t] = $"batch thread {t}, row {row + k}: [{string.Join(", ", output.Slice(k * classes, classes).ToArray())}]";
                    }
                }
                predictions[t] += count;
                done += count;
                row += count;
                if (row == rowCount)
                    row = 0;
            }
        }

        clock.Restart();
        var threads = Enumerable.Range(0, threadCount).Select(t => new Thread(() =>
        {
            try
            {
                if (t < EngineThreads)
                    Engine(t);
                else
                    Batch(t);
                busyMs[t] = clock.ElapsedMilliseconds;
            }
            catch (Exception e)
            {
                failures[t] = e;
            }
        }) { IsBackground = true, Name = $"fff-scorer-{t}" }).ToArray();
        foreach (Thread thread in threads)
            thread.Start();
        go.Set();
        foreach (Thread thread in threads)
            Assert.IsTrue(thread.Join(TimeSpan.FromMinutes(5)), $"{thread.Name} did not finish");
        long scoreMs = clock.ElapsedMilliseconds;

        Console.WriteLine($"train + save + load {trainMs} ms; {predictions.Sum():N0} concurrent predictions on {Environment.ProcessorCount} cores in {scoreMs} ms " +
                          $"(engine threads: {predictions.Take(EngineThreads).Sum():N0} done after {busyMs.Take(EngineThreads).Max()} ms; " +
                          $"ScoreBatch threads: {predictions.Skip(EngineThreads).Sum():N0} done after {busyMs.Skip(EngineThreads).Max()} ms)");
        Assert.IsEmpty(failures.OfType<Exception>().ToArray(), string.Join(Environment.NewLine, failures.OfType<Exception>()));
        Assert.AreEqual((long)TotalPredictions, predictions.Sum());
        Assert.AreEqual(0L, mismatches.Sum(), string.Join(Environment.NewLine, firstMismatch.OfType<string>()));
    }

    private sealed class DigitRow
    {
        [VectorType(64)]
        public float[] Features { get; set; } = Array.Empty<float>();

        public float Label { get; set; }
    }

    private sealed class DigitScore
    {
        public float[] Score { get; set; } = Array.Empty<float>();
    }
}
