using System;
using System.IO;
using System.Linq;
using System.Net.Http;
using System.Text.Json;
using System.Threading;
using System.Threading.Tasks;
using FffLoadTest;
using Microsoft.ML.Data;
using Microsoft.ML.Fff.FastFeedForward;
using Microsoft.VisualStudio.TestTools.UnitTesting;

namespace Microsoft.ML.Fff.Tests;

/// <summary>
/// samples/FffServing as its own process on 127.0.0.1 (docs/serving.md): short versions of the load test's swap and hostile
/// runs (tools/FffLoadTest, whose code is compiled in here), the refusal of unservable models at start, and the checks
/// those runs rely on to tell a right answer from a wrong one.
/// </summary>
[TestClass]
public sealed class ServingTests
{
    private static ServedModels? _models;

    /// <summary>Models A and B (digits) and the wrong-schema model, trained once for the class (about a second).</summary>
    private static ServedModels Models => LazyInitializer.EnsureInitialized(ref _models, () => ServedModels.Train(epochs: 2));

    private static async Task InTemporaryDirectory(Func<string, Task> body)
    {
        string directory = Path.Combine(Path.GetTempPath(), "fff-serving-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(directory);
        try
        {
            await body(directory);
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    [TestMethod]
    public async Task HotSwapsUnderLoadNeverFailARequestOrMixTwoModels()
    {
        await InTemporaryDirectory(async directory =>
        {
            // 12 swaps, 150 ms apart, under 16 clients; every 3rd step first writes a bad file (garbage, a model with
            // another schema, a truncated zip), which must be refused while the served model stays. The service holds each
            // request 20 ms between its model snapshot and its scoring, so about one request in seven straddles a swap and
            // must still be scored, whole, by the model it started with.
            SwapReport report = await Runs.SwapAsync(Models, directory, clients: 16, swaps: 12, TimeSpan.FromMilliseconds(150),
                TimeSpan.FromSeconds(60), badFileEvery: 3, snapshotDelayMs: 20);
            Console.WriteLine(report);
            Assert.AreEqual(0L, report.Load.Count(Outcome.Failed), report.ToString());
            Assert.AreEqual(0L, report.Load.Count(Outcome.Mixed), report.ToString());
            Assert.AreEqual(12, report.Swaps, report.ToString());
            Assert.AreEqual(0, report.UnobservedSwaps, report.ToString());
            Assert.AreEqual(4, report.InjectedBadFiles);
            Assert.AreEqual(0, report.BadFilesServed, report.ToString());
            Assert.IsGreaterThanOrEqualTo(4L, report.FailedLoads, report.ToString());
            Assert.AreEqual(13L, report.FinalGeneration, "one generation per successful load, none for refused files");
            Assert.IsGreaterThan(1, report.GenerationsInResponses, "requests ran across swaps");
            Assert.IsGreaterThan(300L, report.Load.Count(Outcome.Ok));
            Assert.IsTrue(report.Alive);
        });
    }

    [TestMethod]
    public async Task HostileRequestsGet400WithMessagesWhileGoodRequestsSucceed()
    {
        await InTemporaryDirectory(async directory =>
        {
            // 4,000 requests, every 10th bad (each kind of bad request about 17 times), plus one truncated, one trickled
            // and one cut-off body over raw sockets.
            HostileReport report = await Runs.HostileAsync(Models, directory, clients: 8, maxRequests: 4000, TimeSpan.FromSeconds(60), rawRounds: 1);
            Console.WriteLine(report);
            Assert.AreEqual(4000L, report.Load.Requests, report.ToString());
            Assert.AreEqual(3600L, report.Good);
            Assert.AreEqual(report.Good, report.GoodOk, report.ToString());
            Assert.AreEqual(400L, report.Bad);
            Assert.AreEqual(report.Bad, report.BadRejected, report.ToString());
            Assert.AreEqual(2, report.RawClients);
            Assert.AreEqual(report.RawClients, report.RawRejected, report.ToString());
            Assert.AreEqual(0L, report.ServiceFailed, "no request may end in a 500");
            Assert.IsTrue(report.Alive);
            Assert.IsTrue(report.ServesAfter);
        });
    }

    [TestMethod]
    public async Task EveryKindOfBadRequestIsNamedInItsMessage()
    {
        await InTemporaryDirectory(async directory =>
        {
            string path = Path.Combine(directory, "model.zip");
            File.WriteAllBytes(path, Models.A.Bytes);
            using ServiceProcess service = ServiceProcess.Start(path, "--maxRows", "64", "--maxBodyBytes", "65536");
            using HttpClient client = ServiceProcess.CreateClient(1);
            var hostile = new HostileRequests(Models, maxRows: 64, maxBodyBytes: 65536);
            foreach (BadRequest bad in hostile.Requests)
            {
                StepResult result = await HostileRequests.SendAsync(client, new Uri(service.Address, "predict"), bad, CancellationToken.None);
                Assert.AreEqual(Outcome.Rejected, result.Outcome, result.Detail);
            }
            // Finite but huge features: the scores may overflow (then 400 naming it, since JSON cannot carry them), never a 500.
            string huge = "{\"features\":[" + string.Join(",", Enumerable.Repeat("3e38", ServedModels.FeatureCount)) + "]}";
            using (HttpResponseMessage response = await client.PostAsync(new Uri(service.Address, "predict"), PredictTraffic.Json(System.Text.Encoding.UTF8.GetBytes(huge))))
            {
                string answer = await response.Content.ReadAsStringAsync();
                Assert.IsTrue((int)response.StatusCode == 200 || HostileRequests.Judge("huge", "are not finite", (int)response.StatusCode, answer).Outcome == Outcome.Rejected, answer);
            }
            var traffic = new PredictTraffic(Models, service.Address);
            foreach (bool batch in new[] { false, true })
            {
                StepResult good = await traffic.SendGoodAsync(client, 3, batch, CancellationToken.None);
                Assert.AreEqual(Outcome.Ok, good.Outcome, good.Detail);
            }
        });
    }

    [TestMethod]
    public async Task UnservableModelsStopTheServiceAtStartWithTheReason()
    {
        await InTemporaryDirectory(directory =>
        {
            string corrupt = Path.Combine(directory, "corrupt.zip");
            File.WriteAllBytes(corrupt, Models.A.Bytes.AsSpan(0, Models.A.Bytes.Length / 3).ToArray());
            var error = Assert.ThrowsExactly<InvalidOperationException>(() => ServiceProcess.Start(corrupt).Dispose());
            StringAssert.Contains(error.Message, "FffServing cannot start: The model file");
            StringAssert.Contains(error.Message, "cannot be served: not a loadable ML.NET model");

            // A column other than Features feeds the scores: the service only takes Features, so it refuses and names it.
            // (The usual Label mapping alone is served now: ReadmePipelineSavedWholeIsServedLikeTheInProcessEngine.)
            var mlContext = new MLContext(seed: 0);
            IDataView digits = mlContext.Transforms.CopyColumns("Extra", "Label").Fit(mlContext.Fff().SampleData.Digits()).Transform(mlContext.Fff().SampleData.Digits());
            ITransformer withExtra = mlContext.Transforms.Concatenate("Features", "Features", "Extra")
                .Append(mlContext.Transforms.Conversion.MapValueToKey("Label"))
                .Append(mlContext.MulticlassClassification.Trainers.FastFeedForward(new FastFeedForwardMulticlassTrainer.Options
                {
                    Depth = 1, LeafWidth = 2, NumberOfEpochs = 1, NumberOfThreads = 1,
                }))
                .Fit(mlContext.Data.TakeRows(digits, 200));
            string labelled = Path.Combine(directory, "extra.zip");
            mlContext.Model.Save(withExtra, digits.Schema, labelled);
            error = Assert.ThrowsExactly<InvalidOperationException>(() => ServiceProcess.Start(labelled).Dispose());
            StringAssert.Contains(error.Message, "cannot score rows that hold only 'Features'");
            StringAssert.Contains(error.Message, "computes 'Features' from 'Extra', and the service only takes 'Features'");
            return Task.CompletedTask;
        });
    }

    [TestMethod]
    public async Task ReadmePipelineSavedWholeIsServedLikeTheInProcessEngine()
    {
        // The README's "Use" pipeline: label mapping, trainer, key back to the label value, saved as one file.
        var mlContext = new MLContext(seed: 0);
        await ServesLikeTheInProcessEngine(mlContext, mlContext.Transforms.Conversion.MapValueToKey("Label")
            .Append(mlContext.MulticlassClassification.Trainers.FastFeedForward(SmallDigits()))
            .Append(mlContext.Transforms.Conversion.MapKeyToValue("PredictedLabel")), expectPrefix: false);
    }

    [TestMethod]
    public async Task NormalizedPipelineBatchesScoreLikeTheInProcessEngine()
    {
        // A step before the trainer rewrites Features: batches must pass through it before ScoreBatch.
        var mlContext = new MLContext(seed: 0);
        await ServesLikeTheInProcessEngine(mlContext, mlContext.Transforms.NormalizeMinMax("Features")
            .Append(mlContext.Transforms.Conversion.MapValueToKey("Label"))
            .Append(mlContext.MulticlassClassification.Trainers.FastFeedForward(SmallDigits()))
            .Append(mlContext.Transforms.Conversion.MapKeyToValue("PredictedLabel")), expectPrefix: true);
    }

    [TestMethod]
    public async Task BinaryPipelineAnswersPredictedLabelLikeTheInProcessEngine()
    {
        // Binary: one score per row and a Boolean PredictedLabel; with a normalizer first, so batches take the prefix path.
        await InTemporaryDirectory(async directory =>
        {
            var mlContext = new MLContext(seed: 0);
            IDataView cancer = mlContext.Fff().SampleData.BreastCancer();
            string path = Path.Combine(directory, "binary.zip");
            mlContext.Model.Save(mlContext.Transforms.NormalizeMinMax("Features")
                .Append(mlContext.BinaryClassification.Trainers.FastFeedForward(new FastFeedForwardBinaryTrainer.Options
                {
                    Depth = 2, LeafWidth = 4, NumberOfEpochs = 2, Seed = 3, NumberOfThreads = 1,
                }))
                .Fit(cancer), cancer.Schema, path);
            var engine = mlContext.Model.CreatePredictionEngine<CancerInput, CancerOutput>(mlContext.Model.Load(path, out _));
            CancerInput[] inputs = mlContext.Data.CreateEnumerable<CancerInput>(cancer, reuseRowObject: false).Where((_, i) => i % 23 == 0).ToArray();
            CancerOutput[] expected = inputs.Select(row => engine.Predict(row)).ToArray();
            Assert.HasCount(2, expected.Select(e => e.PredictedLabel).Distinct().ToArray(), "both labels should occur");

            using ServiceProcess service = ServiceProcess.Start(path);
            using HttpClient client = ServiceProcess.CreateClient(1);
            using JsonDocument one = await PredictAsync(client, service, JsonSerializer.Serialize(new { features = inputs[0].Features }));
            Assert.AreEqual(BitConverter.SingleToInt32Bits(expected[0].Score), BitConverter.SingleToInt32Bits(one.RootElement.GetProperty("scores")[0].GetSingle()));
            Assert.AreEqual(expected[0].PredictedLabel, one.RootElement.GetProperty("predictedLabel").GetBoolean());
            using JsonDocument batch = await PredictAsync(client, service, JsonSerializer.Serialize(new { rows = inputs.Select(r => r.Features) }));
            JsonElement[] scores = batch.RootElement.GetProperty("scores").EnumerateArray().ToArray();
            JsonElement[] labels = batch.RootElement.GetProperty("predictedLabel").EnumerateArray().ToArray();
            for (int r = 0; r < inputs.Length; r++)
            {
                Assert.AreEqual(BitConverter.SingleToInt32Bits(expected[r].Score), BitConverter.SingleToInt32Bits(scores[r][0].GetSingle()), $"batch row {r}");
                Assert.AreEqual(expected[r].PredictedLabel, labels[r].GetBoolean(), $"batch row {r}");
            }
        });
    }

    private sealed class CancerInput
    {
        [VectorType(30)]
        public float[] Features { get; set; } = Array.Empty<float>();
    }

    private sealed class CancerOutput
    {
        public float Score { get; set; }

        public bool PredictedLabel { get; set; }
    }

    private static FastFeedForwardMulticlassTrainer.Options SmallDigits() => new()
    {
        Depth = 2, LeafWidth = 8, NumberOfEpochs = 2, Seed = 5, NumberOfThreads = 1,
    };

    /// <summary>Fits <paramref name="pipeline"/> on digits, saves it whole, serves the file and requires one row and a batch
    /// to answer the in-process PredictionEngine's scores bit for bit and its PredictedLabel.</summary>
    private static async Task ServesLikeTheInProcessEngine(MLContext mlContext, IEstimator<ITransformer> pipeline, bool expectPrefix)
    {
        await InTemporaryDirectory(async directory =>
        {
            IDataView digits = mlContext.Fff().SampleData.Digits();
            string path = Path.Combine(directory, "model.zip");
            mlContext.Model.Save(pipeline.Fit(digits), digits.Schema, path);
            // The reference: the saved file scored in process the README's way (an input class with Features and Label).
            var engine = mlContext.Model.CreatePredictionEngine<DigitInput, DigitOutput>(mlContext.Model.Load(path, out _));
            DigitInput[] inputs = mlContext.Data.CreateEnumerable<DigitInput>(digits, reuseRowObject: false).Where((_, i) => i % 97 == 0).ToArray();
            DigitOutput[] expected = inputs.Select(row => engine.Predict(new DigitInput { Features = row.Features })).ToArray();
            Assert.IsGreaterThan(2, expected.Select(e => e.PredictedLabel).Distinct().Count(), "the rows should not all get one label");

            using ServiceProcess service = ServiceProcess.Start(path);
            using HttpClient client = ServiceProcess.CreateClient(1);
            JsonElement health = await service.HealthAsync(client);
            Assert.AreEqual(expectPrefix, health.GetProperty("transformsBeforePredictor").GetBoolean(), health.ToString());
            Assert.IsTrue(health.GetProperty("predictedLabel").GetBoolean(), health.ToString());
            using JsonDocument one = await PredictAsync(client, service, JsonSerializer.Serialize(new { features = inputs[0].Features }));
            AssertRow(expected[0], one.RootElement.GetProperty("scores"), one.RootElement.GetProperty("predictedLabel"), "one row");
            using JsonDocument batch = await PredictAsync(client, service, JsonSerializer.Serialize(new { rows = inputs.Select(r => r.Features) }));
            JsonElement[] scores = batch.RootElement.GetProperty("scores").EnumerateArray().ToArray();
            JsonElement[] labels = batch.RootElement.GetProperty("predictedLabel").EnumerateArray().ToArray();
            Assert.HasCount(inputs.Length, scores);
            Assert.HasCount(inputs.Length, labels);
            for (int r = 0; r < inputs.Length; r++)
                AssertRow(expected[r], scores[r], labels[r], $"batch row {r}");
        });
    }

    private static async Task<JsonDocument> PredictAsync(HttpClient client, ServiceProcess service, string body)
    {
        using HttpResponseMessage response = await client.PostAsync(new Uri(service.Address, "predict"), PredictTraffic.Json(System.Text.Encoding.UTF8.GetBytes(body)));
        string answer = await response.Content.ReadAsStringAsync();
        Assert.AreEqual(200, (int)response.StatusCode, answer);
        return JsonDocument.Parse(answer);
    }

    private static void AssertRow(DigitOutput expected, JsonElement scores, JsonElement predictedLabel, string where)
    {
        float[] served = scores.EnumerateArray().Select(s => s.GetSingle()).ToArray();
        CollectionAssert.AreEqual(expected.Score.Select(BitConverter.SingleToInt32Bits).ToArray(), served.Select(BitConverter.SingleToInt32Bits).ToArray(),
            $"{where}: scores {string.Join(",", served)} vs engine {string.Join(",", expected.Score)}");
        Assert.AreEqual(expected.PredictedLabel, predictedLabel.GetSingle(), where);
    }

    private sealed class DigitInput
    {
        [VectorType(ServedModels.FeatureCount)]
        public float[] Features { get; set; } = Array.Empty<float>();

        public float Label { get; set; }
    }

    private sealed class DigitOutput
    {
        public float[] Score { get; set; } = Array.Empty<float>();

        public float PredictedLabel { get; set; }
    }

    [TestMethod]
    public void TheRunsCheckersTellRightAnswersFromWrongOnes()
    {
        ServedModels models = Models;
        float[] aScores = models.A.Expected.AsSpan(5 * ServedModels.OutputCount, 2 * ServedModels.OutputCount).ToArray();
        float[] bScores = models.B.Expected.AsSpan(5 * ServedModels.OutputCount, 2 * ServedModels.OutputCount).ToArray();
        Assert.IsNull(models.Check(models.A.Version, 5, aScores));
        Assert.IsNull(models.Check(models.B.Version, 5, bScores));
        StringAssert.Contains(models.Check(models.A.Version, 5, bScores), "the whole response is B's");
        float[] mixed = aScores.Take(ServedModels.OutputCount).Concat(bScores.Skip(ServedModels.OutputCount)).ToArray();
        StringAssert.Contains(models.Check(models.A.Version, 5, mixed), "row 6");
        StringAssert.Contains(models.Check("0123456789abcdef", 5, aScores), "neither A");

        Assert.AreEqual(Outcome.Rejected, HostileRequests.Judge("x", "expects 64", 400, "{\"error\":\"features has 63 values; the model expects 64.\"}").Outcome);
        Assert.AreEqual(Outcome.Mishandled, HostileRequests.Judge("x", "expects 64", 400, "{\"error\":\"something else\"}").Outcome);
        Assert.AreEqual(Outcome.Mishandled, HostileRequests.Judge("x", "expects 64", 500, "{\"error\":\"features has 63 values; the model expects 64.\"}").Outcome);
        Assert.AreEqual(Outcome.Mishandled, HostileRequests.Judge("x", "expects 64", 400, "not json").Outcome);
    }
}
