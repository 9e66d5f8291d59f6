using System;
using System.Buffers;
using System.IO;
using System.IO.Pipelines;
using System.Text.Json;
using System.Threading;
using System.Threading.Tasks;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace FffServing;

/// <summary>
/// The HTTP surface: <c>POST /predict</c>, <c>POST /noop</c> (the loopback floor: reads the body like /predict, scores
/// nothing), <c>GET /health</c>, and the guard that turns anything unexpected into a JSON 500 instead of a dropped
/// connection. Every rejected request gets 400 and <c>{"error": "..."}</c>.
/// </summary>
internal sealed class Endpoints(ModelStore store, ServingOptions options, ILogger logger)
{
    private static readonly byte[] NoopResponse = "{\"ok\":true}"u8.ToArray();

    // Messages quote field names ('features'); the default encoder would write those quotes as \u0027. The bodies are
    // served as application/json, never embedded in HTML, so the relaxed encoder is safe and keeps them readable.
    private static readonly JsonWriterOptions ErrorJson = new() { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping };
    private long _requests, _scoredRows, _rejected, _failed, _aborted;

    public async Task PredictAsync(HttpContext context)
    {
        Interlocked.Increment(ref _requests);
        // The one snapshot this request uses: a swap from here on does not affect it.
        ModelGeneration generation = store.Current;
        if (!IsJson(context.Request.ContentType))
        {
            await RejectAsync(context, $"Content-Type must be application/json, not '{RequestParser.Shorten(context.Request.ContentType)}'.", bodyUnread: true);
            return;
        }
        (ReadResult body, string? problem) = await ReadBodyAsync(context);
        if (problem is not null)
        {
            await RejectAsync(context, problem, bodyUnread: true);
            return;
        }
        if (options.SnapshotDelayMilliseconds > 0)
            await Task.Delay(options.SnapshotDelayMilliseconds, context.RequestAborted);
        try
        {
            problem = ScoreAndWrite(context, generation, body.Buffer);
        }
        finally
        {
            context.Request.BodyReader.AdvanceTo(body.Buffer.End);
        }
        if (problem is not null)
            await RejectAsync(context, problem, bodyUnread: false);
        else
            await context.Response.BodyWriter.FlushAsync(context.RequestAborted);
    }

    public async Task NoopAsync(HttpContext context)
    {
        Interlocked.Increment(ref _requests);
        (ReadResult body, string? problem) = await ReadBodyAsync(context);
        if (problem is not null)
        {
            await RejectAsync(context, problem, bodyUnread: true);
            return;
        }
        context.Request.BodyReader.AdvanceTo(body.Buffer.End);
        context.Response.ContentType = "application/json";
        await context.Response.Body.WriteAsync(NoopResponse, context.RequestAborted);
    }

    public async Task HealthAsync(HttpContext context)
    {
        ModelGeneration generation = store.Current;
        (string Message, DateTimeOffset At)? lastError = store.LastError;
        context.Response.ContentType = "application/json";
        using (var json = new Utf8JsonWriter(context.Response.BodyWriter))
        {
            json.WriteStartObject();
            json.WriteString("status", "ok");
            json.WriteNumber("generation", generation.Id);
            json.WriteString("version", generation.Version);
            json.WriteString("loadedAt", generation.LoadedAt);
            json.WriteNumber("loadMs", Math.Round(generation.LoadMilliseconds, 1));
            json.WriteString("modelPath", options.ModelPath);
            json.WriteString("architecture", generation.Architecture);
            json.WriteNumber("featureCount", generation.FeatureCount);
            json.WriteNumber("outputCount", generation.OutputCount);
            json.WriteBoolean("transformsBeforePredictor", generation.HasPrefix);
            json.WriteBoolean("predictedLabel", generation.HasPredictedLabel);
            json.WriteNumber("failedLoads", store.FailedLoads);
            if (lastError is { } error)
            {
                json.WriteString("lastLoadError", error.Message);
                json.WriteString("lastLoadErrorAt", error.At);
            }
            else
            {
                json.WriteNull("lastLoadError");
            }
            json.WriteNumber("maxRows", options.MaxRows);
            json.WriteNumber("maxBodyBytes", options.MaxBodyBytes);
            // Counters for load tests and soaks: allocations per request = delta allocatedBytes / delta requests.
            json.WriteNumber("requests", Interlocked.Read(ref _requests));
            json.WriteNumber("scoredRows", Interlocked.Read(ref _scoredRows));
            json.WriteNumber("rejected", Interlocked.Read(ref _rejected));
            json.WriteNumber("failed", Interlocked.Read(ref _failed));
            json.WriteNumber("aborted", Interlocked.Read(ref _aborted));
            json.WriteNumber("allocatedBytes", GC.GetTotalAllocatedBytes(precise: false));
            json.WriteNumber("gcHeapBytes", GC.GetGCMemoryInfo().HeapSizeBytes);
            json.WriteNumber("gen2Collections", GC.CollectionCount(2));
            json.WriteNumber("workingSetBytes", Environment.WorkingSet);
            json.WriteEndObject();
        }
        await context.Response.BodyWriter.FlushAsync(context.RequestAborted);
    }

