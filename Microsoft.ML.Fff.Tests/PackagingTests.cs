using System;
using System.Diagnostics;
using System.IO;
using System.Linq;
using System.Reflection;
using System.Text.RegularExpressions;
using Microsoft.ML.Fff.Training;
using Microsoft.VisualStudio.TestTools.UnitTesting;

namespace Microsoft.ML.Fff.Tests;

/// <summary>
/// What a user of the package meets when the environment is wrong: an ML.NET version outside the supported range, and a
/// libtorch that cannot load. Both must fail early, in a few lines, naming the real cause and the fix.
/// </summary>
[TestClass]
public sealed class PackagingTests
{
    // The DllNotFoundException message .NET 10 gave on Debian 12 for an unpatched libLibTorchSharp.so (trimmed).
    private const string GlibcxxLoaderMessage =
        "Unable to load shared library 'LibTorchSharp' or one of its dependencies. In order to help diagnose loading problems, consider using a tool like strace. If you're using glibc, consider setting the LD_DEBUG environment variable: \n" +
        "/app/runtimes/linux-x64/native/LibTorchSharp.so: cannot open shared object file: No such file or directory\n" +
        "/usr/share/dotnet/shared/Microsoft.NETCore.App/10.0.12/LibTorchSharp.so: cannot open shared object file: No such file or directory\n" +
        "/lib/x86_64-linux-gnu/libstdc++.so.6: version `GLIBCXX_3.4.32' not found (required by /app/runtimes/linux-x64/native/libLibTorchSharp.so)\n" +
        "/app/libLibTorchSharp.so: cannot open shared object file: No such file or directory\n";

    private const string MissingLoaderMessage =
        "Unable to load shared library 'LibTorchSharp' or one of its dependencies. In order to help diagnose loading problems, consider using a tool like strace. If you're using glibc, consider setting the LD_DEBUG environment variable: \n" +
        "/app/LibTorchSharp.so: cannot open shared object file: No such file or directory\n" +
        "/app/libLibTorchSharp.so: cannot open shared object file: No such file or directory\n";

    [TestMethod]
    public void TorchLoadError_NamesTheMissingSymbolVersionAndTheFixOnce()
    {
        Assert.IsTrue(TorchLoadFailure.IsMissingSymbolVersion(GlibcxxLoaderMessage));
        string message = TorchLoadFailure.Describe(GlibcxxLoaderMessage);
        StringAssert.Contains(message, "/app/runtimes/linux-x64/native/libLibTorchSharp.so requires GLIBCXX_3.4.32, which this host's /lib/x86_64-linux-gnu/libstdc++.so.6 does not provide");
        StringAssert.Contains(message, "MlNetFff package");
        StringAssert.Contains(message, "MlNetFffGlibcxxPatch=always");
        StringAssert.Contains(message, "GCC 13");
        Assert.AreEqual(2, message.Split('\n').Length, message);
        Assert.DoesNotContain("cannot open shared object file", message);
        Assert.DoesNotContain("TorchSharp-cpu", message, "the app does reference libtorch; the fix is elsewhere");
    }

    [TestMethod]
    public void TorchLoadError_WithoutTheLibrary_SaysWhichPackageToReference()
    {
        Assert.IsFalse(TorchLoadFailure.IsMissingSymbolVersion(MissingLoaderMessage));
        string message = TorchLoadFailure.Describe(MissingLoaderMessage);
        StringAssert.Contains(message, "/app/libLibTorchSharp.so: cannot open shared object file");
        StringAssert.Contains(message, "TorchSharp-cpu 0.107.0");
        Assert.AreEqual(2, message.Split('\n').Length, message);

        // TorchSharp's own message (non-Linux, or no loader message): its first line only, never its 100-line trace.
        string torchSharp = "This application or script uses TorchSharp but doesn't contain a reference to libtorch-cpu-linux-x64, Version=2.10.0.0.\n\nTrace from LoadNativeBackend:\n\n    Step 1";
        string fromTorchSharp = TorchLoadFailure.Describe(torchSharp);
        Assert.DoesNotContain("Trace from LoadNativeBackend", fromTorchSharp);
        Assert.AreEqual(2, fromTorchSharp.Split('\n').Length, fromTorchSharp);
    }

