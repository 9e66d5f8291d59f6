using System;
using System.IO;
using System.Linq;
using System.Net.Http;
using System.Threading;
using System.Threading.Tasks;
using FffLoadTest;
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

            // The usual training pipeline keeps its Label mapping: it cannot score rows that hold only Features.
            var mlContext = new MLContext(seed: 0);
            IDataView digits = mlContext.Data.TakeRows(mlContext.Fff().SampleData.Digits(), 200);
            ITransformer withLabel = mlContext.Transforms.Conversion.MapValueToKey("Label")
                .Append(mlContext.MulticlassClassification.Trainers.FastFeedForward(new FastFeedForwardMulticlassTrainer.Options
                {
                    Depth = 1, LeafWidth = 2, NumberOfEpochs = 1, NumberOfThreads = 1,
                }))
                .Fit(digits);
            string labelled = Path.Combine(directory, "labelled.zip");
            mlContext.Model.Save(withLabel, digits.Schema, labelled);
            error = Assert.ThrowsExactly<InvalidOperationException>(() => ServiceProcess.Start(labelled).Dispose());
            StringAssert.Contains(error.Message, "cannot score rows that hold only 'Features'");
            return Task.CompletedTask;
        });
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
