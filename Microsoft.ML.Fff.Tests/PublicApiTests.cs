using System;
using System.Collections.Generic;
using System.Linq;
using System.Reflection;
using Microsoft.ML.Fff;
using Microsoft.ML.Fff.FastFeedForward;
using Microsoft.VisualStudio.TestTools.UnitTesting;

namespace Microsoft.ML.Fff.Tests;

/// <summary>
/// The library compiles against publicized ML.NET assemblies, so the compiler cannot warn when our public API exposes an
/// ML.NET internal. This test walks every member a consumer can reach and checks each type it mentions is public.
/// (This test project itself also compiles as a plain consumer: it references ML.NET as shipped.)
/// </summary>
[TestClass]
public sealed class PublicApiTests
{
    [TestMethod]
    public void PublicApiExposesOnlyPublicTypes()
    {
        var problems = new List<string>();
        Assembly library = typeof(FastFeedForwardNetwork).Assembly;
        foreach (Type type in library.GetExportedTypes())
        {
            if (type.BaseType != null && !IsVisible(type.BaseType))
                problems.Add($"{type}: base type {type.BaseType} is not public");
            bool extensible = !type.IsSealed && type.GetConstructors(BindingFlags.Instance | BindingFlags.Public | BindingFlags.NonPublic)
                .Any(c => c.IsPublic || c.IsFamily || c.IsFamilyOrAssembly);
            const BindingFlags flags = BindingFlags.Instance | BindingFlags.Static | BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.DeclaredOnly;
            foreach (MemberInfo member in type.GetMembers(flags))
            {
                if (!Reachable(member, extensible))
                    continue;
                foreach (Type mentioned in Mentions(member))
                {
                    if (!IsVisible(mentioned))
                        problems.Add($"{type}.{member.Name} mentions non-public {mentioned}");
                }
            }
        }
        Assert.IsEmpty(problems, string.Join(Environment.NewLine, problems));
    }

    [TestMethod]
    public void PublicApiIsDocumentedInTheXmlFile()
    {
        string xml = System.IO.Path.ChangeExtension(typeof(FastFeedForwardNetwork).Assembly.Location, ".xml");
        Assert.IsTrue(System.IO.File.Exists(xml), "the library ships its XML documentation");
        StringAssert.Contains(System.IO.File.ReadAllText(xml), "T:Microsoft.ML.Fff.FastFeedForward.FastFeedForwardBinaryTrainer");
    }

    private static bool Reachable(MemberInfo member, bool extensible)
    {
        static bool Accessible(MethodBase? m, bool ext) => m != null && (m.IsPublic || ext && (m.IsFamily || m.IsFamilyOrAssembly));
        return member switch
        {
            MethodBase m => Accessible(m, extensible),
            FieldInfo f => f.IsPublic || extensible && (f.IsFamily || f.IsFamilyOrAssembly),
            PropertyInfo p => Accessible(p.GetMethod, extensible) || Accessible(p.SetMethod, extensible),
            EventInfo e => Accessible(e.AddMethod, extensible),
            Type t => t.IsNestedPublic,
            _ => false,
        };
    }

    private static IEnumerable<Type> Mentions(MemberInfo member) => member switch
    {
        MethodInfo m => m.GetParameters().Select(p => p.ParameterType).Append(m.ReturnType),
        ConstructorInfo c => c.GetParameters().Select(p => p.ParameterType),
        FieldInfo f => new[] { f.FieldType },
        PropertyInfo p => new[] { p.PropertyType },
        EventInfo e => new[] { e.EventHandlerType! },
        _ => Array.Empty<Type>(),
    };

    private static bool IsVisible(Type type)
    {
        while (type.HasElementType)
            type = type.GetElementType()!;
        if (type.IsGenericParameter)
            return true;
        if (!type.IsVisible)
            return false;
        return !type.IsGenericType || type.GetGenericArguments().All(IsVisible);
    }
}
