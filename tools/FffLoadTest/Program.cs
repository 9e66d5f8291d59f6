// Load test of samples/FffServing on 127.0.0.1 (docs/serving.md has the design, the commands and the results).
//
//   dotnet run --project tools/FffLoadTest -c Release -- bench   [--seconds 8] [--clients 1,8,32,128] [--requests 200000]
//   dotnet run --project tools/FffLoadTest -c Release -- swap    [--swaps 100] [--clients 32] [--period-ms 500] [--seconds 300]
//   dotnet run --project tools/FffLoadTest -c Release -- hostile [--seconds 30] [--clients 32] [--requests 1000000] [--raw 5]
//   dotnet run --project tools/FffLoadTest -c Release -- soak    [--seconds 300] [--clients 128] [--sample-seconds 5] [--bound-mib 512]
//   dotnet run --project tools/FffLoadTest -c Release -- models  DIRECTORY   (writes a.zip and b.zip there, to serve by hand)
//
// Every command trains models A and B (digits, different seeds and shapes) first, starts the service as a child process
// listening on 127.0.0.1 with a free port, and exits non-zero when its acceptance check fails.
using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Threading.Tasks;
using FffLoadTest;

string command = args.Length > 0 ? args[0] : "";
var settings = new Dictionary<string, string>();
for (int i = 1; i + 1 < args.Length; i += 2)
    settings[args[i].TrimStart('-')] = args[i + 1];
double Number(string key, double fallback) => settings.TryGetValue(key, out string? text) ? double.Parse(text, CultureInfo.InvariantCulture) : fallback;

if (command == "models" && args.Length == 2)
{
    ServedModels trained = ServedModels.Train();
    Directory.CreateDirectory(args[1]);
    File.WriteAllBytes(Path.Combine(args[1], "a.zip"), trained.A.Bytes);
    File.WriteAllBytes(Path.Combine(args[1], "b.zip"), trained.B.Bytes);
    Console.WriteLine($"wrote a.zip ({trained.A.Version}) and b.zip ({trained.B.Version}) to {args[1]}");
    return 0;
}
if (command is not ("bench" or "swap" or "hostile" or "soak"))
{
    Console.Error.WriteLine("usage: FffLoadTest bench|swap|hostile|soak [--option value ...] | models DIRECTORY (see the head of Program.cs)");
    return 2;
}

