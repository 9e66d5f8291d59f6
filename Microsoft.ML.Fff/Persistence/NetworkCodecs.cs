using System;
using System.Collections.Generic;
using System.Linq;
using System.Reflection;
using Microsoft.ML.Fff.Scoring;

namespace Microsoft.ML.Fff.Persistence;

/// <summary>What persistence needs from a network kind: its stored code and how to read its payload back.</summary>
internal interface INetworkCodec
{
    /// <summary>The int32 stored before the payload; unique across kinds and never reused.</summary>
    int Code { get; }

    /// <summary>The network class this kind scores with.</summary>
    Type NetworkType { get; }

    /// <summary>Reads the payload (everything after the kind code) written by the network's <c>SavePayload</c>.</summary>
    /// <param name="payload">Positioned at the payload, with the bytes it may use.</param>
    /// <param name="formatVersion">The model file's format version (<see cref="ModelFormat"/>).</param>
    FeedForwardNetwork ReadPayload(PayloadReader payload, uint formatVersion);
}

/// <summary>
/// Registers a plug-in of this assembly (a network kind's descriptor, a trainer family) the way ML.NET's <c>LoadableClass</c>
/// registers loaders: one assembly attribute next to the plug-in, read once by the registry that wants its kind of plug-in.
/// The type needs a public parameterless constructor.
/// </summary>
[AttributeUsage(AttributeTargets.Assembly, AllowMultiple = true)]
internal sealed class NetworkPluginAttribute : Attribute
{
    public NetworkPluginAttribute(Type type) => Type = type;

    /// <summary>The plug-in's type.</summary>
    public Type Type { get; }
}

/// <summary>The registered kinds, by stored code and by network type. Persistence asks here and never names a kind.</summary>
internal static class NetworkCodecs
{
    private static readonly Lazy<INetworkCodec[]> s_all = new(() => Registrations.Create<INetworkCodec>()
        .OrderBy(c => c.Code)
        .ToArray());

    private static readonly Lazy<Dictionary<int, INetworkCodec>> s_byCode = new(() => s_all.Value.ToDictionary(c => c.Code));

    private static readonly Lazy<Dictionary<Type, INetworkCodec>> s_byType = new(() => s_all.Value.ToDictionary(c => c.NetworkType));

    /// <summary>Every registered kind, in code order.</summary>
    public static IReadOnlyList<INetworkCodec> All => s_all.Value;

    /// <summary>The kind stored under <paramref name="code"/>, or null for an unknown code.</summary>
    public static INetworkCodec? Find(int code) => s_byCode.Value.GetValueOrDefault(code);

    /// <summary>The kind of <paramref name="network"/>; every network class is registered.</summary>
    public static INetworkCodec For(FeedForwardNetwork network) => s_byType.Value[network.GetType()];
}

/// <summary>The plug-ins this assembly registers with <see cref="NetworkPluginAttribute"/>.</summary>
internal static class Registrations
{
    /// <summary>One instance of each registered type that is a <typeparamref name="T"/>.</summary>
    public static IEnumerable<T> Create<T>() => typeof(Registrations).Assembly.GetCustomAttributes<NetworkPluginAttribute>()
        .Where(a => typeof(T).IsAssignableFrom(a.Type))
        .Select(a => (T)Activator.CreateInstance(a.Type)!);
}
