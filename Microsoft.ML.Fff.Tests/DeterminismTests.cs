using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.IO;
using System.IO.Compression;
using System.Linq;
using System.Reflection;
using System.Threading.Tasks;
using MlNetFff.Tools;
using Microsoft.VisualStudio.TestTools.UnitTesting;

namespace Microsoft.ML.Fff.Tests;

/// <summary>
/// Training is reproducible across processes: the same task, seed and options give the same model payload and the same
/// predictions whether trained by tools/FffTrainOnce in two separate processes or in this process (the same code,
/// ReferenceTraining.cs, compiled into both); another seed gives another model.
/// </summary>
[TestClass]
public sealed class DeterminismTests
{
    private const int Seed = 7;
    // The thread count is part of the options that must match: on this project's CI machine libtorch's results
    // differ between 1 and 2 threads (docs/reliability-concurrency-determinism.md). One thread also keeps the three
    // concurrent runs from fighting over the cores.
    private const int Threads = 1;

    [TestMethod]
    [DataRow("binary")]
    [DataRow("multiclass")]
    [DataRow("regression")]
    public void SameSeedGivesIdenticalModelsInSeparateProcessesAndInProcess(string task)
    {
        string directory = Directory.CreateTempSubdirectory("fff-determinism-").FullName;
        try
        {
            var clock = Stopwatch.StartNew();
            string first = Path.Combine(directory, "process-1.zip"), second = Path.Combine(directory, "process-2.zip");
            string inProcess = Path.Combine(directory, "in-process.zip");
            // The two processes and the in-process run train at the same time.
            Task firstRun = RunTrainOnceAsync(task, Seed, first);
            Task secondRun = RunTrainOnceAsync(task, Seed, second);
            ReferenceTraining.TrainAndSave(task, Seed, inProcess, Threads);
            Task.WaitAll(firstRun, secondRun);
            Console.WriteLine($"{task}: two processes and one in-process run trained in {clock.ElapsedMilliseconds} ms");

            Dictionary<string, byte[]> reference = Payload(inProcess);
            AssertSamePayload(reference, Payload(first), "process 1 vs in-process");
            AssertSamePayload(reference, Payload(second), "process 2 vs in-process");

            int[] expected = Predictions(inProcess, task);
            CollectionAssert.AreEqual(expected, Predictions(first, task), "process 1 predicts differently");
            CollectionAssert.AreEqual(expected, Predictions(second, task), "process 2 predicts differently");
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    [TestMethod]
    public void DifferentSeedGivesADifferentModel()
    {
        string directory = Directory.CreateTempSubdirectory("fff-determinism-").FullName;
        try
        {
            string seven = Path.Combine(directory, "seed-7.zip"), eight = Path.Combine(directory, "seed-8.zip");
            ReferenceTraining.TrainAndSave("multiclass", Seed, seven, Threads);
            ReferenceTraining.TrainAndSave("multiclass", Seed + 1, eight, Threads);
            Dictionary<string, byte[]> a = Payload(seven), b = Payload(eight);
            CollectionAssert.AreEquivalent(a.Keys.ToArray(), b.Keys.ToArray(), "the same pipeline has the same entries");
            string[] differing = a.Keys.Where(name => !a[name].AsSpan().SequenceEqual(b[name])).ToArray();
            Assert.HasCount(1, differing, "only the FFF model entry depends on the seed: " + string.Join(", ", differing));
            CollectionAssert.AreNotEqual(Predictions(seven, "multiclass"), Predictions(eight, "multiclass"));
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    /// <summary>The uncompressed bytes of each zip entry by name (the zip itself stores timestamps).</summary>
    private static Dictionary<string, byte[]> Payload(string path)
    {
        using ZipArchive archive = ZipFile.OpenRead(path);
        return archive.Entries.ToDictionary(e => e.FullName, e =>
        {
            using Stream s = e.Open();
            var bytes = new MemoryStream();
            s.CopyTo(bytes);
            return bytes.ToArray();
        }, StringComparer.Ordinal);
    }

    private static void AssertSamePayload(Dictionary<string, byte[]> expected, Dictionary<string, byte[]> actual, string what)
    {
        CollectionAssert.AreEquivalent(expected.Keys.ToArray(), actual.Keys.ToArray(), $"{what}: different zip entries");
        foreach ((string name, byte[] bytes) in expected)
        {
            ReadOnlySpan<byte> other = actual[name];
            int common = Math.Min(bytes.Length, other.Length);
            int firstDifference = bytes.AsSpan(0, common).CommonPrefixLength(other.Slice(0, common));
            Assert.IsTrue(bytes.AsSpan().SequenceEqual(other),
                $"{what}: entry {name} differs ({bytes.Length} vs {other.Length} bytes, first difference at byte {firstDifference})");
        }
    }

    /// <summary>Score (and Probability) bits of the saved model, loaded on a fresh MLContext, over the task's data.</summary>
    private static int[] Predictions(string path, string task)
    {
        var mlContext = new MLContext(seed: 123);
        ITransformer model = mlContext.Model.Load(path, out _);
        return EstimatorWorkout.Bits(EstimatorWorkout.ReadScores(model.Transform(ReferenceTraining.Data(mlContext, task))));
    }

    private static async Task RunTrainOnceAsync(string task, int seed, string output)
    {
        string app = typeof(DeterminismTests).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>()
            .Single(a => a.Key == "TrainOnceApp").Value!;
        Assert.IsTrue(File.Exists(app), $"The training tool was not built at {app}");
        string dotnet = Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } host ? host : "dotnet";
        var start = new ProcessStartInfo(dotnet)
        {
            RedirectStandardError = true,
            RedirectStandardOutput = true,
            UseShellExecute = false,
        };
        foreach (string argument in new[] { app, task, seed.ToString(System.Globalization.CultureInfo.InvariantCulture), output, "--threads", Threads.ToString(System.Globalization.CultureInfo.InvariantCulture) })
            start.ArgumentList.Add(argument);
        using Process process = Process.Start(start)!;
        Task<string> stdout = process.StandardOutput.ReadToEndAsync();
        Task<string> stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new System.Threading.CancellationTokenSource(TimeSpan.FromMinutes(3));
        try
        {
            await process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            Assert.Fail($"FffTrainOnce {task} {seed} hung");
        }
        Assert.AreEqual(0, process.ExitCode, $"FffTrainOnce failed: {await stdout}{await stderr}");
        Console.WriteLine((await stdout).Trim());
    }
}