    /// <summary>Outermost middleware: a bug becomes a logged JSON 500 and the process keeps serving.</summary>
    public async Task GuardAsync(HttpContext context, RequestDelegate next)
    {
        try
        {
            await next(context);
        }
        catch (Exception e) when (context.RequestAborted.IsCancellationRequested)
        {
            // The client went away mid-request; nothing can be answered.
            Interlocked.Increment(ref _aborted);
            logger.LogDebug("{Path}: client disconnected ({Message})", context.Request.Path, e.Message);
        }
        catch (Exception e)
        {
            Interlocked.Increment(ref _failed);
            logger.LogError(e, "{Method} {Path} failed", context.Request.Method, context.Request.Path);
            if (!context.Response.HasStarted)
            {
                context.Response.Clear();
                context.Response.StatusCode = StatusCodes.Status500InternalServerError;
                await WriteErrorAsync(context, $"internal error ({e.GetType().Name}); see the service log.");
            }
        }
    }

    /// <summary>
    /// Parses, scores and writes the 200 response synchronously (the JSON reader is a ref struct); returns the 400 message
    /// instead when the request is bad. All rows of the response come from <paramref name="generation"/>.
    /// </summary>
    private string? ScoreAndWrite(HttpContext context, ModelGeneration generation, in ReadOnlySequence<byte> body)
    {
        int inputs = generation.FeatureCount, outputs = generation.OutputCount;
        float[] features = ArrayPool<float>.Shared.Rent(inputs);
        float[]? scores = null;
        try
        {
            string? problem = RequestParser.Parse(body, inputs, options.MaxRows, ref features, out int rows, out bool batch);
            if (problem is not null)
                return problem;
            scores = ArrayPool<float>.Shared.Rent(rows * outputs);
            Span<float> scored = scores.AsSpan(0, rows * outputs);
            if (batch)
                generation.ScoreBatch(features.AsSpan(0, rows * inputs), scored);
            else
                generation.ScoreRow(features.AsSpan(0, inputs), scored);
            int bad = FirstNonFinite(scored);
            if (bad >= 0)
            {
                // Finite but huge features can overflow a dot product; JSON cannot carry the result, and it is the input's fault.
                string where = batch ? $"rows[{bad / outputs}]" : "features";
                return $"the model's scores for {where} are not finite; the feature values are too large in magnitude for this model.";
            }
            Interlocked.Add(ref _scoredRows, rows);
            WriteScores(context, generation, scored, rows, outputs, batch);
            return null;
        }
        finally
        {
            ArrayPool<float>.Shared.Return(features);
            if (scores is not null)
                ArrayPool<float>.Shared.Return(scores);
        }
    }

    private static int FirstNonFinite(ReadOnlySpan<float> values)
    {
        for (int i = 0; i < values.Length; i++)
        {
            if (!float.IsFinite(values[i]))
                return i;
        }
        return -1;
    }

