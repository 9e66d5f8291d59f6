using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Globalization;
using static System.FormattableString;
using System.IO;
using System.Linq;
using System.Net.Http;
using System.Text.Json;
using System.Threading;
using System.Threading.Tasks;

namespace FffLoadTest;

/// <summary>Outcome of a swap run: hot model swaps under load.</summary>
internal sealed record SwapReport(LoadResult Load, int Swaps, int UnobservedSwaps, int InjectedBadFiles, int BadFilesServed,
    long FailedLoads, long FinalGeneration, int GenerationsInResponses, bool Alive, IReadOnlyList<string> Problems)
{
    public override string ToString() => Invariant($"{Load}\nswaps {Swaps} (unobserved {UnobservedSwaps}), final generation {FinalGeneration}, generations seen in responses {GenerationsInResponses}; ")
        + Invariant($"failed requests {Load.Count(Outcome.Failed)}, mixed responses {Load.Count(Outcome.Mixed)}; bad files written {InjectedBadFiles}, ")
        + Invariant($"served {BadFilesServed}, failed loads reported {FailedLoads}; service alive {Alive}")
        + (Problems.Count > 0 ? "\n  " + string.Join("\n  ", Problems) : "");
}

/// <summary>Outcome of a hostile run: bad requests mixed into good load, plus raw-socket abuse.</summary>
internal sealed record HostileReport(LoadResult Load, long Good, long GoodOk, long Bad, long BadRejected, int RawClients, int RawRejected,
    int Disconnects, long ServiceAborted, long ServiceRejected, long ServiceFailed, bool Alive, bool ServesAfter, IReadOnlyList<string> Problems)
{
    public override string ToString() => Invariant($"{Load}\ngood {GoodOk}/{Good} succeeded; bad {BadRejected}/{Bad} answered 400 with the expected message; raw-socket ")
        + Invariant($"truncated/slow bodies {RawRejected}/{RawClients} answered 400; clients gone mid-body {Disconnects}, counted as aborted {ServiceAborted}; ")
        + Invariant($"service counted {ServiceRejected} rejected, {ServiceFailed} failed (500); ")
        + Invariant($"alive {Alive}, serves afterwards {ServesAfter}") + (Problems.Count > 0 ? "\n  " + string.Join("\n  ", Problems) : "");
}

/// <summary>One sample of the soak.</summary>
internal sealed record SoakSample(double Seconds, long ResidentBytes, long GcHeapBytes, long AllocatedBytes, long Requests);

