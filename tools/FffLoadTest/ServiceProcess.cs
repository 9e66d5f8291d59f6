using System;
using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Net.Http;
using System.Reflection;
using System.Text.Json;
using System.Threading;
using System.Threading.Tasks;

namespace FffLoadTest;

/// <summary>
/// samples/FffServing as a child process listening on 127.0.0.1 only (port 0: the kernel picks a free port, which the
/// service prints). Keeps the service's output for reports and failures, and reads its RSS from /proc.
/// </summary>
internal sealed class ServiceProcess : IDisposable
{
    private readonly Process _process;
    private readonly ConcurrentQueue<string> _output;

    private ServiceProcess(Process process, Uri address, ConcurrentQueue<string> output)
    {
        _process = process;
        Address = address;
        _output = output;
    }

    /// <summary>http://127.0.0.1:PORT/</summary>
    public Uri Address { get; }

    public int Id => _process.Id;

    public bool IsAlive => !_process.HasExited;

    /// <summary>Everything the service printed so far (its log).</summary>
    public string[] Output => _output.ToArray();

    /// <summary>The built service: the path is recorded at build time in the calling assembly's metadata.</summary>
    public static string AppPath()
    {
        string path = Path.GetFullPath(Assembly.GetExecutingAssembly().GetCustomAttributes<AssemblyMetadataAttribute>()
            .Single(a => a.Key == "ServingApp").Value!);
        return File.Exists(path) ? path : throw new FileNotFoundException($"FffServing was not built at {path}", path);
    }

    /// <summary>Starts the service on <paramref name="modelPath"/> and waits until it listens.</summary>
    public static ServiceProcess Start(string modelPath, params string[] extraArguments)
    {
        string dotnet = Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } host ? host : "dotnet";
        var start = new ProcessStartInfo(dotnet)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        start.ArgumentList.Add(AppPath());
        foreach (string argument in new[] { "--model", modelPath, "--urls", "http://127.0.0.1:0" }.Concat(extraArguments))
            start.ArgumentList.Add(argument);
        var process = Process.Start(start)!;
        var output = new ConcurrentQueue<string>();
        var ready = new TaskCompletionSource<Uri>(TaskCreationOptions.RunContinuationsAsynchronously);
        process.OutputDataReceived += (_, e) =>
        {
            if (e.Data is null)
                return;
            if (output.Count < 20_000)
                output.Enqueue(e.Data);
            if (e.Data.StartsWith("FFF_SERVING_READY ", StringComparison.Ordinal))
                ready.TrySetResult(new Uri(e.Data["FFF_SERVING_READY ".Length..].Trim() + "/"));
        };
        process.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is not null && output.Count < 20_000)
                output.Enqueue(e.Data);
        };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        Task exited = process.WaitForExitAsync();
        if (Task.WaitAny(new Task[] { ready.Task, exited }, TimeSpan.FromSeconds(120)) != 0)
        {
            string log = string.Join(Environment.NewLine, output);
            if (!process.HasExited)
                process.Kill(entireProcessTree: true);
            throw new InvalidOperationException($"FffServing did not start:{Environment.NewLine}{log}");
        }
        Uri address = ready.Task.Result;
        if (address.Host != "127.0.0.1")
        {
            process.Kill(entireProcessTree: true);
            throw new InvalidOperationException($"FffServing listens on {address}, not on the loopback address");
        }
        return new ServiceProcess(process, address, output);
    }

    /// <summary>The service's resident set size in bytes (Linux /proc), or -1 where that is not available.</summary>
    public long ResidentBytes()
    {
        string status = $"/proc/{_process.Id}/status";
        if (!File.Exists(status))
            return -1;
        string? line = File.ReadLines(status).FirstOrDefault(l => l.StartsWith("VmRSS:", StringComparison.Ordinal));
        return line is null ? -1 : long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture) * 1024;
    }

    /// <summary>GET /health as a parsed document.</summary>
    public async Task<JsonElement> HealthAsync(HttpClient client, CancellationToken cancel = default)
    {
        using HttpResponseMessage response = await client.GetAsync(new Uri(Address, "health"), cancel);
        response.EnsureSuccessStatusCode();
        using JsonDocument document = JsonDocument.Parse(await response.Content.ReadAsByteArrayAsync(cancel));
        return document.RootElement.Clone();
    }

    /// <summary>A client for the service: one connection per concurrent caller, no proxy (loopback only).</summary>
    public static HttpClient CreateClient(int connections) => new(new SocketsHttpHandler
    {
        MaxConnectionsPerServer = Math.Max(1, connections),
        UseProxy = false,
        PooledConnectionLifetime = Timeout.InfiniteTimeSpan,
    })
    {
        Timeout = TimeSpan.FromSeconds(60),
    };

    public void Dispose()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            _process.WaitForExit(10_000);
        }
        _process.Dispose();
    }
}
