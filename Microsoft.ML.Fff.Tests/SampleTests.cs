using System;
using System.Diagnostics;
using System.IO;
using System.Linq;
using System.Reflection;
using Microsoft.VisualStudio.TestTools.UnitTesting;

namespace Microsoft.ML.Fff.Tests;

/// <summary>
/// Runs every sample as its own process with a small data cap (<c>FFF_SAMPLE_MAX_ROWS</c>, few epochs) and fails on a non-zero
/// exit code, which every sample returns on any exception. Samples that need fetched data are inconclusive (skipped) without it.
/// </summary>
[TestClass]
public sealed class SampleTests
{
    private static string SampleApp(string name)
    {
        string pattern = typeof(SampleTests).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>().Single(a => a.Key == "SampleApps").Value!;
        string app = Path.GetFullPath(string.Format(System.Globalization.CultureInfo.InvariantCulture, pattern, name));
        Assert.IsTrue(File.Exists(app), $"The sample {name} was not built at {app}");
        return app;
    }

    /// <summary>Runs a sample in <paramref name="workingDirectory"/>; returns its standard output; asserts exit code 0.</summary>
    private static string Run(string app, string workingDirectory, int maxRows, params string[] arguments)
    {
        string dotnet = Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } host ? host : "dotnet";
        var start = new ProcessStartInfo(dotnet)
        {
            RedirectStandardError = true,
            RedirectStandardOutput = true,
            UseShellExecute = false,
            WorkingDirectory = workingDirectory,
        };
        start.ArgumentList.Add(app);
        foreach (string argument in arguments)
            start.ArgumentList.Add(argument);
        start.Environment["FFF_SAMPLE_MAX_ROWS"] = maxRows.ToString(System.Globalization.CultureInfo.InvariantCulture);
        using Process process = Process.Start(start)!;
        var stderrTask = process.StandardError.ReadToEndAsync();
        string stdout = process.StandardOutput.ReadToEnd();
        Assert.IsTrue(process.WaitForExit(300_000), $"{Path.GetFileName(app)} hung");
        string stderr = stderrTask.Result;
        Assert.AreEqual(0, process.ExitCode, $"{Path.GetFileName(app)} failed:\n{stdout}\n{stderr}");
        return stdout;
    }

    /// <summary>Runs <paramref name="body"/> with a new empty directory (the samples write their artifacts there), deleted afterwards.</summary>
    private static void InTemporaryDirectory(Action<string> body)
    {
        string directory = Path.Combine(Path.GetTempPath(), "fff-sample-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(directory);
        try
        {
            body(directory);
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    [TestMethod]
    public void DigitsSampleAndScoringOnlySampleRun()
    {
        InTemporaryDirectory(directory =>
        {
            string output = Run(SampleApp("FffDigits"), directory, maxRows: 0, "2", "8", "3");
            StringAssert.Contains(output, "Hard-descent test accuracy");
            Assert.IsTrue(File.Exists(Path.Combine(directory, "artifacts", "digits-fff.zip")));
            string scored = Run(SampleApp("FffScoringOnly"), directory, maxRows: 0);
            Assert.IsFalse(string.IsNullOrWhiteSpace(scored));
        });
    }

    [TestMethod]
    public void SweepSampleRunsAndPlotsTheParetoFront()
    {
        InTemporaryDirectory(directory =>
        {
            // A 12-second sweep with 5-fold cross-validation (the sample's default): enough for a few 7-epoch trials, a front and the plot
            // (ScottPlot, in the sample's process).
            string output = Run(SampleApp("FffSweep"), directory, maxRows: 0, "12", "sh", "0", "1", "5");
            StringAssert.Contains(output, "Pareto front");
            string folder = Path.Combine(directory, "artifacts", "sweep-12s-5fold");
            byte[] png = File.ReadAllBytes(Path.Combine(folder, "pareto.png"));
            Assert.IsGreaterThan(5_000, png.Length);
            CollectionAssert.AreEqual(new byte[] { 0x89, (byte)'P', (byte)'N', (byte)'G' }, png.Take(4).ToArray());
            Assert.IsTrue(File.Exists(Path.Combine(folder, "best-model.zip")));
            StringAssert.Contains(File.ReadAllText(Path.Combine(folder, "leaderboard.md")), "|");
        });
    }

    [TestMethod]
    [TestCategory("Mnist")]
    public void ImagesSampleRunsOnMnistPngFiles()
    {
        string png = Path.Combine(Path.GetDirectoryName(FffSampleData.DefaultMnistDirectory)!, "mnist-png");
        if (!Directory.Exists(Path.Combine(png, "test")) || !File.Exists(Path.Combine(FffSampleData.DefaultMnistDirectory, "t10k-labels-idx1-ubyte")))
            Assert.Inconclusive($"The MNIST PNG folders are not in {png}; run scripts/fetch-mnist-png.sh to include this test.");
        InTemporaryDirectory(directory =>
        {
            // The sample itself fails if the PNG pixels differ from the idx arrays or the two accuracies differ by more than 0.2 pt.
            string output = Run(SampleApp("FffImages"), directory, maxRows: 500, "--epochs", "1");
            StringAssert.Contains(output, "equal the idx arrays' exactly");
            StringAssert.Contains(output, "image pipeline minus idx arrays: 0.00 pt");
            StringAssert.Contains(output, "Median per-row PredictionEngine latency");
        });
    }

    [TestMethod]
    [TestCategory("Imdb")]
    public void TextSampleRunsOnImdbReviews()
    {
        TextPipelineTests.RequireImdb();
        InTemporaryDirectory(directory =>
        {
            string output = Run(SampleApp("FffText"), directory, maxRows: 400, "--epochs", "1");
            StringAssert.Contains(output, "FeaturizeText + FFF: hard-descent test accuracy");
            StringAssert.Contains(output, "mlContext.Fff().Train on the raw table");
            StringAssert.Contains(output, "Median per-row PredictionEngine latency");
        });
    }

    [TestMethod]
    [TestCategory("Imdb")]
    public void TextSampleTrainsTheEmbeddingBagOnImdbReviews()
    {
        TextPipelineTests.RequireImdb();
        InTemporaryDirectory(directory =>
        {
            string output = Run(SampleApp("FffText"), directory, maxRows: 400, "--embedding", "--epochs", "2", "--dim", "16");
            StringAssert.Contains(output, "Token bag + embedding 16 + FFF: hard-descent test accuracy");
            StringAssert.Contains(output, "= tokenization");
            Assert.IsTrue(File.Exists(Path.Combine(directory, "artifacts", "imdb-embedding-fff.zip")), output);
        });
    }
}
