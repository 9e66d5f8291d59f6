using System;
using System.Runtime.InteropServices;
using System.Text.RegularExpressions;
using TorchSharp;

namespace Microsoft.ML.Fff.Training;

/// <summary>
/// Turns a failure to load TorchSharp's native library into a few lines that name the loader's own reason and the fix.
/// TorchSharp's own error is about 100 lines, printed to stdout before it is thrown, and on Debian 12 it blames a
/// missing libtorch reference when the real cause is a symbol version the host's libstdc++ lacks.
/// </summary>
internal static partial class TorchLoadFailure
{
    /// <summary>The libtorch package the README tells an app that trains to reference.</summary>
    internal const string CpuPackage = "TorchSharp-cpu 0.107.0";

    /// <summary>
    /// Loads the native shim the way TorchSharp's first step does (by name, next to TorchSharp's assembly and through the
    /// app's native search paths). Returns the loader's error, or null when the library loads.
    /// </summary>
    internal static DllNotFoundException? ProbeNativeShim()
    {
        try
        {
            NativeLibrary.Load("LibTorchSharp", typeof(torch).Assembly, null);
            return null;
        }
        catch (DllNotFoundException e)
        {
            return e;   // becomes the inner exception of the error we throw (or is dropped when TorchSharp then loads)
        }
    }

    /// <summary>True when the dynamic loader refused a library for a symbol version the host does not provide.</summary>
    internal static bool IsMissingSymbolVersion(string loaderMessage) => MissingVersion().IsMatch(loaderMessage);

    /// <summary>The message of the exception we throw, built from the loader's (or TorchSharp's) message.</summary>
    internal static string Describe(string loaderMessage)
    {
        const string scoring = " Scoring a saved model needs no libtorch.";
        Match version = MissingVersion().Match(loaderMessage);
        if (version.Success)
        {
            return $"Training needs libtorch, but TorchSharp's native library could not be loaded: {version.Groups["by"].Value} requires " +
                   $"{version.Groups["version"].Value}, which this host's {version.Groups["lib"].Value} does not provide." + Environment.NewLine +
                   "To fix: run the app from its own build or 'dotnet publish' output with the MlNetFff package referenced; the package's " +
                   "build step marks that requirement weak when the build host lacks it (build on a newer host for this one with " +
                   "-p:MlNetFffGlibcxxPatch=always). Or install a libstdc++ from GCC 13 or newer." + scoring;
        }
        return "Training needs libtorch, but TorchSharp's native library could not be loaded: " + FirstCause(loaderMessage) + Environment.NewLine +
               $"To fix: reference the package {CpuPackage} (or a TorchSharp CUDA package of the same version) from the application that trains." + scoring;
    }

    // The loader's first line about the real file name (libLibTorchSharp.so; .NET also tries LibTorchSharp.so and other
    // spellings), else its first non-empty line after .NET's preamble.
    private static string FirstCause(string message)
    {
        string[] lines = message.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        string? named = Array.Find(lines, l => l.Contains("libLibTorchSharp.so", StringComparison.Ordinal) && l.Contains(": ", StringComparison.Ordinal));
        return named ?? (lines.Length > 1 && lines[0].StartsWith("Unable to load shared library", StringComparison.Ordinal) ? lines[1] : lines.Length > 0 ? lines[0] : "(no message)");
    }

    // glibc's dlerror text, e.g. "/lib/x86_64-linux-gnu/libstdc++.so.6: version `GLIBCXX_3.4.32' not found (required by /app/libLibTorchSharp.so)".
    [GeneratedRegex(@"(?<lib>[^\s:]+): version [`'](?<version>[^`']+)' not found \(required by (?<by>[^)]+)\)")]
    private static partial Regex MissingVersion();
}
