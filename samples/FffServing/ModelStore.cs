using System;
using System.IO;
using System.Threading;
using System.Threading.Channels;
using System.Threading.Tasks;
using Microsoft.Extensions.Logging;

namespace FffServing;

/// <summary>
/// Holds the generation that new requests use and replaces it when the model file changes. Swap protocol: one background
/// loop (the only writer) notices a change (file-system events, plus a poll in case an event is lost), waits until the
/// file has stopped changing, reads it into memory (the stable copy every later step uses), checks that the bytes did not
/// change while being read, loads and probes a new <see cref="ModelGeneration"/>, and publishes it with one reference
/// write. Requests read the reference once, so each sees either the old or the new generation, never a mix. Anything
/// that fails leaves the old generation serving, is logged with the reason and is reported by <c>/health</c>; the same
/// bytes are not retried, changed bytes are.
/// </summary>
internal sealed class ModelStore : IDisposable
{
    private readonly ServingOptions _options;
    private readonly ILogger _logger;
    private readonly Channel<bool> _changed = Channel.CreateBounded<bool>(new BoundedChannelOptions(1) { FullMode = BoundedChannelFullMode.DropWrite });
    private FileSystemWatcher? _watcher;
    private ModelGeneration _current;
    private FileStamp? _lastSeen;
    private string? _lastFailedVersion;
    private bool _missingLogged;
    private long _failedLoads;

    private ModelStore(ServingOptions options, ILogger logger, ModelGeneration first, FileStamp stamp)
    {
        _options = options;
        _logger = logger;
        _current = first;
        _lastSeen = stamp;
    }

    /// <summary>The generation a new request must use; read it once per request.</summary>
    public ModelGeneration Current => Volatile.Read(ref _current);

    /// <summary>Files that were read but not served (corrupt, truncated, incompatible).</summary>
    public long FailedLoads => Interlocked.Read(ref _failedLoads);

    /// <summary>Why the last rejected file was rejected, and when; null when none has been.</summary>
    public (string Message, DateTimeOffset At)? LastError { get; private set; }

    /// <summary>Loads the model the service starts with; with no model to fall back on, a failure here stops the service.</summary>
    public static ModelStore Open(ServingOptions options, ILogger logger)
    {
        string path = Path.GetFullPath(options.ModelPath);
        FileStamp stamp = FileStamp.Of(path) ?? throw new FileNotFoundException($"No model file at {path}.", path);
        byte[] bytes = File.ReadAllBytes(path);
        ModelGeneration first;
        try
        {
            first = ModelGeneration.Load(bytes, id: 1);
        }
        catch (InvalidDataException e)
        {
            throw new InvalidDataException($"The model file {path} cannot be served: {e.Message}", e);
        }
        logger.LogInformation("Serving {Path}: generation 1, version {Version}, {Architecture}, {Features} features -> {Outputs} scores, loaded in {Ms:F0} ms",
            path, first.Version, first.Architecture, first.FeatureCount, first.OutputCount, first.LoadMilliseconds);
        return new ModelStore(options with { ModelPath = path }, logger, first, stamp);
    }

    /// <summary>Starts watching the model file; the loop ends with <paramref name="stopping"/>.</summary>
    public Task StartWatching(CancellationToken stopping)
    {
        string directory = Path.GetDirectoryName(_options.ModelPath)!;
        _watcher = new FileSystemWatcher(directory, Path.GetFileName(_options.ModelPath))
        {
            NotifyFilter = NotifyFilters.FileName | NotifyFilters.LastWrite | NotifyFilters.Size | NotifyFilters.CreationTime,
        };
        FileSystemEventHandler changed = (_, _) => _changed.Writer.TryWrite(true);
        _watcher.Changed += changed;
        _watcher.Created += changed;
        _watcher.Renamed += (_, _) => _changed.Writer.TryWrite(true);
        _watcher.Error += (_, e) => _logger.LogWarning(e.GetException(), "File watcher error on {Path}; the {Poll} ms poll still sees changes", _options.ModelPath, _options.PollMilliseconds);
        _watcher.EnableRaisingEvents = true;
        return Task.Run(() => WatchAsync(stopping), CancellationToken.None);
    }

