using System;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.Diagnostics;
using System.Globalization;
using static System.FormattableString;
using System.Linq;
using System.Net.Http;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using System.Threading;
using System.Threading.Tasks;

namespace FffLoadTest;

/// <summary>How one request ended.</summary>
internal enum Outcome
{
    /// <summary>A good request answered 200 with the claimed model's exact scores.</summary>
    Ok,
    /// <summary>A good request that got no 200 (or no answer): a failed request.</summary>
    Failed,
    /// <summary>A 200 whose scores are not those of the model version it claims, or whose version is unknown.</summary>
    Mixed,
    /// <summary>A bad request answered 400 with a message that names its problem.</summary>
    Rejected,
    /// <summary>A bad request answered any other way.</summary>
    Mishandled,
}

/// <summary>What one request step reports to the driver.</summary>
internal readonly record struct StepResult(Outcome Outcome, int Rows, string? Detail = null);

/// <summary>One load run's counts and latency percentiles.</summary>
internal sealed record LoadResult(string Name, int Clients, double Seconds, IReadOnlyDictionary<Outcome, long> Counts, long Rows,
    double P50Ms, double P99Ms, double P999Ms, IReadOnlyList<string> FirstProblems)
{
    public long Requests => Counts.Values.Sum();

    public long Count(Outcome outcome) => Counts.TryGetValue(outcome, out long n) ? n : 0;

    public double RequestsPerSecond => Requests / Seconds;

    public double RowsPerSecond => Rows / Seconds;

    /// <summary>Requests that did not end as they should: failed, mixed or mishandled.</summary>
    public long Errors => Count(Outcome.Failed) + Count(Outcome.Mixed) + Count(Outcome.Mishandled);

    public override string ToString() => Invariant($"{Name,-22} clients {Clients,3}: {Requests,8:N0} requests in {Seconds,5:F1} s = {RequestsPerSecond,8:N0} req/s, {RowsPerSecond,9:N0} rows/s; ")
        + Invariant($"p50 {P50Ms,7:F3} ms, p99 {P99Ms,7:F3} ms, p99.9 {P999Ms,7:F3} ms; errors {Errors}")
        + (Count(Outcome.Rejected) > 0 ? Invariant($", rejected as expected {Count(Outcome.Rejected)}") : "");
}

/// <summary>
/// Drives a service with a fixed number of concurrent clients, each sending its next request when the previous one is
/// answered (closed loop), until a request count or a time limit is reached. Latency is measured per request around
/// the whole call (send, server, read of the response body).
/// </summary>
internal static class LoadDriver
{
    public delegate Task<StepResult> Step(long sequence, CancellationToken cancel);

    /// <summary>Runs <paramref name="clients"/> closed-loop clients until <paramref name="maxRequests"/> requests were
    /// sent, <paramref name="timeLimit"/> passed or <paramref name="stopEarly"/> is cancelled.</summary>
    public static async Task<LoadResult> RunAsync(string name, int clients, long maxRequests, TimeSpan timeLimit, Step step,
        CancellationToken stopEarly = default)
    {
        long issued = 0;
        var counts = new ConcurrentDictionary<Outcome, long>();
        var problems = new ConcurrentQueue<string>();
        var latencies = new List<long>[clients];
        long rows = 0;
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(stopEarly);
        stop.CancelAfter(timeLimit);
        var clock = Stopwatch.StartNew();

        async Task Client(int index)
        {
            var mine = latencies[index] = new List<long>(4096);
            while (!stop.IsCancellationRequested)
            {
                long sequence = Interlocked.Increment(ref issued) - 1;
                if (sequence >= maxRequests)
                    break;
                long started = Stopwatch.GetTimestamp();
                StepResult result;
                try
                {
                    // The time limit ends the loop, not a request in flight: a request is never cut short by the driver.
                    result = await step(sequence, CancellationToken.None);
                }
                catch (Exception e)
                {
                    result = new StepResult(Outcome.Failed, 0, $"{e.GetType().Name}: {e.Message} ({e.GetBaseException().Message})");
                }
                mine.Add(Stopwatch.GetTimestamp() - started);
                counts.AddOrUpdate(result.Outcome, 1, (_, n) => n + 1);
                Interlocked.Add(ref rows, result.Rows);
                // Keep a few examples of each kind of problem (the text before the first colon names the kind).
                if (result.Detail is not null && problems.Count < 20 && problems.Count(p => Kind(p) == Kind(result.Detail)) < 2)
                    problems.Enqueue(result.Detail);
            }
        }

        await Task.WhenAll(Enumerable.Range(0, clients).Select(i => Task.Run(() => Client(i))));
        double seconds = clock.Elapsed.TotalSeconds;
        long[] all = latencies.SelectMany(l => l ?? new List<long>()).Order().ToArray();
        return new LoadResult(name, clients, seconds, new Dictionary<Outcome, long>(counts), rows,
            Percentile(all, 0.50), Percentile(all, 0.99), Percentile(all, 0.999), problems.ToArray());
    }

    private static string Kind(string problem) => problem.Split(':')[0];

    /// <summary>Nearest-rank percentile of sorted Stopwatch ticks, in milliseconds.</summary>
    public static double Percentile(long[] sortedTicks, double p)
    {
        if (sortedTicks.Length == 0)
            return double.NaN;
        int index = Math.Clamp((int)Math.Ceiling(p * sortedTicks.Length) - 1, 0, sortedTicks.Length - 1);
        return sortedTicks[index] * 1000.0 / Stopwatch.Frequency;
    }
}

