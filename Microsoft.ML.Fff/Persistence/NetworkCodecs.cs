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
/// Registers a network kind (a type implementing <see cref="INetworkCodec"/> with a public parameterless constructor), the way
/// ML.NET's <c>LoadableClass</c> registers loaders: one assembly attribute next to the kind, read once by the registry.
/// </summary>
[AttributeUsage(AttributeTargets.Assembly, AllowMultiple = true)]
internal sealed class NetworkKindAttribute : Attribute
{
    public NetworkKindAttribute(Type descriptor) => Descriptor = descriptor;

    /// <summary>The kind's descriptor type.</summary>
    public Type Descriptor { get; }
}

/// <summary>The registered kinds, by stored code and by network type. Persistence asks here and never names a kind.</summary>
internal static class NetworkCodecs
{
    private static readonly Lazy<INetworkCodec[]> s_all = new(() => typeof(NetworkCodecs).Assembly
        .GetCustomAttributes<NetworkKindAttribute>()
        .Select(a => (INetworkCodec)Activator.CreateInstance(a.Descriptor)!)
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
