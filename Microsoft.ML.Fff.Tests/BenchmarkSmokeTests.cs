using System;
using System.IO;
using BenchmarkDotNet.Loggers;
using BenchmarkDotNet.Reports;
using MlNetFff.Benchmarks;
using Microsoft.VisualStudio.TestTools.UnitTesting;

namespace Microsoft.ML.Fff.Tests;

/// <summary>
/// Every benchmark of benchmarks/MlNetFff.Benchmarks runs once (BenchmarkDotNet's Job.Dry, in process, smoke-sized data),
/// so a benchmark cannot silently break. Timings are not asserted: performance is measured by the benchmarks themselves.
/// </summary>
[TestClass]
public sealed class BenchmarkSmokeTests
{
    [TestMethod]
    public void EveryBenchmarkRunsOnceWithJobDry()
    {
        bool smoke = BenchmarkModels.Smoke;
        BenchmarkModels.Smoke = true;
        string artifacts = Path.Combine(Path.GetTempPath(), "mlnetfff-bdn-" + Guid.NewGuid().ToString("N"));
        try
        {
            var logger = new AccumulationLogger();
            foreach (Type benchmark in BenchmarkSuite.All)
            {
                Summary summary = BenchmarkSuite.Run(benchmark, dry: true, quick: false, artifacts, logger);
                Assert.IsTrue(summary.BenchmarksCases.Length > 0, $"{benchmark.Name} has no benchmark cases");
                Assert.IsTrue(BenchmarkSuite.Succeeded(summary, out string problems), $"{benchmark.Name}: {problems}\n{Tail(logger.GetLog())}");
            }
            string table = BenchmarkSuite.RatioTable(Array.Empty<Summary>());
            StringAssert.Contains(table, "| 512 |");
        }
        finally
        {
            BenchmarkModels.Smoke = smoke;
            if (Directory.Exists(artifacts))
                Directory.Delete(artifacts, recursive: true);
        }
    }

    private static string Tail(string log) => log.Length <= 4000 ? log : log.Substring(log.Length - 4000);
}
