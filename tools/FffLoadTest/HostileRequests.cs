using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Linq;
using System.Net;
using System.Net.Http;
using System.Net.Http.Headers;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using System.Threading;
using System.Threading.Tasks;

namespace FffLoadTest;

/// <summary>A bad request and a fragment the 400's message must contain (so the message names the problem).</summary>
internal sealed record BadRequest(string Name, string Expect, Func<HttpContent> Body);

/// <summary>
/// The hostile requests of the "hostile" run and its test: every kind of bad body the service must answer with 400 and a
/// message, plus raw-socket clients that send a truncated body or trickle one.
/// </summary>
internal sealed class HostileRequests
{
    public HostileRequests(ServedModels models, int maxRows, long maxBodyBytes)
    {
        string row = PredictTraffic.Row(models, 0);
        string shortRow = "[" + string.Join(",", Enumerable.Repeat("1", ServedModels.FeatureCount - 1)) + "]";
        string longRow = "[" + string.Join(",", Enumerable.Repeat("1", ServedModels.FeatureCount + 1)) + "]";
        string Replace(string value) => "{\"features\":" + row.Replace("[0,", "[" + value + ",", StringComparison.Ordinal) + "}";
        string overRows = "{\"rows\":[" + string.Join(",", Enumerable.Repeat(row, maxRows + 1)) + "]}";
        var oversized = new byte[maxBodyBytes + 1];
        oversized.AsSpan().Fill((byte)' ');
        "{\"features\":[]}"u8.CopyTo(oversized);
        Requests = new BadRequest[]
        {
            new("short row", $"has {ServedModels.FeatureCount - 1} values; the model expects {ServedModels.FeatureCount}", () => Json("{\"features\":" + shortRow + "}")),
            new("long batch row", $"rows[1] has {ServedModels.FeatureCount + 1} values", () => Json("{\"rows\":[" + row + "," + longRow + "]}")),
            new("NaN as string", "NaN and infinity are not valid", () => Json(Replace("\"NaN\""))),
            new("Infinity as string", "NaN and infinity are not valid", () => Json(Replace("\"-Infinity\""))),
            new("bare NaN token", "not valid JSON", () => Json(Replace("NaN"))),
            new("number beyond float", "is not a finite 32-bit float", () => Json(Replace("1e39"))),
            new("missing field", "missing field", () => Json("{}")),
            new("unknown field", "unknown field 'feature'", () => Json("{\"feature\":" + row + "}")),
            new("features is a string", "'features' must be an array", () => Json("{\"features\":\"1,2,3\"}")),
            new("value is a boolean", "features[0] must be a number, not a boolean", () => Json(Replace("true"))),
            new("value is null", "features[0] must be a number, not null", () => Json(Replace("null"))),
            new("nested arrays", "features[0] must be a number, not an array", () => Json("{\"features\":[[1]]}")),
            new("rows is an object", "'rows' must be an array", () => Json("{\"rows\":{}}")),
            new("empty batch", "'rows' is empty", () => Json("{\"rows\":[]}")),
            new("batch over the row limit", $"limit of {maxRows} rows", () => Json(overRows)),
            new("both fields", "not both", () => Json("{\"features\":" + row + ",\"rows\":[" + row + "]}")),
            new("top level array", "must be a JSON object", () => Json(row)),
            new("truncated JSON", "not valid JSON", () => Json("{\"features\":" + row[..(row.Length / 2)])),
            new("trailing garbage", "not valid JSON", () => Json("{\"features\":" + row + "} x")),
            new("empty body", "body is empty", () => Json("")),
            new("not JSON content type", "Content-Type must be application/json", () => new StringContent("{\"features\":" + row + "}", Encoding.UTF8, "text/plain")),
            new("body over the size limit", $"the limit is {maxBodyBytes} bytes", () => Json(oversized)),
            new("chunked body over the size limit", $"over the limit of {maxBodyBytes} bytes", () => new ChunkedContent(oversized)),
        };
    }

    public IReadOnlyList<BadRequest> Requests { get; }

    private static HttpContent Json(string body) => Json(Encoding.UTF8.GetBytes(body));