    private static void WriteScores(HttpContext context, ModelGeneration generation, ReadOnlySpan<float> scores, int rows, int outputs, bool batch)
    {
        context.Response.StatusCode = StatusCodes.Status200OK;
        context.Response.ContentType = "application/json";
        using var json = new Utf8JsonWriter(context.Response.BodyWriter);
        json.WriteStartObject();
        json.WriteNumber("generation", generation.Id);
        json.WriteString("version", generation.Version);
        json.WriteStartArray("scores");
        for (int r = 0; r < rows; r++)
        {
            if (batch)
                json.WriteStartArray();
            foreach (float score in scores.Slice(r * outputs, outputs))
                json.WriteNumberValue(score);   // shortest round-trip form: the client gets the exact float
            if (batch)
                json.WriteEndArray();
        }
        json.WriteEndArray();
        if (generation.HasPredictedLabel)
        {
            // After "scores", so clients that read only scores (the load test's checker) are unaffected.
            if (batch)
                json.WriteStartArray("predictedLabel");
            else
                json.WritePropertyName("predictedLabel");
            for (int r = 0; r < rows; r++)
                generation.WritePredictedLabel(json, scores.Slice(r * outputs, outputs));
            if (batch)
                json.WriteEndArray();
        }
        json.WriteEndObject();
    }

    /// <summary>
    /// Reads the whole body (bounded by MaxBodyBytes). Kestrel's own limits surface here as exceptions: a body over
    /// MaxRequestBodySize (413), one slower than MinRequestBodyDataRate (408) or one that ends early; each becomes a 400
    /// message where a response can still be sent. On success the caller must AdvanceTo the returned buffer's end.
    /// </summary>
    private async Task<(ReadResult Body, string? Problem)> ReadBodyAsync(HttpContext context)
    {
        long limit = options.MaxBodyBytes;
        if (context.Request.ContentLength > limit)
            return (default, $"the request body is {context.Request.ContentLength} bytes; the limit is {limit} bytes.");
        PipeReader reader = context.Request.BodyReader;
        try
        {
            while (true)
            {
                ReadResult result = await reader.ReadAsync(context.RequestAborted);
                if (result.Buffer.Length > limit)
                {
                    reader.AdvanceTo(result.Buffer.End);
                    return (default, $"the request body is over the limit of {limit} bytes.");
                }
                if (result.IsCompleted)
                    return (result, null);
                reader.AdvanceTo(result.Buffer.Start, result.Buffer.End);   // consumed nothing yet: wait for more
            }
        }
        catch (BadHttpRequestException e) when (!context.RequestAborted.IsCancellationRequested)
        {
            string problem = e.StatusCode switch
            {
                StatusCodes.Status413PayloadTooLarge => $"the request body is over the limit of {limit} bytes.",
                StatusCodes.Status408RequestTimeout => $"the request body arrived too slowly (under {options.MinBodyBytesPerSecond} bytes/s after {options.BodyGraceSeconds} s).",
                _ => $"the request body could not be read: {e.Message}",
            };
            return (default, problem);
        }
    }

    /// <summary>
    /// Answers 400 {"error": message}. When the body was not read to its end (too large, too slow, not JSON), the response
    /// says Connection: close: the server closes that connection after answering rather than reading the rest, and a
    /// client that saw no such header would send its next request into a closing connection.
    /// </summary>
    private async Task RejectAsync(HttpContext context, string message, bool bodyUnread)
    {
        Interlocked.Increment(ref _rejected);
        logger.LogDebug("{Path}: 400 {Message}", context.Request.Path, message);
        if (context.Response.HasStarted)
            return;   // cannot happen on our paths (the 200 is written only after all checks); kept for safety
        context.Response.Clear();
        context.Response.StatusCode = StatusCodes.Status400BadRequest;
        if (bodyUnread)
            context.Response.Headers.Connection = "close";
        await WriteErrorAsync(context, message);
    }

    private static async Task WriteErrorAsync(HttpContext context, string message)
    {
        context.Response.ContentType = "application/json";
        using (var json = new Utf8JsonWriter(context.Response.BodyWriter, ErrorJson))
        {
            json.WriteStartObject();
            json.WriteString("error", message);
            json.WriteEndObject();
        }
        await context.Response.BodyWriter.FlushAsync(context.RequestAborted);
    }

    private static bool IsJson(string? contentType) =>
        contentType is null || contentType.StartsWith("application/json", StringComparison.OrdinalIgnoreCase);
}
