using System;
using Microsoft.ML.Fff.FastFeedForward;
using Microsoft.ML.Fff.Kinds;
using Microsoft.ML.Fff.Persistence;
using Microsoft.ML.Fff.Scoring;

[assembly: NetworkKind(typeof(NeuronTreeKind))]

namespace Microsoft.ML.Fff.FastFeedForward;

/// <summary>The fast feedforward network with neuron nodes (kind 3): trains exactly the function it scores.</summary>
internal sealed class NeuronTreeKind : NetworkKindDescriptor
{
    public override NetworkKind Kind => NetworkKind.NeuronTree;

    public override Type NetworkType => typeof(NeuronTreeNetwork);

    public override FffArchitecture Family => FffArchitecture.FastFeedForward;

    public override FeedForwardNetwork ReadPayload(PayloadReader payload, uint formatVersion) => NeuronTreeNetwork.LoadPayload(payload);

    public override int Depth(FeedForwardNetwork network) => ((NeuronTreeNetwork)network).Depth;
}
