// Writes the cached MNIST idx files as PNG files: {output}/{train,test}/{digit}/{index}.png, index = position in the idx file.
//   dotnet run --project tools/FffMnistPng -c Release -- [idxDirectory] [outputDirectory] [maxRowsPerSplit]
// Defaults: ${FFF_DATA_CACHE:-~/.cache/mlnetfff}/mnist and .../mnist-png. scripts/fetch-mnist-png.sh runs it.
using System;
using System.Diagnostics;
using System.IO;
using Microsoft.ML.Fff;
using Microsoft.ML.Fff.Tools;

string idx = args.Length > 0 ? args[0] : FffSampleData.DefaultMnistDirectory;
string output = args.Length > 1 ? args[1] : Path.Combine(Path.GetDirectoryName(FffSampleData.DefaultMnistDirectory)!, "mnist-png");
int? maxRows = args.Length > 2 ? int.Parse(args[2], System.Globalization.CultureInfo.InvariantCulture) : null;
var clock = Stopwatch.StartNew();
foreach (bool test in new[] { false, true })
{
    int written = MnistPng.WriteSplit(idx, output, test, maxRows);
    Console.WriteLine($"{written} {(test ? "test" : "training")} images written to {Path.Combine(output, test ? "test" : "train")}");
}
Console.WriteLine($"Done in {clock.Elapsed.TotalSeconds:F1} s.");