/// <summary>The runs of the load test; the tests call <see cref="SwapAsync"/> and <see cref="HostileAsync"/> with small bounds.</summary>
internal static class Runs
{
    /// <summary>
    /// Writes model A, starts the service, and under load from <paramref name="clients"/> clients (3 single rows to 1
    /// batch of 64) replaces the file with the other model every <paramref name="period"/>, alternating in-place writes
    /// and rename-over writes. Every 10th step first writes a bad file (truncated, garbage, or a valid model with another
    /// schema) that must be refused while the served model stays. Each swap is waited for on /health before the next.
    /// <paramref name="snapshotDelayMs"/> is passed to the service (<c>--snapshotDelayMs</c>) to hold requests between
    /// their snapshot and their scoring, so that many straddle a swap.
    /// </summary>
    public static async Task<SwapReport> SwapAsync(ServedModels models, string directory, int clients, int swaps, TimeSpan period,
        TimeSpan timeLimit, Action<string>? log = null, int badFileEvery = 10, int snapshotDelayMs = 0)
    {
        string path = Path.Combine(directory, "model.zip");
        File.WriteAllBytes(path, models.A.Bytes);
        using ServiceProcess service = ServiceProcess.Start(path, "--pollMs", "200", "--snapshotDelayMs", snapshotDelayMs.ToString(CultureInfo.InvariantCulture));
        using HttpClient client = ServiceProcess.CreateClient(clients);
        using HttpClient monitor = ServiceProcess.CreateClient(1);
        var traffic = new PredictTraffic(models, service.Address);
        var problems = new List<string>();
        using var stopLoad = new CancellationTokenSource();
        Task<LoadResult> load = LoadDriver.RunAsync("swap", clients, long.MaxValue, timeLimit,
            (sequence, cancel) => traffic.SendGoodAsync(client, sequence, batch: sequence % 4 == 3, cancel), stopLoad.Token);

        var clock = Stopwatch.StartNew();
        ServedModel current = models.A;
        int done = 0, unobserved = 0, injected = 0, badServed = 0;
        var random = new Random(5);
        for (int step = 1; done < swaps && clock.Elapsed < timeLimit - TimeSpan.FromSeconds(2); step++)
        {
            long stepStart = clock.ElapsedMilliseconds;
            if (step % badFileEvery == 0)
            {
                injected++;
                long failedBefore = (await service.HealthAsync(monitor)).GetProperty("failedLoads").GetInt64();
                byte[] bad = (step / badFileEvery % 3) switch
                {
                    0 => current.Bytes.AsSpan(0, current.Bytes.Length / 2).ToArray(),
                    1 => Enumerable.Range(0, 4096).Select(_ => (byte)random.Next(256)).ToArray(),
                    _ => models.WrongSchema,
                };
                File.WriteAllBytes(path, bad);
                JsonElement? after = await WaitForHealthAsync(service, monitor, h => h.GetProperty("failedLoads").GetInt64() > failedBefore);
                if (after is null)
                    problems.Add($"step {step}: the bad file was neither refused nor served within 10 s");
                else if (after.Value.GetProperty("version").GetString() != current.Version)
                {
                    badServed++;
                    problems.Add($"step {step}: after a bad file the service serves {after.Value.GetProperty("version").GetString()}");
                }
            }
            ServedModel next = current == models.A ? models.B : models.A;
            Write(path, next.Bytes, inPlace: step % 2 == 0);
            if (await WaitForHealthAsync(service, monitor, h => h.GetProperty("version").GetString() == next.Version) is null)
            {
                unobserved++;
                problems.Add($"step {step}: the swap to {next.Name} was not observed within 10 s");
            }
            else
            {
                done++;
            }
            current = next;
            if (done % 20 == 0)
                log?.Invoke($"  {done} swaps after {clock.Elapsed.TotalSeconds:F0} s");
            long wait = (long)period.TotalMilliseconds - (clock.ElapsedMilliseconds - stepStart);
            if (wait > 0)
                await Task.Delay(TimeSpan.FromMilliseconds(wait));
        }
        stopLoad.Cancel();
        LoadResult result = await load;
        JsonElement health = await service.HealthAsync(monitor);
        return new SwapReport(result, done, unobserved, injected, badServed, health.GetProperty("failedLoads").GetInt64(),
            health.GetProperty("generation").GetInt64(), traffic.GenerationsSeen, service.IsAlive, problems.Concat(result.FirstProblems).ToArray());
    }

    // In place: truncate and rewrite the watched file (the service may catch it half-written and must not serve that).
    // Otherwise: write a temporary file beside it and rename it over the watched one (the atomic way to deploy).
    private static void Write(string path, byte[] bytes, bool inPlace)
    {
        if (inPlace)
        {
            File.WriteAllBytes(path, bytes);
            return;
        }
        string temporary = path + ".tmp";
        File.WriteAllBytes(temporary, bytes);
        File.Move(temporary, path, overwrite: true);
    }

    private static async Task<JsonElement?> WaitForHealthAsync(ServiceProcess service, HttpClient monitor, Func<JsonElement, bool> condition)
    {
        var clock = Stopwatch.StartNew();
        while (clock.Elapsed < TimeSpan.FromSeconds(10))
        {
            JsonElement health = await service.HealthAsync(monitor);
            if (condition(health))
                return health;
            await Task.Delay(20);
        }
        return null;
    }