    private async Task WatchAsync(CancellationToken stopping)
    {
        while (!stopping.IsCancellationRequested)
        {
            try
            {
                using var poll = CancellationTokenSource.CreateLinkedTokenSource(stopping);
                poll.CancelAfter(_options.PollMilliseconds);
                try
                {
                    await _changed.Reader.WaitToReadAsync(poll.Token);
                    _changed.Reader.TryRead(out _);
                }
                catch (OperationCanceledException) when (!stopping.IsCancellationRequested)
                {
                    // The poll interval passed without an event: look at the file anyway.
                }
                await CheckAsync(stopping);
            }
            catch (OperationCanceledException) when (stopping.IsCancellationRequested)
            {
                break;
            }
            catch (Exception e)
            {
                // The loop must survive anything (an unreadable directory, say); the next event or poll tries again.
                _logger.LogError(e, "Model watcher failed; generation {Generation} keeps serving", Current.Id);
                await Task.Delay(_options.PollMilliseconds, stopping).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
            }
        }
    }

    private async Task CheckAsync(CancellationToken stopping)
    {
        string path = _options.ModelPath;
        FileStamp? stamp = FileStamp.Of(path);
        if (stamp is null)
        {
            if (!_missingLogged)
                _logger.LogWarning("The model file {Path} is missing; generation {Generation} keeps serving", path, Current.Id);
            _missingLogged = true;
            return;
        }
        _missingLogged = false;
        if (stamp == _lastSeen)
            return;

        // Debounce: read only a file that has not changed for DebounceMilliseconds (a writer may be midway).
        while (true)
        {
            await Task.Delay(_options.DebounceMilliseconds, stopping);
            FileStamp? again = FileStamp.Of(path);
            if (again is null)
                return;
            if (again == stamp)
                break;
            stamp = again;
        }

        byte[] bytes;
        try
        {
            // ReadWrite|Delete sharing: never block a writer or a rename; the stamp check below catches a concurrent write.
            using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
            bytes = new byte[stream.Length];
            stream.ReadExactly(bytes);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            _logger.LogWarning("Could not read {Path} ({Message}); will retry on the next change or poll", path, e.Message);
            return;
        }
        if (FileStamp.Of(path) != stamp)
            return;   // written while we read: the next event or poll reads the finished file

        _lastSeen = stamp;
        string version = ModelGeneration.VersionOf(bytes);
        ModelGeneration current = Current;
        if (version == current.Version || version == _lastFailedVersion)
            return;   // same bytes as served or as already rejected (and logged)

        try
        {
            ModelGeneration next = ModelGeneration.Load(bytes, current.Id + 1);
            if (next.FeatureCount != current.FeatureCount || next.OutputCount != current.OutputCount || next.HasVectorScore != current.HasVectorScore)
            {
                throw new InvalidDataException(
                    $"its schema differs from the served model's ({next.FeatureCount} features -> {next.OutputCount} scores{(next.HasVectorScore ? " (vector)" : "")} "
                    + $"instead of {current.FeatureCount} -> {current.OutputCount}{(current.HasVectorScore ? " (vector)" : "")}); clients would break, restart the service to change it.");
            }
            Volatile.Write(ref _current, next);
            _lastFailedVersion = null;
            _logger.LogInformation("Swapped to generation {Generation}, version {Version} (loaded and probed in {Ms:F0} ms); generation {Old} finishes its in-flight requests",
                next.Id, next.Version, next.LoadMilliseconds, current.Id);
        }
        catch (InvalidDataException e)
        {
            _lastFailedVersion = version;
            Interlocked.Increment(ref _failedLoads);
            LastError = ($"{Path.GetFileName(path)} (version {version}, {bytes.Length} bytes): {e.Message}", DateTimeOffset.UtcNow);
            _logger.LogWarning("Did not load {Path} (version {Version}, {Bytes} bytes): {Reason}; generation {Generation} keeps serving",
                path, version, bytes.Length, e.Message, current.Id);
        }
    }

    public void Dispose() => _watcher?.Dispose();

    /// <summary>What tells one version of the file from the next without reading it.</summary>
    private sealed record FileStamp(long Length, DateTime LastWriteUtc)
    {
        public static FileStamp? Of(string path)
        {
            var info = new FileInfo(path);
            return info.Exists ? new FileStamp(info.Length, info.LastWriteTimeUtc) : null;
        }
    }
}
