using System;
using System.Linq;
using System.Reflection;
using System.Runtime.CompilerServices;

namespace Microsoft.ML.Fff;

/// <summary>
/// Refuses to run against an ML.NET version outside the range our compiled access to its internals was built for
/// (build/Publicize.targets). ML.NET keeps every assembly version at 1.0.0.0, so the loader binds any release and a
/// mismatch would otherwise surface later as a MissingMethodException or TypeLoadException somewhere deep in a Fit.
/// </summary>
internal static class MlNetVersionCheck
{
    /// <summary>The ML.NET assemblies whose internals we compile against (the FffPublicize items of the project).</summary>
    internal static readonly string[] CheckedAssemblies = { "Microsoft.ML.Core", "Microsoft.ML.Data" };

    /// <summary>
    /// Runs once, before any code of this assembly: a method that binds to a missing ML.NET member fails when it is
    /// compiled, so a check placed inside the catalog, trainer or model-load methods themselves could come too late.
    /// </summary>
#pragma warning disable CA2255 // A library module initializer on purpose: see the summary above.
    [ModuleInitializer]
#pragma warning restore CA2255
    internal static void EnsureSupported()
    {
        Assembly self = typeof(MlNetVersionCheck).Assembly;
        Version minimum = ParseVersion(Metadata(self, "MlNetFff.MlNetMinimum"));
        Version below = ParseVersion(Metadata(self, "MlNetFff.MlNetBelow"));
        string compiledAgainst = Metadata(self, "MlNetFff.CompiledAgainstMlNet");
        foreach (string name in CheckedAssemblies)
        {
            Assembly loaded = Assembly.Load(new AssemblyName(name));
            string? problem = Describe(name, LoadedVersion(loaded), loaded.Location, minimum, below, compiledAgainst);
            if (problem != null)
                throw new InvalidOperationException(problem);
        }
    }

    /// <summary>The error message for a loaded ML.NET assembly outside [minimum, below), or null when it is inside.</summary>
    internal static string? Describe(string assemblyName, Version? loaded, string location, Version minimum, Version below, string compiledAgainst)
    {
        if (loaded != null && loaded >= minimum && loaded < below)
            return null;
        string found = loaded == null ? "a version without version information" : "version " + loaded.ToString(3);
        return $"MlNetFff {typeof(MlNetVersionCheck).Assembly.GetName().Version?.ToString(3)} supports ML.NET [{minimum.ToString(3)}, {below.ToString(3)}) " +
               $"(it was compiled against ML.NET {compiledAgainst} internals), but this process loaded {assemblyName} {found}" +
               (string.IsNullOrEmpty(location) ? "." : $" from {location}.") + Environment.NewLine +
               $"Reference Microsoft.ML {minimum.ToString(3)} or a later {minimum.Major}.x release from the application, or use the MlNetFff version built for that ML.NET.";
    }

    /// <summary>The release version of an ML.NET assembly: its informational version ("6.0.0+commit"), else its file version.</summary>
    internal static Version? LoadedVersion(Assembly assembly)
    {
        string? informational = assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion;
        string? text = informational?.Split('+', '-')[0] ?? assembly.GetCustomAttribute<AssemblyFileVersionAttribute>()?.Version;
        return Version.TryParse(text, out Version? version) ? Normalize(version) : null;
    }

    private static string Metadata(Assembly assembly, string key) =>
        assembly.GetCustomAttributes<AssemblyMetadataAttribute>().FirstOrDefault(a => a.Key == key)?.Value
        ?? throw new InvalidOperationException($"Assembly metadata '{key}' is missing from {assembly.GetName().Name}: the build did not record the supported ML.NET range.");

    private static Version ParseVersion(string text) => Normalize(Version.Parse(text));

    // "6.0.0" and a file version "6.0.26.55901" must compare on major.minor.patch only.
    private static Version Normalize(Version v) => new(v.Major, Math.Max(v.Minor, 0), Math.Max(v.Build, 0));
}
