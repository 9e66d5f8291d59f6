// Trains the reference FFF model of one task on the embedded data and saves it (mlContext.Model.Save). Usage:
//   dotnet FffTrainOnce.dll <binary|multiclass|regression> <seed> <output.zip> [--threads N] [--full]
// --threads sets Options.NumberOfThreads (default: libtorch's default); --full uses the library's default shape and
// epochs instead of the small, quick options. The determinism tests run this twice as separate processes and compare
// the saved payloads with each other and with an in-process run of the same code (ReferenceTraining.cs).
using System;
using System.Diagnostics;
using System.Globalization;
using MlNetFff.Tools;

if (args.Length < 3 || Array.IndexOf(ReferenceTraining.Tasks, args[0]) < 0
    || !int.TryParse(args[1], NumberStyles.Integer, CultureInfo.InvariantCulture, out int seed))
{
    Console.Error.WriteLine("usage: FffTrainOnce <binary|multiclass|regression> <seed> <output.zip> [--threads N] [--full]");
    return 2;
}
int? threads = null;
bool full = false;
for (int i = 3; i < args.Length; i++)
{
    if (args[i] == "--full")
    {
        full = true;
    }
    else if (args[i] == "--threads" && i + 1 < args.Length && int.TryParse(args[i + 1], NumberStyles.Integer, CultureInfo.InvariantCulture, out int n) && n >= 1)
    {
        threads = n;
        i++;
    }
    else
    {
        Console.Error.WriteLine($"Unknown argument '{args[i]}'.");
        return 2;
    }
}
var clock = Stopwatch.StartNew();
ReferenceTraining.TrainAndSave(args[0], seed, args[2], threads, full);
Console.WriteLine($"Trained {args[0]} (seed {seed}, threads {threads?.ToString(CultureInfo.InvariantCulture) ?? "default"}{(full ? ", full" : "")}) in {clock.Elapsed.TotalSeconds:F1} s; saved {args[2]}");
return 0;