    /// <summary>
    /// Starts the service with small limits (<paramref name="maxRows"/> rows, <paramref name="maxBodyBytes"/> bytes, a
    /// 1.5-second body grace) and sends load in which every 10th request is bad, cycling through
    /// <see cref="HostileRequests"/>; meanwhile <paramref name="rawRounds"/> rounds of raw-socket clients send a truncated
    /// body (then silence), a trickled body, and a body cut off by closing the connection.
    /// </summary>
    public static async Task<HostileReport> HostileAsync(ServedModels models, string directory, int clients, long maxRequests, TimeSpan timeLimit,
        int rawRounds, int maxRows = 256, long maxBodyBytes = 256 * 1024)
    {
        string path = Path.Combine(directory, "model.zip");
        File.WriteAllBytes(path, models.A.Bytes);
        var grace = TimeSpan.FromSeconds(1.5);
        using ServiceProcess service = ServiceProcess.Start(path, "--maxRows", maxRows.ToString(CultureInfo.InvariantCulture),
            "--maxBodyBytes", maxBodyBytes.ToString(CultureInfo.InvariantCulture), "--bodyGraceSeconds", grace.TotalSeconds.ToString(CultureInfo.InvariantCulture));
        using HttpClient client = ServiceProcess.CreateClient(clients);
        var traffic = new PredictTraffic(models, service.Address);
        var hostile = new HostileRequests(models, maxRows, maxBodyBytes);
        long good = 0, bad = 0;

        Task<StepResult[]> raw = Task.Run(async () =>
        {
            var results = new List<StepResult>();
            for (int round = 0; round < rawRounds; round++)
            {
                results.Add(await HostileRequests.TruncatedBodyAsync(service.Address, grace));
                results.Add(await HostileRequests.SlowBodyAsync(service.Address, grace));
                await HostileRequests.DisconnectMidBodyAsync(service.Address);
            }
            return results.ToArray();
        });
        LoadResult result = await LoadDriver.RunAsync("hostile", clients, maxRequests, timeLimit, (sequence, cancel) =>
        {
            if (sequence % 10 == 9)
            {
                Interlocked.Increment(ref bad);
                return HostileRequests.SendAsync(client, traffic.Predict, hostile.Requests[(int)(sequence / 10 % hostile.Requests.Count)], cancel);
            }
            Interlocked.Increment(ref good);
            return traffic.SendGoodAsync(client, sequence, batch: sequence % 5 == 2, cancel);
        });
        StepResult[] rawResults = await raw;

        bool servesAfter = (await traffic.SendGoodAsync(client, 0, batch: false, CancellationToken.None)).Outcome == Outcome.Ok;
        JsonElement health = await service.HealthAsync(client);
        var problems = result.FirstProblems.Concat(rawResults.Where(r => r.Detail is not null).Select(r => r.Detail!)).ToList();
        return new HostileReport(result, good, result.Count(Outcome.Ok), bad, result.Count(Outcome.Rejected), rawResults.Length,
            rawResults.Count(r => r.Outcome == Outcome.Rejected), rawRounds, health.GetProperty("aborted").GetInt64(), health.GetProperty("rejected").GetInt64(), health.GetProperty("failed").GetInt64(),
            service.IsAlive, servesAfter, problems);
    }

    /// <summary>
    /// Throughput and latency of /noop (the HTTP floor), single rows and batches of 64 at each client count, after a short
    /// warm-up; each run ends at <paramref name="maxRequests"/> or <paramref name="each"/>.
    /// </summary>
    public static async Task<List<LoadResult>> BenchAsync(ServedModels models, string directory, int[] clientCounts, TimeSpan each, long maxRequests,
        Action<string> log)
    {
        string path = Path.Combine(directory, "model.zip");
        File.WriteAllBytes(path, models.A.Bytes);
        using ServiceProcess service = ServiceProcess.Start(path);
        using HttpClient client = ServiceProcess.CreateClient(clientCounts.Max());
        var traffic = new PredictTraffic(models, service.Address);
        await LoadDriver.RunAsync("warm-up", 8, 20_000, TimeSpan.FromSeconds(3),
            (s, c) => s % 2 == 0 ? traffic.SendGoodAsync(client, s, batch: s % 4 == 0, c) : traffic.SendNoopAsync(client, s, c));
        var results = new List<LoadResult>();
        foreach ((string name, LoadDriver.Step step) in new (string, LoadDriver.Step)[]
        {
            ("noop (HTTP floor)", (s, c) => traffic.SendNoopAsync(client, s, c)),
            ("predict 1 row", (s, c) => traffic.SendGoodAsync(client, s, batch: false, c)),
            ("predict batch of 64", (s, c) => traffic.SendGoodAsync(client, s, batch: true, c)),
        })
        {
            foreach (int clients in clientCounts)
            {
                LoadResult result = await LoadDriver.RunAsync(name, clients, maxRequests, each, step);
                results.Add(result);
                log(result.ToString());
                foreach (string problem in result.FirstProblems.Take(3))
                    log("    " + problem);
            }
        }
        return results;
    }