    private static HttpContent Json(byte[] body)
    {
        var content = new ByteArrayContent(body);
        content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        return content;
    }

    /// <summary>Sends <paramref name="bad"/> and checks for a 400 whose JSON "error" contains the expected fragment.</summary>
    public static async Task<StepResult> SendAsync(HttpClient client, Uri predict, BadRequest bad, CancellationToken cancel)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, predict) { Content = bad.Body() };
        using HttpResponseMessage response = await client.SendAsync(request, cancel);
        string answer = await response.Content.ReadAsStringAsync(cancel);
        return Judge(bad.Name, bad.Expect, (int)response.StatusCode, answer);
    }

    /// <summary>A bad request's answer is right when it is 400 with {"error": "..."} containing the expected fragment.</summary>
    public static StepResult Judge(string name, string expect, int status, string answer)
    {
        string? message = null;
        try
        {
            using JsonDocument document = JsonDocument.Parse(answer);
            if (document.RootElement.ValueKind == JsonValueKind.Object && document.RootElement.TryGetProperty("error", out JsonElement error))
                message = error.GetString();
        }
        catch (JsonException)
        {
            // Not JSON: reported below as a mishandled request, with what came back.
        }
        return status == 400 && message is not null && message.Contains(expect, StringComparison.Ordinal)
            ? new StepResult(Outcome.Rejected, 0)
            : new StepResult(Outcome.Mishandled, 0, $"{name}: HTTP {status} {answer}");
    }

    /// <summary>
    /// A raw client that announces a 1,000-byte body, sends half of it and then sends nothing more (a truncated body
    /// from a client that keeps the connection open): once the grace period is over, the service must answer 400.
    /// </summary>
    public static Task<StepResult> TruncatedBodyAsync(Uri service, TimeSpan grace) =>
        RawAsync(service, "truncated body", "arrived too slowly", grace + TimeSpan.FromSeconds(10), async socket =>
        {
            await socket.SendAsync(Headers(service, 1000));
            await socket.SendAsync(Encoding.ASCII.GetBytes("{\"features\":[" + new string('1', 480)));
        });

    /// <summary>
    /// A raw client that announces a 2,000-byte body and sends one byte every 100 ms, far under the service's
    /// MinRequestBodyDataRate: once the grace period is over the service must answer 400 (too slow) and free the connection.
    /// </summary>
    public static Task<StepResult> SlowBodyAsync(Uri service, TimeSpan grace) =>
        RawAsync(service, "slow body", "arrived too slowly", grace + TimeSpan.FromSeconds(10), async socket =>
        {
            await socket.SendAsync(Headers(service, 2000));
            await socket.SendAsync("{\"features\":["u8.ToArray());
            var clock = Stopwatch.StartNew();
            // Trickle until the server answers (data to read) or far past the grace period.
            while (clock.Elapsed < grace + TimeSpan.FromSeconds(8) && socket.Available == 0)
            {
                try
                {
                    await socket.SendAsync("1"u8.ToArray());
                }
                catch (SocketException)
                {
                    break;   // the server closed the connection; what it sent before is judged below
                }
                await Task.Delay(100);
            }
        });

    /// <summary>
    /// A raw client that sends half of its announced body and closes the connection. Nobody is left to answer, so there is
    /// no response to judge: the service must count the request as aborted (see /health) and keep serving.
    /// </summary>
    public static async Task DisconnectMidBodyAsync(Uri service)
    {
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        await socket.ConnectAsync(new IPEndPoint(IPAddress.Loopback, service.Port));
        await socket.SendAsync(Headers(service, 1000));
        await socket.SendAsync(Encoding.ASCII.GetBytes("{\"features\":[" + new string('1', 480)));
        socket.Close();
    }

    private static byte[] Headers(Uri service, int contentLength) => Encoding.ASCII.GetBytes(
        $"POST /predict HTTP/1.1\r\nHost: {service.Authority}\r\nContent-Type: application/json\r\nContent-Length: {contentLength}\r\n\r\n");

    /// <summary>Runs a raw-socket conversation and judges the HTTP response read back (until the server closes or the timeout).</summary>
    private static async Task<StepResult> RawAsync(Uri service, string name, string expect, TimeSpan timeout, Func<Socket, Task> send)
    {
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        await socket.ConnectAsync(new IPEndPoint(IPAddress.Loopback, service.Port));
        await send(socket);
        using var cancel = new CancellationTokenSource(timeout);
        var received = new List<byte>();
        var buffer = new byte[4096];
        try
        {
            while (true)
            {
                int n = await socket.ReceiveAsync(buffer, SocketFlags.None, cancel.Token);
                if (n == 0)
                    break;
                received.AddRange(buffer.AsSpan(0, n).ToArray());
                if (ResponseComplete(received))
                    break;
            }
        }
        catch (OperationCanceledException)
        {
            return new StepResult(Outcome.Mishandled, 0, $"{name}: no complete response within {timeout.TotalSeconds} s");
        }
        catch (SocketException e)
        {
            return new StepResult(Outcome.Mishandled, 0, $"{name}: connection error {e.SocketErrorCode} after {received.Count} bytes");
        }
        string text = Encoding.UTF8.GetString(received.ToArray());
        int status = text.StartsWith("HTTP/1.1 ", StringComparison.Ordinal) && text.Length >= 12 && int.TryParse(text.AsSpan(9, 3), out int code) ? code : 0;
        int bodyStart = text.IndexOf("\r\n\r\n", StringComparison.Ordinal);
        string body = bodyStart < 0 ? "" : Dechunk(text[(bodyStart + 4)..], text[..Math.Max(0, bodyStart)]);
        return Judge(name, expect, status, body);
    }

    // A response is complete once its headers and its (chunked or Content-Length) body are in.
    private static bool ResponseComplete(List<byte> received)
    {
        string text = Encoding.UTF8.GetString(received.ToArray());
        int end = text.IndexOf("\r\n\r\n", StringComparison.Ordinal);
        if (end < 0)
            return false;
        string headers = text[..end];
        if (headers.Contains("Transfer-Encoding: chunked", StringComparison.OrdinalIgnoreCase))
            return text.EndsWith("\r\n0\r\n\r\n", StringComparison.Ordinal);
        int length = ContentLength(headers);
        return length >= 0 && Encoding.UTF8.GetByteCount(text[(end + 4)..]) >= length;
    }

    private static int ContentLength(string headers)
    {
        foreach (string line in headers.Split("\r\n"))
        {
            if (line.StartsWith("Content-Length:", StringComparison.OrdinalIgnoreCase))
                return int.Parse(line["Content-Length:".Length..].Trim(), System.Globalization.CultureInfo.InvariantCulture);
        }
        return -1;
    }

    private static string Dechunk(string body, string headers)
    {
        if (!headers.Contains("Transfer-Encoding: chunked", StringComparison.OrdinalIgnoreCase))
            return body;
        var result = new StringBuilder();
        int position = 0;
        while (position < body.Length)
        {
            int lineEnd = body.IndexOf("\r\n", position, StringComparison.Ordinal);
            if (lineEnd < 0)
                break;
            int size = int.Parse(body.AsSpan(position, lineEnd - position), System.Globalization.NumberStyles.HexNumber, System.Globalization.CultureInfo.InvariantCulture);
            if (size == 0)
                break;
            result.Append(body, lineEnd + 2, size);
            position = lineEnd + 2 + size + 2;
        }
        return result.ToString();
    }

    /// <summary>Content sent with Transfer-Encoding: chunked (no Content-Length), so only the running count can stop it.</summary>
    private sealed class ChunkedContent : HttpContent
    {
        private readonly byte[] body;

        public ChunkedContent(byte[] body)
        {
            this.body = body;
            Headers.ContentType = new MediaTypeHeaderValue("application/json");
        }

        protected override async Task SerializeToStreamAsync(System.IO.Stream stream, TransportContext? context)
        {
            for (int offset = 0; offset < body.Length; offset += 16 * 1024)
                await stream.WriteAsync(body.AsMemory(offset, Math.Min(16 * 1024, body.Length - offset)));
        }

        protected override bool TryComputeLength(out long length)
        {
            length = -1;
            return false;
        }
    }
}
