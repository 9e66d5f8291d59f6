// The compiler sees publicized copies of these assemblies (build/Publicize.targets); this attribute asks
// CoreCLR to skip the matching run-time access checks. Each name must be a real, non-empty assembly name:
// an empty one makes every type in this assembly fail to load with a misleading TypeLoadException.
[assembly: System.Runtime.CompilerServices.IgnoresAccessChecksTo("Microsoft.ML.Core")]
[assembly: System.Runtime.CompilerServices.IgnoresAccessChecksTo("Microsoft.ML.Data")]

namespace System.Runtime.CompilerServices
{
    /// <summary>Honoured by CoreCLR (not declared by the BCL): lets this assembly reach non-public members of the named one.</summary>
    [AttributeUsage(AttributeTargets.Assembly, AllowMultiple = true)]
    internal sealed class IgnoresAccessChecksToAttribute : Attribute
    {
        public IgnoresAccessChecksToAttribute(string assemblyName) => AssemblyName = assemblyName;

        public string AssemblyName { get; }
    }
}