    /// <summary>
    /// A build output that the glibc patch did not reach (the NuGet cache's original libLibTorchSharp.so put back in a copy
    /// of tools/FffTrainOnce): on a host without GLIBCXX_3.4.32 training fails at once with our two-line message, nothing on
    /// stdout and no libtorch copied next to the app; on a host with it, training works.
    /// </summary>
    [TestMethod]
    [Timeout(300_000, CooperativeCancellation = true)]
    public void UnpatchedTorchSharp_FailsWithTheShortError()
    {
        if (!OperatingSystem.IsLinux() || !Environment.Is64BitProcess || System.Runtime.InteropServices.RuntimeInformation.ProcessArchitecture != System.Runtime.InteropServices.Architecture.X64)
            Assert.Inconclusive("Linux x64 only: the glibc patch applies to Linux build outputs.");
        string original = Path.Combine(Metadata("NuGetPackageRoot"), "torchsharp", "0.107.0", "runtimes", "linux-x64", "native", "libLibTorchSharp.so");
        Assert.IsTrue(File.Exists(original), original);
        string app = Path.GetFullPath(Metadata("TrainOnceApp"));
        string source = Path.GetDirectoryName(app)!;
        string copy = Path.Combine(Path.GetTempPath(), "fff-unpatched-" + Guid.NewGuid().ToString("N"));
        try
        {
            // The managed files are copied (the host resolves the app's real path); the large native files are linked.
            foreach (string file in Directory.EnumerateFiles(source))
                File.Copy(file, Path.Combine(copy, Path.GetFileName(file)).EnsureDirectory());
            foreach (string file in Directory.EnumerateFiles(Path.Combine(source, "runtimes"), "*", SearchOption.AllDirectories))
            {
                string target = Path.Combine(copy, Path.GetRelativePath(source, file)).EnsureDirectory();
                if (Path.GetFileName(file) == "libLibTorchSharp.so" && file.Contains("linux-x64", StringComparison.Ordinal))
                    File.Copy(original, target);
                else
                    File.CreateSymbolicLink(target, file);
            }

            (int exitCode, string stdout, string stderr) = RunDotnet(Path.Combine(copy, Path.GetFileName(app)), "binary", "1", Path.Combine(copy, "model.zip"));
            if (HostHasGlibcxx("GLIBCXX_3.4.32"))
            {
                Assert.AreEqual(0, exitCode, $"this host's libstdc++ has GLIBCXX_3.4.32, so the original library must load:\n{stdout}\n{stderr}");
                return;
            }
            Assert.AreNotEqual(0, exitCode, stdout);
            StringAssert.Contains(stderr, "System.InvalidOperationException: Training needs libtorch, but TorchSharp's native library could not be loaded");
            StringAssert.Contains(stderr, "libLibTorchSharp.so requires GLIBCXX_3.4.32, which this host's");
            Assert.AreEqual(1, Regex.Matches(stderr, "To fix:").Count, stderr);
            Assert.AreEqual(string.Empty, stdout.Trim(), "TorchSharp printed to stdout");
            Assert.IsFalse(Directory.Exists(Path.Combine(copy, "cpu")), "TorchSharp copied libtorch next to the app");
        }
        finally
        {
            if (Directory.Exists(copy))
                Directory.Delete(copy, recursive: true);
        }
    }

    [TestMethod]
    public void MlNetVersion_OutsideTheRange_IsRefusedWithTheVersions()
    {
        var minimum = new Version(6, 0, 0);
        var below = new Version(7, 0, 0);
        Assert.IsNull(MlNetVersionCheck.Describe("Microsoft.ML.Data", new Version(6, 0, 0), "/app/Microsoft.ML.Data.dll", minimum, below, "6.0.0"));
        Assert.IsNull(MlNetVersionCheck.Describe("Microsoft.ML.Data", new Version(6, 2, 1), "/app/Microsoft.ML.Data.dll", minimum, below, "6.0.0"));
        foreach (Version? loaded in new[] { new Version(5, 0, 1), new Version(7, 0, 0), null })
        {
            string? message = MlNetVersionCheck.Describe("Microsoft.ML.Data", loaded, "/app/Microsoft.ML.Data.dll", minimum, below, "6.0.0");
            Assert.IsNotNull(message, loaded?.ToString());
            StringAssert.Contains(message, "supports ML.NET [6.0.0, 7.0.0)");
            StringAssert.Contains(message, "compiled against ML.NET 6.0.0");
            StringAssert.Contains(message, "loaded Microsoft.ML.Data " + (loaded == null ? "a version without version information" : "version " + loaded.ToString(3)));
            StringAssert.Contains(message, "Reference Microsoft.ML 6.0.0 or a later 6.x release");
        }
    }

