using System;
using System.Collections.Generic;
using System.Linq;
using Microsoft.ML.Fff.Onnx;
using Microsoft.ML.Fff.Persistence;
using Microsoft.ML.Fff.Scoring;

namespace Microsoft.ML.Fff.Kinds;

/// <summary>A soft (all-paths) scorer for diagnostics: one instance per use, with its own scratch.</summary>
internal interface ISoftScorer
{
    /// <summary>The soft function of one dense row into <c>output[0..OutputCount)</c>.</summary>
    void ScoreSoft(ReadOnlySpan<float> features, Span<float> output);
}

/// <summary>
/// One network kind as a plug-in: its stored code and payload codec (<see cref="INetworkCodec"/>), the public trainer
/// family it belongs to, its shape as the model parameters report it, its soft scorer and its ONNX graph. Shared code asks these
/// descriptors (<see cref="NetworkKinds"/>) and never switches on kinds. A kind registers itself with one line,
/// <c>[assembly: NetworkPlugin(typeof(TheKind))]</c>, next to its descriptor.
/// </summary>
/// <param name="kind">The stored code.</param>
/// <param name="networkType">The network class of the kind.</param>
/// <param name="family">The public trainer family.</param>
internal abstract class NetworkKindDescriptor(NetworkKind kind, Type networkType, FffArchitecture family) : INetworkCodec
{
    /// <summary>The stored code.</summary>
    public NetworkKind Kind { get; } = kind;

    int INetworkCodec.Code => (int)Kind;

    /// <inheritdoc/>
    public Type NetworkType { get; } = networkType;

    /// <summary>The public trainer family (<see cref="FffModelParametersBase{TOutput}.Architecture"/>).</summary>
    public FffArchitecture Family { get; } = family;

    /// <summary>The public trainer family of <paramref name="network"/>: <see cref="Family"/>, unless the kind wraps a network of another kind.</summary>
    public virtual FffArchitecture FamilyOf(FeedForwardNetwork network) => Family;

    /// <inheritdoc/>
    public abstract FeedForwardNetwork ReadPayload(PayloadReader payload, uint formatVersion);

    /// <summary>Depth of the node tree, or 0 for kinds without one.</summary>
    public virtual int Depth(FeedForwardNetwork network) => 0;

    /// <summary>Neurons per leaf, or 0 for kinds without leaves.</summary>
    public virtual int LeafWidth(FeedForwardNetwork network) => 0;

    /// <summary>
    /// A scorer of the function the kind trained softly, or null when the kind trains exactly what it scores (its
    /// soft/hard gap is then 0).
    /// </summary>
    public virtual ISoftScorer? CreateSoftScorer(FeedForwardNetwork network) => null;

    /// <summary>
    /// Writes <paramref name="network"/>'s raw outputs (<c>[N, OutputCount]</c>) from <paramref name="features"/>
    /// (<c>[N, InputCount]</c>) into an ONNX export with standard operators, computing what the kind's C# scorer computes;
    /// returns the output variable (docs/onnx.md). Every kind exports, so this is abstract.
    /// </summary>
    public abstract string WriteOnnx(OnnxGraph graph, FeedForwardNetwork network, string features);
}

/// <summary>The registry of network kinds: every registered <see cref="NetworkKindDescriptor"/> of the library.</summary>
internal static class NetworkKinds
{
    /// <summary>Every registered kind, in code order.</summary>
    public static IEnumerable<NetworkKindDescriptor> All => NetworkCodecs.All.Cast<NetworkKindDescriptor>();

    /// <summary>The descriptor of <paramref name="network"/>'s kind.</summary>
    public static NetworkKindDescriptor Of(FeedForwardNetwork network) => (NetworkKindDescriptor)NetworkCodecs.For(network);
}