string directory = Path.Combine(Path.GetTempPath(), "fff-loadtest-" + Guid.NewGuid().ToString("N"));
Directory.CreateDirectory(directory);
try
{
    var clock = System.Diagnostics.Stopwatch.StartNew();
    ServedModels models = ServedModels.Train();
    Console.WriteLine($"Models A ({models.A.Version}, {models.A.Bytes.Length:N0} bytes) and B ({models.B.Version}, {models.B.Bytes.Length:N0} bytes) "
                      + $"trained in {clock.Elapsed.TotalSeconds:F1} s; {Environment.ProcessorCount} cores, {System.Runtime.InteropServices.RuntimeInformation.OSDescription}");
    return command switch
    {
        "bench" => await Bench(),
        "swap" => await Swap(),
        "hostile" => await Hostile(),
        _ => await Soak(),
    };

    async Task<int> Bench()
    {
        int[] clients = (settings.TryGetValue("clients", out string? list) ? list : "1,8,32,128").Split(',').Select(int.Parse).ToArray();
        List<LoadResult> results = await Runs.BenchAsync(models, directory, clients, TimeSpan.FromSeconds(Number("seconds", 8)),
            (long)Number("requests", 200_000), Console.WriteLine);
        (double p50, double p99) = Runs.InProcessLatency(models, 50_000);
        Console.WriteLine($"in-process PredictionEngine, one row: p50 {p50:F4} ms, p99 {p99:F4} ms (50,000 predictions, model A)");
        double floor = results.First(r => r.Name.StartsWith("noop", StringComparison.Ordinal) && r.Clients == 1).P50Ms;
        double service = results.First(r => r.Name == "predict 1 row" && r.Clients == 1).P50Ms;
        bool within = service <= 5 * (p50 + floor);
        Console.WriteLine($"service p50 one row, 1 client: {service:F3} ms; 5 x (in-process {p50:F4} + floor {floor:F3}) = {5 * (p50 + floor):F3} ms: {(within ? "within" : "NOT within")}");
        return within && results.All(r => r.Errors == 0) ? 0 : 1;
    }

    async Task<int> Swap()
    {
        SwapReport report = await Runs.SwapAsync(models, directory, (int)Number("clients", 32), (int)Number("swaps", 100),
            TimeSpan.FromMilliseconds(Number("period-ms", 500)), TimeSpan.FromSeconds(Number("seconds", 300)), Console.WriteLine);
        Console.WriteLine(report);
        bool pass = report.Load.Count(Outcome.Failed) == 0 && report.Load.Count(Outcome.Mixed) == 0 && report.Swaps >= (int)Number("swaps", 100)
                    && report.UnobservedSwaps == 0 && report.BadFilesServed == 0 && report.Alive;
        Console.WriteLine(pass ? "swap run: PASS" : "swap run: FAIL");
        return pass ? 0 : 1;
    }

    async Task<int> Hostile()
    {
        HostileReport report = await Runs.HostileAsync(models, directory, (int)Number("clients", 32), (long)Number("requests", 1_000_000),
            TimeSpan.FromSeconds(Number("seconds", 30)), (int)Number("raw", 5));
        Console.WriteLine(report);
        bool pass = report.GoodOk == report.Good && report.BadRejected == report.Bad && report.RawRejected == report.RawClients
                    && report.ServiceFailed == 0 && report.Alive && report.ServesAfter;
        Console.WriteLine(pass ? "hostile run: PASS" : "hostile run: FAIL");
        return pass ? 0 : 1;
    }

    async Task<int> Soak()
    {
        var duration = TimeSpan.FromSeconds(Number("seconds", 300));
        double boundMiB = Number("bound-mib", 512);
        (LoadResult load, List<SoakSample> samples, bool alive) = await Runs.SoakAsync(models, directory, (int)Number("clients", 128), duration,
            TimeSpan.FromSeconds(Number("sample-seconds", 5)), Console.WriteLine);
        Console.WriteLine(load);
        // The first fifth of the run is warm-up (JIT tiers, pools and GC budgets grow); flatness is judged on the rest.
        SoakSample[] steady = samples.Where(s => s.Seconds >= duration.TotalSeconds / 5).ToArray();
        SoakSample[] firstHalf = steady.Take(steady.Length / 2).ToArray(), secondHalf = steady.Skip(steady.Length / 2).ToArray();
        double Mib(long bytes) => bytes / 1048576.0;
        double PerRequest(SoakSample[] part) => part.Length < 2 ? double.NaN
            : (double)(part[^1].AllocatedBytes - part[0].AllocatedBytes) / Math.Max(1, part[^1].Requests - part[0].Requests);
        double maxAll = Mib(samples.Max(s => s.ResidentBytes));
        double steadyMin = Mib(steady.Min(s => s.ResidentBytes)), steadyMax = Mib(steady.Max(s => s.ResidentBytes));
        double firstMean = Mib((long)firstHalf.Average(s => s.ResidentBytes)), secondMean = Mib((long)secondHalf.Average(s => s.ResidentBytes));
        double allocFirst = PerRequest(firstHalf), allocSecond = PerRequest(secondHalf);
        Console.WriteLine($"RSS: max {maxAll:F1} MiB over the whole run (bound {boundMiB} MiB); after warm-up {steadyMin:F1} to {steadyMax:F1} MiB, "
                          + $"mean {firstMean:F1} MiB in the first half and {secondMean:F1} MiB in the second");
        Console.WriteLine($"allocations per request: {allocFirst:N0} bytes in the first half, {allocSecond:N0} bytes in the second");
        bool flat = secondMean <= firstMean * 1.10 + 8 && allocSecond <= allocFirst * 1.10 + 64;
        bool pass = alive && load.Errors == 0 && maxAll <= boundMiB && flat;
        Console.WriteLine(pass ? "soak: PASS (flat, under the bound)" : $"soak: FAIL (alive {alive}, errors {load.Errors}, flat {flat}, under bound {maxAll <= boundMiB})");
        return pass ? 0 : 1;
    }
}
finally
{
    Directory.Delete(directory, recursive: true);
}