/// <summary>Request bodies and response checks for <c>POST /predict</c> against <see cref="ServedModels"/>.</summary>
internal sealed class PredictTraffic
{
    public const int BatchSize = 64;
    private readonly byte[][] _rowBodies;
    private readonly byte[][] _batchBodies;
    private readonly ConcurrentDictionary<long, string> _generations = new();

    public PredictTraffic(ServedModels models, Uri service)
    {
        Models = models;
        Predict = new Uri(service, "predict");
        Noop = new Uri(service, "noop");
        int rows = models.RowCount;
        _rowBodies = Enumerable.Range(0, rows).Select(r => Encoding.UTF8.GetBytes("{\"features\":" + Row(models, r) + "}")).ToArray();
        _batchBodies = Enumerable.Range(0, rows / BatchSize).Select(b => Encoding.UTF8.GetBytes(
            "{\"rows\":[" + string.Join(",", Enumerable.Range(b * BatchSize, BatchSize).Select(r => Row(models, r))) + "]}")).ToArray();
    }

    public ServedModels Models { get; }

    public Uri Predict { get; }

    public Uri Noop { get; }

    /// <summary>Generations seen in responses (each must always come with the same version).</summary>
    public int GenerationsSeen => _generations.Count;

    /// <summary>A single-row body (<paramref name="row"/> modulo the row count).</summary>
    public byte[] RowBody(long row) => _rowBodies[row % _rowBodies.Length];

    public static string Row(ServedModels models, int row) =>
        "[" + string.Join(",", models.Features.AsSpan(row * ServedModels.FeatureCount, ServedModels.FeatureCount).ToArray()
            .Select(v => v.ToString("R", CultureInfo.InvariantCulture))) + "]";

    public static HttpContent Json(byte[] body)
    {
        var content = new ByteArrayContent(body);
        content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        return content;
    }

    /// <summary>Sends a good request (one row, or a batch of 64 when <paramref name="batch"/>) and checks the answer.</summary>
    public async Task<StepResult> SendGoodAsync(HttpClient client, long sequence, bool batch, CancellationToken cancel)
    {
        int first = batch ? (int)(sequence % _batchBodies.Length) * BatchSize : (int)(sequence % _rowBodies.Length);
        byte[] body = batch ? _batchBodies[sequence % _batchBodies.Length] : _rowBodies[sequence % _rowBodies.Length];
        int rows = batch ? BatchSize : 1;
        using HttpResponseMessage response = await client.PostAsync(Predict, Json(body), cancel);
        byte[] answer = await response.Content.ReadAsByteArrayAsync(cancel);
        if ((int)response.StatusCode != 200)
            return new StepResult(Outcome.Failed, 0, $"HTTP {(int)response.StatusCode}: {Encoding.UTF8.GetString(answer)}");
        (long generation, string version, float[] scores) = ParseScores(answer);
        if (scores.Length != rows * ServedModels.OutputCount)
            return new StepResult(Outcome.Mixed, 0, $"{scores.Length} scores for {rows} rows");
        string known = _generations.GetOrAdd(generation, version);
        if (known != version)
            return new StepResult(Outcome.Mixed, 0, $"generation {generation} reported as version {version} and as {known}");
        string? problem = Models.Check(version, first, scores);
        return problem is null ? new StepResult(Outcome.Ok, rows) : new StepResult(Outcome.Mixed, 0, problem);
    }

    /// <summary>Sends a single-row body to /noop (the HTTP floor).</summary>
    public async Task<StepResult> SendNoopAsync(HttpClient client, long sequence, CancellationToken cancel)
    {
        using HttpResponseMessage response = await client.PostAsync(Noop, Json(RowBody(sequence)), cancel);
        await response.Content.ReadAsByteArrayAsync(cancel);
        return (int)response.StatusCode == 200 ? new StepResult(Outcome.Ok, 1) : new StepResult(Outcome.Failed, 0, $"noop HTTP {(int)response.StatusCode}");
    }

    /// <summary>Reads {"generation": n, "version": "…", "scores": [...] or [[...], ...]} into flat scores.</summary>
    public static (long Generation, string Version, float[] Scores) ParseScores(byte[] json)
    {
        var reader = new Utf8JsonReader(json);
        long generation = -1;
        string version = "";
        var scores = new List<float>();
        while (reader.Read())
        {
            if (reader.TokenType != JsonTokenType.PropertyName)
                continue;
            if (reader.ValueTextEquals("generation"u8))
            {
                reader.Read();
                generation = reader.GetInt64();
            }
            else if (reader.ValueTextEquals("version"u8))
            {
                reader.Read();
                version = reader.GetString() ?? "";
            }
            else if (reader.ValueTextEquals("scores"u8))
            {
                reader.Read();
                int depth = reader.CurrentDepth;
                while (reader.Read() && !(reader.TokenType == JsonTokenType.EndArray && reader.CurrentDepth == depth))
                {
                    if (reader.TokenType == JsonTokenType.Number)
                        scores.Add(reader.GetSingle());
                }
            }
        }
        return (generation, version, scores.ToArray());
    }
}