    /// <summary>Per-row PredictionEngine latency in this process on model A: (p50, p99) in milliseconds over <paramref name="predictions"/>.</summary>
    public static (double P50Ms, double P99Ms) InProcessLatency(ServedModels models, int predictions)
    {
        var engine = ServedModels.InProcessEngine(models.A.Bytes);
        var rows = Enumerable.Range(0, models.RowCount)
            .Select(r => new ServedModels.FeaturesRow { Features = models.Features.AsSpan(r * ServedModels.FeatureCount, ServedModels.FeatureCount).ToArray() })
            .ToArray();
        var output = new ServedModels.ScoreRow();
        for (int i = 0; i < 2000; i++)
            engine.Predict(rows[i % rows.Length], ref output);
        var ticks = new long[predictions];
        for (int i = 0; i < predictions; i++)
        {
            long start = Stopwatch.GetTimestamp();
            engine.Predict(rows[i % rows.Length], ref output);
            ticks[i] = Stopwatch.GetTimestamp() - start;
        }
        Array.Sort(ticks);
        return (LoadDriver.Percentile(ticks, 0.5), LoadDriver.Percentile(ticks, 0.99));
    }

    /// <summary>
    /// The soak: <paramref name="clients"/> clients (7 single rows to 1 batch of 64) for <paramref name="duration"/>,
    /// sampling the service's RSS and its /health counters every <paramref name="sampleEvery"/>.
    /// </summary>
    public static async Task<(LoadResult Load, List<SoakSample> Samples, bool Alive)> SoakAsync(ServedModels models, string directory, int clients,
        TimeSpan duration, TimeSpan sampleEvery, Action<string> log)
    {
        string path = Path.Combine(directory, "model.zip");
        File.WriteAllBytes(path, models.A.Bytes);
        using ServiceProcess service = ServiceProcess.Start(path);
        using HttpClient client = ServiceProcess.CreateClient(clients);
        using HttpClient monitor = ServiceProcess.CreateClient(1);
        var traffic = new PredictTraffic(models, service.Address);
        var samples = new List<SoakSample>();
        var clock = Stopwatch.StartNew();
        Task<LoadResult> load = LoadDriver.RunAsync("soak", clients, long.MaxValue, duration,
            (sequence, cancel) => traffic.SendGoodAsync(client, sequence, batch: sequence % 8 == 7, cancel));
        while (!load.IsCompleted)
        {
            JsonElement health = await service.HealthAsync(monitor);
            var sample = new SoakSample(clock.Elapsed.TotalSeconds, service.ResidentBytes(), health.GetProperty("gcHeapBytes").GetInt64(),
                health.GetProperty("allocatedBytes").GetInt64(), health.GetProperty("requests").GetInt64());
            samples.Add(sample);
            log(Invariant($"  {sample.Seconds,5:F0} s: RSS {sample.ResidentBytes / 1048576.0,6:F1} MiB, GC heap {sample.GcHeapBytes / 1048576.0,6:F1} MiB, requests {sample.Requests,9:N0}"));
            await Task.WhenAny(load, Task.Delay(sampleEvery));
        }
        return (await load, samples, service.IsAlive);
    }
}