    [TestMethod]
    public void MlNetVersion_InThisProcess_IsTheOneWeCompiledAgainst()
    {
        Assembly library = typeof(MlNetVersionCheck).Assembly;
        string compiled = library.GetCustomAttributes<AssemblyMetadataAttribute>().Single(a => a.Key == "MlNetFff.CompiledAgainstMlNet").Value!;
        Assert.AreEqual("6.0.0", compiled);
        Assert.AreEqual(new Version(6, 0, 0), MlNetVersionCheck.LoadedVersion(typeof(MLContext).Assembly));
        foreach (string name in MlNetVersionCheck.CheckedAssemblies)
            Assert.AreEqual(new Version(6, 0, 0), MlNetVersionCheck.LoadedVersion(Assembly.Load(new AssemblyName(name))), name);
        MlNetVersionCheck.EnsureSupported();
    }

    /// <summary>
    /// The scoring app with ML.NET 5.0.1's Core and Data assemblies in place of 6.0.0's (ML.NET keeps assembly version
    /// 1.0.0.0, so the loader takes them): it must stop at the first use of our library with the version message, not with
    /// a MissingMethodException later.
    /// </summary>
    [TestMethod]
    [Timeout(300_000, CooperativeCancellation = true)]
    public void MlNetVersion_MismatchedAtRunTime_FailsFastWithTheVersionMessage()
    {
        string old = Path.Combine(Metadata("NuGetPackageRoot"), "microsoft.ml", "5.0.1", "lib", "netstandard2.0");
        Assert.IsTrue(Directory.Exists(old), old + " (the test project downloads Microsoft.ML 5.0.1 for this test)");
        string app = Path.GetFullPath(Metadata("ScoringOnlyApp"));
        string copy = Path.Combine(Path.GetTempPath(), "fff-mlnet501-" + Guid.NewGuid().ToString("N"));
        try
        {
            foreach (string file in Directory.EnumerateFiles(Path.GetDirectoryName(app)!, "*", SearchOption.AllDirectories))
                File.Copy(file, Path.Combine(copy, Path.GetRelativePath(Path.GetDirectoryName(app)!, file)).EnsureDirectory());
            foreach (string name in MlNetVersionCheck.CheckedAssemblies)
                File.Copy(Path.Combine(old, name + ".dll"), Path.Combine(copy, name + ".dll"), overwrite: true);
            string model = Path.Combine(AppContext.BaseDirectory, "Assets", "fff-format1-binary.zip");

            (int exitCode, string stdout, string stderr) = RunDotnet(Path.Combine(copy, Path.GetFileName(app)), model);
            Assert.AreNotEqual(0, exitCode, stdout);
            StringAssert.Contains(stderr, "supports ML.NET [6.0.0, 7.0.0) (it was compiled against ML.NET 6.0.0 internals), but this process loaded Microsoft.ML.Core version 5.0.1");
            Assert.DoesNotContain("MissingMethodException", stderr);
            Assert.DoesNotContain("TypeLoadException", stderr);
        }
        finally
        {
            if (Directory.Exists(copy))
                Directory.Delete(copy, recursive: true);
        }
    }

    private static string Metadata(string key) =>
        typeof(PackagingTests).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>().Single(a => a.Key == key).Value!;

    private static bool HostHasGlibcxx(string version)
    {
        string? library = new[] { "/usr/lib/x86_64-linux-gnu/libstdc++.so.6", "/lib/x86_64-linux-gnu/libstdc++.so.6", "/usr/lib64/libstdc++.so.6" }.FirstOrDefault(File.Exists);
        return library != null && File.ReadAllText(library, System.Text.Encoding.Latin1).Contains(version + "\0", StringComparison.Ordinal);
    }

    private static (int ExitCode, string Stdout, string Stderr) RunDotnet(string app, params string[] arguments)
    {
        string dotnet = Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } host ? host : "dotnet";
        var start = new ProcessStartInfo(dotnet) { RedirectStandardError = true, RedirectStandardOutput = true, UseShellExecute = false };
        start.ArgumentList.Add(app);
        foreach (string argument in arguments)
            start.ArgumentList.Add(argument);
        using Process process = Process.Start(start)!;
        var stderrTask = process.StandardError.ReadToEndAsync();
        string stdout = process.StandardOutput.ReadToEnd();
        Assert.IsTrue(process.WaitForExit(240_000), $"{Path.GetFileName(app)} hung");
        return (process.ExitCode, stdout, stderrTask.Result);
    }
}

internal static class PathExtensions
{
    /// <summary>Creates the parent directory of a file path; returns the path.</summary>
    public static string EnsureDirectory(this string path)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        return path;
    }
}
