using System;
using System.Globalization;
using Microsoft.Extensions.Configuration;

namespace FffServing;

/// <summary>
/// The service's settings, read once at start from the command line (<c>--model PATH --maxRows 1024 ...</c>) or the
/// environment (<c>FFF_SERVING_MODEL</c>, ...). Every limit that answers a hostile request lives here so that the
/// docs, the load test and the 400 messages name the same numbers.
/// </summary>
internal sealed record ServingOptions
{
    /// <summary>The model file to serve and watch.</summary>
    public required string ModelPath { get; init; }

    /// <summary>Where Kestrel listens; loopback by default (the load test passes port 0).</summary>
    public string Urls { get; init; } = "http://127.0.0.1:5080";

    /// <summary>Largest batch accepted by <c>POST /predict</c>; larger ones get a 400 naming the limit.</summary>
    public int MaxRows { get; init; } = 1024;

    /// <summary>Largest request body in bytes (Kestrel's MaxRequestBodySize and our own check).</summary>
    public long MaxBodyBytes { get; init; } = 1 << 20;

    /// <summary>Minimum body upload rate in bytes per second after <see cref="BodyGraceSeconds"/>; slower clients are cut off.</summary>
    public double MinBodyBytesPerSecond { get; init; } = 1024;

    /// <summary>Grace period before <see cref="MinBodyBytesPerSecond"/> applies (Kestrel requires more than 1 s).</summary>
    public double BodyGraceSeconds { get; init; } = 2;

    /// <summary>Time a client has to send all request headers.</summary>
    public double HeadersTimeoutSeconds { get; init; } = 5;

    /// <summary>How long the model file must stay unchanged before it is read (a writer may still be writing).</summary>
    public int DebounceMilliseconds { get; init; } = 50;

    /// <summary>Fallback poll of the model file, in case the file-system watcher misses an event.</summary>
    public int PollMilliseconds { get; init; } = 500;

    /// <summary>
    /// Testing aid, 0 in production: each /predict waits this long between taking its model snapshot (and reading its
    /// body) and scoring. It widens the window in which a swap lands mid-request from microseconds to milliseconds, so a
    /// short swap test sees many requests that must finish on the model they started with.
    /// </summary>
    public int SnapshotDelayMilliseconds { get; init; }

    public static ServingOptions From(IConfiguration configuration)
    {
        string? model = configuration["model"] ?? configuration["FFF_SERVING_MODEL"];
        if (string.IsNullOrWhiteSpace(model))
            throw new ArgumentException("No model file: pass --model PATH (a zip saved by mlContext.Model.Save) or set FFF_SERVING_MODEL.");
        var defaults = new ServingOptions { ModelPath = model };
        return new ServingOptions
        {
            ModelPath = model,
            Urls = configuration["urls"] ?? defaults.Urls,
            MaxRows = Read(configuration, "maxRows", defaults.MaxRows, 1, 1_000_000),
            MaxBodyBytes = Read(configuration, "maxBodyBytes", defaults.MaxBodyBytes, 64, 1L << 30),
            MinBodyBytesPerSecond = Read(configuration, "minBodyBytesPerSecond", defaults.MinBodyBytesPerSecond, 1, 1e9),
            BodyGraceSeconds = Read(configuration, "bodyGraceSeconds", defaults.BodyGraceSeconds, 1.001, 3600),
            HeadersTimeoutSeconds = Read(configuration, "headersTimeoutSeconds", defaults.HeadersTimeoutSeconds, 0.1, 3600),
            DebounceMilliseconds = Read(configuration, "debounceMs", defaults.DebounceMilliseconds, 0, 60_000),
            PollMilliseconds = Read(configuration, "pollMs", defaults.PollMilliseconds, 10, 600_000),
            SnapshotDelayMilliseconds = Read(configuration, "snapshotDelayMs", defaults.SnapshotDelayMilliseconds, 0, 10_000),
        };
    }

    private static T Read<T>(IConfiguration configuration, string key, T fallback, T min, T max)
        where T : struct, IComparable<T>, IParsable<T>
    {
        string? text = configuration[key];
        if (text is null)
            return fallback;
        if (!T.TryParse(text, CultureInfo.InvariantCulture, out T value) || value.CompareTo(min) < 0 || value.CompareTo(max) > 0)
            throw new ArgumentException($"--{key} {text}: expected a number from {min} to {max}.");
        return value;
    }
}
